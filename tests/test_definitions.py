"""Form definitions: a broken one is rejected with file, path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from forms_server.definitions import load_dir, parse_form
from qms_site.doccontrol import Problem
from tests.forms_kit import raw_checklist
from tests.sitekit import ROOT

PATH = "data/forms/QR-10-99.yml"


def problems_after(change) -> list[Problem]:
    raw = raw_checklist()
    change(raw)
    form, problems = parse_form(PATH, raw)
    assert form is None
    return problems


def item(raw, section, index):
    return raw["sections"][section]["items"][index]


BROKEN = [
    pytest.param(
        lambda r: r.pop("procedure"), "procedure", "应填写所属程序文件编号", id="no-procedure"
    ),
    pytest.param(lambda r: r.update(fields=[]), "fields", "至少应有一个表头字段", id="no-fields"),
    pytest.param(
        lambda r: r["fields"][0].update(type="dropdown"),
        "fields[1].type",
        "字段类型“dropdown”无效",
        id="unknown-field-type",
    ),
    pytest.param(
        lambda r: r["fields"][4].pop("options"),
        "fields[5].options",
        "选项应为非空的文字列表",
        id="choice-without-options",
    ),
    pytest.param(
        lambda r: r["fields"][1].update(key="Date"),
        "fields[2].key",
        "key 'Date' 无效",
        id="bad-key",
    ),
    pytest.param(
        lambda r: r["fields"][2].update(key="project"),
        "fields[3].key",
        "key“project”重复",
        id="duplicate-field-key",
    ),
    pytest.param(
        lambda r: r["fields"][6].update(min=10, max=5),
        "fields[7].max",
        "最大值 5 小于最小值 10",
        id="min-above-max",
    ),
    pytest.param(
        lambda r: r["fields"][0].update(colour="red"),
        "fields[1].colour",
        "未知属性“colour”",
        id="unknown-field-attribute",
    ),
    pytest.param(
        lambda r: item(r, 0, 0).update(mode="stars"),
        "sections[1].items[1].mode",
        "评分方式“stars”无效",
        id="unknown-mode",
    ),
    pytest.param(
        lambda r: item(r, 0, 0).update(points=0),
        "sections[1].items[1].points",
        "points 应大于 0",
        id="zero-points",
    ),
    pytest.param(
        lambda r: item(r, 0, 2).update(per=5),
        "sections[1].items[3].per",
        "每处扣分 5 大于本项分值 3",
        id="per-above-points",
    ),
    pytest.param(
        lambda r: item(r, 0, 3).update(deduction=4),
        "sections[1].items[4].deduction",
        "固定扣分 4 大于本项分值 3",
        id="deduction-above-points",
    ),
    pytest.param(
        lambda r: item(r, 0, 1)["tiers"].pop(0),
        "sections[1].items[2].tiers",
        "最高档得分应等于本项分值 4",
        id="tiers-without-full-marks",
    ),
    pytest.param(
        lambda r: item(r, 1, 0).update(critical={"effect": "veto"}),
        "sections[2].items[1].critical",
        "否决项应写成",
        id="bad-critical",
    ),
    pytest.param(
        lambda r: item(r, 1, 0).update(key="a1"),
        "sections[2].items[1].key",
        "key“a1”重复",
        id="duplicate-item-key",
    ),
    pytest.param(
        lambda r: r["scoring"].update(total=100),
        "scoring.total",
        "各项目分值合计 20，与总分 100 不一致",
        id="total-mismatch",
    ),
    pytest.param(
        lambda r: r["scoring"].update(na="ignore"),
        "scoring.na",
        "不适用项计分规则应为 exclude 或 full",
        id="bad-na-rule",
    ),
    pytest.param(
        lambda r: r["scoring"]["bands"].reverse(),
        "scoring.bands",
        "等级应按最低分从高到低排列",
        id="bands-out-of-order",
    ),
    pytest.param(
        lambda r: r["scoring"]["bands"].pop(),
        "scoring.bands",
        "最低一档的 min 应为 0",
        id="bands-leave-a-gap",
    ),
    pytest.param(
        lambda r: r["scoring"]["adjustments"][0].update(points=0),
        "scoring.adjustments[1].points",
        "加减分不能为 0",
        id="zero-adjustment",
    ),
    pytest.param(
        lambda r: r.pop("scoring"),
        "scoring",
        "有计分项目的检查表必须填写 scoring",
        id="checklist-without-scoring",
    ),
    pytest.param(
        lambda r: r.update(workflow="approval"),
        "workflow",
        "未知流程“approval”",
        id="unknown-workflow",
    ),
    pytest.param(
        lambda r: r.update(version="1.0"),
        "version",
        "版本号“1.0”格式不正确",
        id="doc-control-checked-too",
    ),
]


@pytest.mark.parametrize(("change", "where", "message"), BROKEN)
def test_broken_definition_names_path_and_reason(change, where, message):
    problems = problems_after(change)
    assert any(p.path == PATH and p.field == where and message in p.message for p in problems), (
        problems
    )


def test_mixing_check_and_scored_items_is_refused():
    def change(raw):
        raw["sections"][0]["items"].append({"key": "c1", "text": "是否有计划", "mode": "check"})

    assert Problem(
        PATH, "sections", "同一张表中计分项目与不计分（check）项目不能混用"
    ) in problems_after(change)


def test_every_problem_is_reported():
    def change(raw):
        raw["fields"][0]["type"] = "dropdown"
        raw["scoring"]["na"] = "ignore"
        raw["sections"][0]["items"][0]["mode"] = "stars"

    wheres = {p.field for p in problems_after(change)}
    assert {"fields[1].type", "scoring.na", "sections[1].items[1].mode"} <= wheres


def test_load_dir_names_the_file(tmp_path):
    forms = tmp_path / "data" / "forms"
    forms.mkdir(parents=True)
    (forms / "QR-10-98.yml").write_text("code: [unclosed\n", encoding="utf-8")
    (forms / "QR-10-97.yml").write_text("code: QR-10-96\n", encoding="utf-8")
    loaded = load_dir(forms, tmp_path)
    paths = {p.path for p in loaded.problems}
    assert paths == {"data/forms/QR-10-98.yml", "data/forms/QR-10-97.yml"}
    assert any(p.field == "YAML" and p.path.endswith("QR-10-98.yml") for p in loaded.problems)


def test_real_definitions_are_valid():
    loaded = load_dir(ROOT / "data" / "forms", ROOT)
    assert loaded.problems == []
    assert len(loaded.forms) == len(list(Path(ROOT / "data" / "forms").glob("*.yml")))
