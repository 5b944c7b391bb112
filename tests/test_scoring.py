"""Scoring engine: every mode, with expected scores computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from forms_server.scoring import ItemAnswer, score
from forms_server.validation import validate
from tests.forms_kit import PROJECTS, checklist, perfect_items

FORM = checklist()


def run(items: dict | None = None, adjustments=None, downgrade=None, form=FORM):
    answers = perfect_items()
    answers.update(items or {})
    data = {
        "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东"},
        "items": answers,
        "adjustments": adjustments or {},
        "downgrade": downgrade or {},
    }
    clean, errors = validate(form, data, PROJECTS)
    assert errors == {}
    return score(form, clean.items, clean.adjustments, clean.downgrade)


def test_perfect_inspection():
    result = run()
    assert result.score == Decimal("20.00")
    assert result.grade == "优秀"
    assert result.nonconformities == []
    assert [(s.title, s.earned, s.applicable) for s in result.sections] == [
        ("环境", Decimal(16), Decimal(16)),
        ("岗位", Decimal(4), Decimal(4)),
    ]


def test_every_mode_deducts_as_defined():
    # a1 pass_fail 不合格: 0 of 4; a2 tiered 基本符合: 2 of 4; a3 deduct 3 × 0.2: 2.4 of 3;
    # a4 fixed 不合格: 3 − 2 = 1 of 3; a5, b1, b2 full: 2 + 2 + 2.
    result = run(
        {
            "a1": {"result": "不合格"},
            "a2": {"result": "基本符合"},
            "a3": {"count": 3},
            "a4": {"result": "不合格"},
        }
    )
    assert [i.score for i in result.items] == [
        Decimal(0), Decimal(2), Decimal("2.4"), Decimal(1), Decimal(2), Decimal(2), Decimal(2)
    ]  # fmt: skip
    assert result.score == Decimal("11.40")  # 0 + 2 + 2.4 + 1 + 6
    assert result.grade == "不合格"  # below 12
    assert [(i.key, i.severity) for i in result.nonconformities] == [
        ("a1", "一般"), ("a2", "一般"), ("a3", "一般"), ("a4", "一般")
    ]  # fmt: skip


def test_deduction_stops_at_zero():
    result = run({"a3": {"count": 20}})  # 20 × 0.2 = 4 > 3
    assert result.items[2].score == Decimal(0)
    assert result.score == Decimal("17.00")
    assert result.grade == "良好"


def test_inspector_marks_serious_nonconformity():
    result = run({"a1": {"result": "不合格", "severity": "严重"}})
    assert [(i.key, i.severity) for i in result.nonconformities] == [("a1", "严重")]
    assert result.count("严重") == 1 and result.count("一般") == 0


def test_not_applicable_excluded_from_denominator():
    # a1 fails (0 of 4), a5 N/A: 14 earned of 18 applicable → 14 / 18 × 20 = 15.555… → 15.56
    result = run({"a1": {"result": "不合格"}, "a5": {"result": "不适用"}})
    assert result.applicable == Decimal(18)
    assert result.score == Decimal("15.56")
    assert result.grade == "合格"
    assert result.items[4].na and result.items[4].score is None


def test_not_applicable_counted_as_full_marks():
    form = checklist(scoring={**_raw_scoring(), "na": "full"})
    result = run({"a1": {"result": "不合格"}, "a5": {"result": "不适用"}}, form=form)
    assert result.score == Decimal("16.00")  # 14 + 2
    assert result.grade == "良好"


def test_critical_item_deducts_heavily():
    result = run({"b1": {"result": "不合格"}})  # 18 − 10
    assert result.critical_deduction == Decimal(10)
    assert result.score == Decimal("8.00")
    assert result.grade == "不合格"
    assert [(i.key, i.severity) for i in result.nonconformities] == [("b1", "严重")]


def test_critical_item_fails_the_whole_inspection():
    result = run({"b2": {"result": "不合格"}}, adjustments={"praise": 2})
    assert result.failed
    assert result.score == Decimal("0.00")
    assert result.grade == "不合格"


def test_bonus_is_capped_at_full_marks():
    assert run(adjustments={"praise": 2}).score == Decimal("20.00")
    lifted = run({"a1": {"result": "不合格"}}, adjustments={"praise": 2})
    assert (lifted.adjustment, lifted.score, lifted.grade) == (Decimal(2), Decimal("18.00"), "优秀")


def test_penalty_and_floor_at_zero():
    assert run(adjustments={"late": 1}).score == Decimal("18.00")
    everything_wrong = {k: {"result": "不合格"} for k in ("a1", "a4", "b1")} | {
        "a2": {"result": "不符合"},
        "a3": {"count": 15},
    }
    result = run(everything_wrong, adjustments={"late": 1})
    assert result.score == Decimal("0.00")  # 1 + 2 + 2 + 2 − 10 − 2 < 0


def test_downgrade_moves_one_band():
    result = run(downgrade={"incident": True})
    assert (result.score, result.grade, result.downgraded) == (Decimal("20.00"), "良好", True)
    bottom = run({"b1": {"result": "不合格"}}, downgrade={"incident": True})
    assert (bottom.grade, bottom.downgraded) == ("不合格", False)


@pytest.mark.parametrize(
    ("count", "expected", "grade"),
    [
        pytest.param(10, "18.00", "优秀", id="exactly-18-is-excellent"),  # 3 − 2 = 1 → 18
        pytest.param(11, "17.80", "良好", id="just-below-18"),
    ],
)
def test_band_boundaries(count, expected, grade):
    result = run({"a3": {"count": count}})
    assert (str(result.score), result.grade) == (expected, grade)


def test_check_items_are_not_scored():
    raw_items = [
        {"key": "c1", "text": "是否制定年度内审计划", "mode": "check"},
        {"key": "c2", "text": "内审员是否经过培训", "mode": "check"},
    ]
    form = checklist(
        sections=[{"key": "audit", "title": "内部审核", "items": raw_items}], scoring=None
    )
    result = score(form, {"c1": ItemAnswer(result="符合"), "c2": ItemAnswer(result="不符合")})
    assert result.score is None and result.grade is None
    assert [(i.key, i.severity) for i in result.nonconformities] == [("c2", "一般")]


def test_result_as_json():
    data = run({"a3": {"count": 3, "note": "3 号楼垃圾桶满溢", "location": "3 号楼"}}).to_dict()
    assert data["score"] == 19.4
    assert data["grade"] == "优秀"
    assert data["general"] == 1 and data["serious"] == 0
    assert data["nonconformities"] == [
        {
            "item": "a3",
            "section": "环境",
            "text": "垃圾桶无满溢",
            "severity": "一般",
            "score": 2.4,
            "points": 3,
            "note": "3 号楼垃圾桶满溢",
            "location": "3 号楼",
            "photos": [],
        }
    ]


def _raw_scoring() -> dict:
    from tests.forms_kit import raw_checklist

    return raw_checklist()["scoring"]
