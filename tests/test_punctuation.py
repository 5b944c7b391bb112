"""Chinese punctuation: converted in prose and YAML text, never in syntax."""

from __future__ import annotations

import pytest
import yaml

from qms_site.punctuation import fix_markdown, fix_text, fix_yaml
from tests.sitekit import ROOT

C, S, K, Q, E, L, R = "\uff0c", "\uff1b", "\uff1a", "\uff1f", "\uff01", "\uff08", "\uff09"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "进行控制,确保版本有效;由品质管理部归口:每年评审。",
            f"进行控制{C}确保版本有效{S}由品质管理部归口{K}每年评审。",
        ),
        ("《文件发放/回收登记表》(QR-01-02)登记", f"《文件发放/回收登记表》{L}QR-01-02{R}登记"),
        ("安保(秩序维护)服务", f"安保{L}秩序维护{R}服务"),
        ("时间 08:30 至 17:30,共 1,000 户", f"时间 08:30 至 17:30{C}共 1,000 户"),
        ("ISO 9001 (GB/T 19001)", "ISO 9001 (GB/T 19001)"),
        ("真的吗?是的!", f"真的吗{Q}是的{E}"),
    ],
)
def test_fix_text(before, after):
    assert fix_text(before) == after


def test_markdown_syntax_is_left_alone():
    source = (
        "---\ntitle: 安保(秩序维护)标准\nrevisions:\n  - {version: A/0, date: 2026-02-20, summary: 首次发布, approved_by: 王建国}\n---\n\n"
        '见 {{ ref("QP-01") }},以及[受控文件清单](register.md)和 `a,b`:完毕。\n'
        "```mermaid\nflowchart TD\n  A[受理,登记] --> B(派工)\n```\n"
        '<a href="/forms/x" title="填写,提交">在线填写</a>,返回。\n'
    )
    fixed = fix_markdown(source)
    assert f"title: 安保{L}秩序维护{R}标准" in fixed
    assert "{version: A/0, date: 2026-02-20, summary: 首次发布, approved_by: 王建国}" in fixed
    assert f'见 {{{{ ref("QP-01") }}}}{C}以及[受控文件清单](register.md)和 `a,b`{K}完毕。' in fixed
    assert "A[受理,登记] --> B(派工)" in fixed
    assert f'<a href="/forms/x" title="填写,提交">在线填写</a>{C}返回。' in fixed
    front = fixed.split("---")[1]
    assert yaml.safe_load(front)["revisions"][0]["summary"] == "首次发布"


def test_yaml_flow_separators_stay_ascii():
    source = 'options: [新编, 修订, 作废]\nfields:\n  - {key: a, label: 申请类别, type: choice, help: "新编文件不填,修订填原版本"}\n'
    fixed = fix_yaml(source)
    assert yaml.safe_load(fixed) == {
        "options": ["新编", "修订", "作废"],
        "fields": [
            {
                "key": "a",
                "label": "申请类别",
                "type": "choice",
                "help": f"新编文件不填{C}修订填原版本",
            }
        ],
    }


def test_controlled_documents_use_chinese_punctuation():
    """The manual and the form definitions are already normalised (run the tool with --fix)."""
    from qms_site.punctuation import files, fix_file

    stale = [
        str(p.relative_to(ROOT))
        for p in files([ROOT / "docs", ROOT / "data" / "forms"])
        if fix_file(p) != p.read_text(encoding="utf-8")
    ]
    assert stale == []
