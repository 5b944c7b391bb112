"""What readers get from a real build: the real manual, presentation, search, intranet-readiness."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest

from tests.forms_kit import CHECKLIST_YAML
from tests.sitekit import ROOT, Build, Project

pytestmark = pytest.mark.slow

SEPARATOR = re.compile(r'[\s\u200b\-_,:!=\[\]()"`/]+')


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Build:
    """A small project exercising every status."""
    project = Project(tmp_path_factory.mktemp("sample") / "project")
    checklist = CHECKLIST_YAML.replace("QR-10-99", "QR-01-02").replace(
        "procedure: QP-10", "procedure: QP-01"
    )
    project.write("data/forms/QR-01-02.yml", checklist)
    project.add(
        "QP-01",
        references=["QM-01"],
        records=["QR-01-01", "QR-01-02"],
        body=(
            "## 1 目的\n\n业主投诉处理程序规定了内部审核要求。\n\n"
            "## 4 工作程序\n\n### 4.1 受理\n\n```mermaid\nflowchart TD\n  A[受理] --> B[派工]\n```\n"
        ),
    )
    project.add("QP-02", status="草稿", approved_by=None, reviewed_by=None)
    project.add("QP-03", status="审核中", approved_by=None)
    project.add(
        "QP-04",
        status="作废",
        withdrawn_on="2026-06-01",
        withdrawn_reason="并入 QP-01",
        superseded_by="QP-01",
        title="旧投诉程序",
    )
    project.add("QP-05", effective="2099-01-01", review_due="2100-01-01", title="将来生效的程序")
    build = project.build()
    assert build.ok, build.output
    return build


def test_real_manual_builds_strictly(real_site):
    assert real_site.ok, real_site.output
    assert "文件控制检查未通过" not in real_site.output
    assert (real_site.site / "register" / "index.html").is_file()


# What every reader sees -------------------------------------------------------


def test_header_block_shows_document_control(sample):
    html = sample.page("procedures/qp-01.md")
    header = html[html.index('class="qms-doc-header') : html.index("</dl>")]
    for label, value in [
        ("文件编号", "QP-01"),
        ("版本", "A/0"),
        ("状态", "受控"),
        ("归口部门", "品质管理部"),
        ("生效日期", "2026-03-01"),
        ("下次评审", "2099-03-01"),
    ]:
        assert f"<dt>{label}</dt>\n<dd>{value}</dd>" in header
    assert '<h1 id="qp-01-测试文件qp-01">QP-01 测试文件QP-01' in html


@pytest.mark.parametrize(
    ("src", "banner"),
    [
        pytest.param(
            "procedures/qp-02.md", "本文件为草稿，尚未审核批准，不得作为工作依据。", id="draft"
        ),
        pytest.param(
            "procedures/qp-03.md",
            "本文件正在审核，尚未批准生效，不得作为工作依据。",
            id="in-review",
        ),
        pytest.param("procedures/qp-05.md", "本版本已批准，将于 2099-01-01 起生效", id="pending"),
        pytest.param(
            "procedures/qp-04.md", "本文件已于 2026-06-01 作废：并入 QP-01。", id="obsolete"
        ),
    ],
)
def test_status_banner(sample, src, banner):
    assert banner in sample.page(src)


def test_effective_page_has_no_banner_or_watermark(sample):
    html = sample.page("procedures/qp-01.md")
    assert "admonition" not in html
    assert "qms-watermark" not in html


def test_pending_document_shows_pending_status(sample):
    html = sample.page("procedures/qp-05.md")
    assert "<dt>状态</dt>\n<dd>待生效</dd>" in html


def test_obsolete_page_has_watermark_and_leaves_the_navigation(sample):
    obsolete = sample.page("procedures/qp-04.md")
    assert '<div class="qms-watermark" aria-hidden="true">作废</div>' in obsolete
    assert '<a href="../qp-01/">QP-01 测试文件QP-01</a>' in obsolete  # superseded by
    nav = _nav_links(sample.page("procedures/qp-01.md"))
    assert "../qp-02/" in nav  # drafts stay in the nav, clearly bannered
    assert all("qp-04" not in href for href in nav)


def test_revision_table_closes_each_page(sample):
    html = sample.page("procedures/qp-01.md")
    section = html[html.index('id="修订记录"') :]
    assert "<th>版本</th>" in section
    assert "<td>A/0</td>\n<td>2026-02-20</td>\n<td>首次发布</td>" in section


def test_register_groups_by_type_and_archives_obsolete(sample):
    html = sample.page("register.md")
    headings = re.findall(r"<h2 id=\"([^\"]+)\"", html)
    assert headings == ["质量手册", "程序文件", "作业指导书", "记录表格", "作废文件"]
    procedures = html[html.index('id="程序文件"') : html.index('id="作业指导书"')]
    assert procedures.count("<tr>") == 1 + 4  # header + QP-01,02,03,05
    assert "<td>待生效</td>" in procedures
    archive = html[html.index('id="作废文件"') :]
    assert "<td>QP-04</td>" in archive
    assert "<td>2026-06-01</td>\n<td>并入 QP-01</td>\n<td>QP-01</td>" in archive
    records = html[html.index('id="记录表格"') : html.index('id="作废文件"')]
    assert '<a href="../records/qr-01-01/">测试文件QR-01-01</a>' in records
    assert (
        '<td>QR-01-02</td>\n<td><a href="../records/qr-01-02/">测试检查表</a></td>\n<td>A/0</td>'
        in records
    )


def test_record_page_is_a_printable_blank_form_with_online_link(sample):
    html = sample.page("records/qr-01-02.md")
    assert '<a class="md-button md-button--primary" href="/forms/QR-01-02/new">在线填写</a>' in html
    assert '<p class="qms-blank-title">测试检查表</p>' in html
    assert (
        '<th>检查日期<span class="qms-req">*</span></th><td class="qms-blank">______年____月____日</td>'
        in html
    )
    assert "<td>□ 白班  □ 夜班</td>" not in html  # choices sit in a blank cell
    assert '<td class="qms-blank">□ 白班  □ 夜班</td>' in html
    assert (
        "<tr><td>1.3</td><td>垃圾桶无满溢</td><td></td><td>3</td><td>每处扣 0.2 分，扣完为止</td>"
        in html
    )
    assert "<td>符合 4 / 基本符合 2 / 不符合 0</td>" in html
    assert "<td>合格 2 / 不合格 0；可不适用</td>" in html
    assert '<span class="qms-critical">否决项：一票否决，总分计 0 分</span>' in html
    assert (
        "评定等级\uff1a优秀\uff1a18 分及以上\uff1b良好\uff1a16 分及以上\uff1b合格\uff1a12 分及以上\uff1b不合格\uff1a低于 12 分。"
        in html
    )
    assert "□ 业主书面表扬：每次加 1 分，最多 2 次，共 ____ 次。" in html
    assert "□ 发生严重安全事故：评定等级降一档。" in html
    assert '<td colspan="2">合计</td><td>20</td>' in html
    # The record page carries the same document control as any controlled page.
    assert "<dt>版本</dt>\n<dd>A/0</dd>" in html
    assert 'id="修订记录"' in html


def test_chinese_heading_anchors_are_readable(sample):
    html = sample.page("procedures/qp-01.md")
    assert 'id="1-目的"' in html
    assert 'id="41-受理"' in html
    assert not re.search(r'id="_\d+"', html)


def test_print_header_names_code_version_and_notice(sample):
    html = sample.page("procedures/qp-01.md")
    assert '@top-left{content:"QP-01 测试文件QP-01  版本 A/0"' in html
    assert '@top-right{content:"受控文件·打印件为非受控副本，以网站为准"' in html
    css = (ROOT / "docs/assets/stylesheets/qms.css").read_text(encoding="utf-8")
    assert "counter(page)" in css and "@media print" in css


def test_mermaid_is_rendered_from_a_self_hosted_script(sample):
    html = sample.page("procedures/qp-01.md")
    assert '<pre class="mermaid"><code>flowchart TD' in html
    assert '<script src="../../assets/javascripts/vendor/mermaid.min.js"></script>' in html
    assert (sample.site / "assets/javascripts/vendor/mermaid.min.js").stat().st_size > 1_000_000


def test_pages_without_a_diagram_do_not_load_mermaid(sample):
    html = sample.page("procedures/qp-05.md")
    assert "QP-05 将来生效的程序" in html and 'class="mermaid"' not in html
    assert "mermaid.min.js" not in html


# Search -----------------------------------------------------------------------


def test_search_index_contains_segmented_chinese(sample):
    index = json.loads((sample.site / "search" / "search_index.json").read_text(encoding="utf-8"))
    entry = next(
        d
        for d in index["docs"]
        if "业主" in d["text"] and "审核要求" in d["text"].replace("\u200b", "")
    )
    tokens = set(SEPARATOR.split(entry["text"]))
    # Found inside the longer phrases 业主投诉处理程序 and 内部审核要求.
    assert {"投诉", "审核", "业主", "程序"} <= tokens
    assert "\\u200b" in index["config"]["separator"]  # the browser splits queries the same way


# Intranet-ready -----------------------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if (
                value
                and name in ("src", "href")
                and tag in ("script", "link", "img", "iframe", "source", "audio", "video")
            ):
                self.refs.append((tag, value))


def _external(url: str) -> bool:
    parsed = urlparse(url)
    return bool(parsed.scheme in ("http", "https") or url.startswith("//"))


def test_built_site_references_no_external_host(real_site):
    offenders = []
    for page in real_site.site.rglob("*.html"):
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        offenders += [(str(page), tag, url) for tag, url in parser.refs if _external(url)]
    for css in real_site.site.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if _external(url):
                offenders.append((str(css), "url()", url))
        for url in re.findall(r"@import\s+['\"]([^'\"]+)", css.read_text(encoding="utf-8")):
            if _external(url):
                offenders.append((str(css), "@import", url))
    assert offenders == []


def test_external_reference_detector_catches_fonts_and_cdns():
    parser = _Refs()
    parser.feed(
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
        '<script src="//unpkg.com/mermaid@11/dist/mermaid.min.js"></script>'
        '<script src="assets/local.js"></script>'
    )
    assert [url for _, url in parser.refs if _external(url)] == [
        "https://fonts.googleapis.com/css?family=Roboto",
        "//unpkg.com/mermaid@11/dist/mermaid.min.js",
    ]


def _nav_links(html: str) -> list[str]:
    """Links of the primary (site) navigation, which ends where the page's TOC begins."""
    start = html.index('<nav class="md-nav md-nav--primary"')
    end = html.index('<div class="md-sidebar md-sidebar--secondary"', start)
    return re.findall(r'href="([^"]+)"', html[start:end])
