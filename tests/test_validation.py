"""Submission validation: every problem collected with its path and a Chinese message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from forms_server.definitions import parse_form
from forms_server.validation import is_phone, not_in_future, validate
from tests.forms_kit import PROJECTS, checklist, perfect_items, raw_checklist

FORM = checklist()


def submit(fields=None, items=None, **extra):
    data = {
        "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东", **(fields or {})},
        "items": {**perfect_items(), **(items or {})},
        **extra,
    }
    return validate(FORM, data, PROJECTS)


def test_valid_submission_is_cleaned():
    clean, errors = submit(
        {
            "phone": "138 0013 8000",
            "shift": "夜班",
            "areas": ["车库", "大堂"],
            "people": "3",
            "rain": "是",
            "remark": "  正常  ",
        }
    )
    assert errors == {}
    assert clean.fields == {
        "project": "CH",
        "date": "2026-11-21",
        "inspector": "陈晓东",
        "phone": "13800138000",
        "shift": "夜班",
        "areas": ["大堂", "车库"],
        "people": 3,
        "rain": True,
        "remark": "正常",
    }


def test_several_bad_fields_give_one_message_each():
    _, errors = submit(
        {
            "project": "XX",
            "date": "2026-02-30",
            "phone": "12345",
            "people": "3.5",
            "shift": "中班",
            "inspector": "",
        },
        items={"a3": {"count": -1}},
    )
    assert errors == {
        "fields.project": "管理处：请选择管理处",
        "fields.date": "检查日期：“2026-02-30”不是有效日期",
        "fields.phone": "联系电话：号码格式不正确：手机为 11 位（1 开头），固话需带区号，如 0755-83001234",
        "fields.people": "在岗人数：应为整数",
        "fields.shift": "班次：应为 白班、夜班 之一",
        "fields.inspector": "检查人：必须填写",
        "items.a3.count": "垃圾桶无满溢：处数应为 0–999 的整数",
    }


@pytest.mark.parametrize(
    "number",
    [
        "13800138000",
        "19912345678",
        "0755-83001234",
        "075583001234",
        "010-62345678",
        "021-55556666-801",
        "400-820-8820",
        "8008208820",
    ],
)
def test_mainland_phone_formats_accepted(number):
    assert is_phone(number)


@pytest.mark.parametrize(
    "number",
    [
        "12800138000",
        "1380013800",
        "138001380001",
        "83001234",
        "0755-0300123",
        "+8613800138000x",
        "abc",
    ],
)
def test_bad_phone_numbers_rejected(number):
    assert not is_phone(number)


def test_every_item_must_be_rated():
    items = perfect_items()
    del items["a2"]
    _, errors = validate(
        FORM,
        {"fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈"}, "items": items},
        PROJECTS,
    )
    assert errors == {"items.a2": "电梯轿厢整洁：请评定此项"}


@pytest.mark.parametrize(
    ("answer", "path", "message"),
    [
        pytest.param(
            {"a2": {"result": "很好"}},
            "items.a2.result",
            "电梯轿厢整洁：评定应为 符合、基本符合、不符合 之一",
            id="unknown-tier",
        ),
        pytest.param(
            {"a1": {"result": "不适用"}},
            "items.a1.result",
            "大堂地面干净：评定应为 合格、不合格 之一",
            id="na-not-allowed",
        ),
        pytest.param(
            {"a3": {"result": "合格"}},
            "items.a3.result",
            "垃圾桶无满溢：扣分项目请填写发现的处数",
            id="deduct-needs-count",
        ),
        pytest.param(
            {"a1": {"result": "合格", "severity": "严重"}},
            "items.a1.severity",
            "大堂地面干净：符合要求的项目不能标记不合格等级",
            id="severity-on-pass",
        ),
        pytest.param(
            {"b1": {"result": "不合格", "severity": "一般"}},
            "items.b1.severity",
            "无睡岗：否决项不合格即为严重不合格",
            id="critical-is-serious",
        ),
        pytest.param(
            {"a1": {"result": "不合格", "severity": "很严重"}},
            "items.a1.severity",
            "大堂地面干净：不合格等级应为 一般 或 严重",
            id="unknown-severity",
        ),
        pytest.param(
            {"a1": {"result": "合格", "photos": ["../../etc/passwd"]}},
            "items.a1.photos",
            "大堂地面干净：照片应为已上传附件的编号",
            id="photo-path",
        ),
        pytest.param(
            {"zz": {"result": "合格"}},
            "items.zz",
            "检查表 QR-10-99 中没有项目“zz”",
            id="unknown-item",
        ),
    ],
)
def test_item_errors(answer, path, message):
    _, errors = submit(items=answer)
    assert errors == {path: message}


def test_all_items_not_applicable_is_refused():
    form = checklist(
        sections=[
            {
                "key": "s",
                "title": "泳池",
                "items": [
                    {"key": "p1", "text": "水质", "mode": "pass_fail", "points": 20, "na": True}
                ],
            }
        ]
    )
    _, errors = validate(
        form,
        {
            "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈"},
            "items": {"p1": "不适用"},
        },
        PROJECTS,
    )
    assert errors == {"items": "所有项目都是“不适用”，至少应有一个适用的项目"}


def test_unknown_fields_and_sections_are_reported_not_dropped():
    _, errors = submit({"colour": "红"}, extra_key=1)
    assert errors == {
        "fields.colour": "表单 QR-10-99 中没有字段“colour”",
        "extra_key": "未知内容“extra_key”，应为 fields、items、adjustments、downgrade 之一",
    }


def test_adjustment_limits():
    _, errors = submit(adjustments={"praise": 3, "bogus": 1}, downgrade={"incident": "maybe"})
    assert errors == {
        "adjustments.praise": "业主书面表扬：次数应为 0–2 的整数",
        "adjustments.bogus": "没有加减分项“bogus”",
        "downgrade.incident": "发生严重安全事故：应为“是”或“否”",
    }


def test_text_limits_and_control_characters():
    _, errors = submit({"remark": "字" * 51, "inspector": "陈\x00晓东"})
    assert errors == {
        "fields.remark": "备注：最多 50 个字，当前 51 个",
        "fields.inspector": "检查人：包含无法识别的控制字符",
    }


def test_line_breaks_of_every_style_are_one_style_and_one_line_fields_refuse_them():
    clean, errors = submit(
        {"remark": "第一行\r\n第二行\r第三行\n第四行"},
        items={"a1": {"result": "合格", "note": "甲\r乙"}},
    )
    assert errors == {}
    assert clean.fields["remark"] == "第一行\n第二行\n第三行\n第四行"
    assert clean.items["a1"].note == "甲\n乙"
    _, errors = submit({"inspector": "陈\r晓东"})
    assert errors == {"fields.inspector": "检查人：应为一行文字"}


@pytest.mark.parametrize(
    "payload", [None, [], "x", 3, {"fields": []}, {"fields": {"date": {"a": 1}}}, {"items": [1, 2]}]
)
def test_malformed_payloads_give_errors_not_exceptions(payload):
    _, errors = validate(FORM, payload, PROJECTS)
    assert errors


def _form_with(*extra_fields: dict):
    """The test checklist with the head count unbounded and extra header fields."""
    raw = raw_checklist()["fields"]
    next(f for f in raw if f["key"] == "people").pop("max")
    return checklist(fields=[*raw, *extra_fields])


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        pytest.param(
            {"people": "1e400"}, "fields.people", "在岗人数：数值超出范围", id="float-inf"
        ),
        pytest.param(
            {"people": "1E+999999999"},
            "fields.people",
            "在岗人数：数值超出范围",
            id="decimal-overflow",
        ),
        pytest.param(
            {"people": 10**15}, "fields.people", "在岗人数：数值超出范围", id="beyond-exact"
        ),
        pytest.param(
            {"people": 10**5000}, "fields.people", "在岗人数：应为数字", id="past-int-limit"
        ),
        pytest.param(
            {"inspector": "陈\ud800"},
            "fields.inspector",
            "检查人：包含无法识别的控制字符",
            id="lone-surrogate",
        ),
        pytest.param(
            {"phone": "13٨00138000"},
            "fields.phone",
            "联系电话：号码格式不正确：手机为 11 位（1 开头），固话需带区号，如 0755-83001234",
            id="arabic-indic-digit-in-phone",
        ),
        pytest.param(
            {"start": "0٨:30"}, "fields.start", "开始时间：应为时间，如 08:30", id="digit-in-time"
        ),
    ],
)
def test_values_that_cannot_be_stored_as_typed_are_refused(fields, path, message):
    """Found by tests/test_properties.py: each was accepted (or raised) before."""
    form = _form_with({"key": "start", "label": "开始时间", "type": "time"})
    data = {
        "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东", **fields},
        "items": perfect_items(),
    }
    _, errors = validate(form, data, PROJECTS)
    assert errors == {path: message}


def test_item_counts_and_notes_that_cannot_be_stored_are_refused():
    _, errors = submit(
        items={"a3": {"count": 10**5000}, "a1": {"result": "合格", "note": "\udfff"}}
    )
    assert errors == {
        "items.a3.count": "垃圾桶无满溢：处数应为 0–999 的整数",
        "items.a1.note": "大堂地面干净：说明包含无效字符",
    }


def test_a_large_but_sane_number_is_kept_exactly():
    clean, errors = validate(
        _form_with(),
        {
            "fields": {
                "project": "CH",
                "date": "2026-11-21",
                "inspector": "陈",
                "people": "999999999999999",
            },
            "items": perfect_items(),
        },
        PROJECTS,
    )
    assert errors == {} and clean.fields["people"] == 999_999_999_999_999


# Dates in the future ------------------------------------------------------------

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
COMPLAINTS = Path(__file__).resolve().parent.parent / "data/forms/QR-12-01.yml"


def test_a_record_cannot_be_dated_after_today():
    assert not_in_future(FORM, {"date": "2026-11-22"}, NOW) == {
        "fields.date": "检查日期：不能晚于今天（2026-11-21）"
    }
    assert not_in_future(FORM, {"date": "2026-11-21"}, NOW) == {}
    assert not_in_future(FORM, {}, NOW) == {}


@pytest.mark.parametrize(
    ("day", "clock", "errors"),
    [
        ("2026-11-21", "09:10", {}),  # a phone's clock a little ahead of the server's
        ("2026-11-21", "09:11", {"fields.received_time": "受理时间：不能晚于现在（09:00）"}),
        ("2026-11-20", "23:59", {}),
        ("2026-11-22", "08:00", {"fields.received_date": "受理日期：不能晚于今天（2026-11-21）"}),
    ],
)
def test_a_complaint_cannot_be_received_later_than_now(day, clock, errors):
    form, problems = parse_form(
        "data/forms/QR-12-01.yml", yaml.safe_load(COMPLAINTS.read_text(encoding="utf-8"))
    )
    assert problems == []
    assert not_in_future(form, {"received_date": day, "received_time": clock}, NOW) == errors
