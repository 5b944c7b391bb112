"""Validate a submission against its definition: every problem collected, nothing raised.

Input is the canonical nested shape, whether it came from the JSON API or from a
web form (the views translate field names)::

    {"fields": {key: value},
     "items": {key: {"result": …, "count": …, "severity": …, "note": …, "location": …, "photos": […]}},
     "adjustments": {key: times},
     "downgrade": {key: true/false}}

`validate` returns clean, JSON-ready values and a dict of errors keyed by path
(``fields.phone``, ``items.lobby_floor.count``) with a Chinese message each.
Any input, however malformed, yields either clean values or errors.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from forms_server.definitions import NA, SEVERITIES, Field, FormDef, Item, to_decimal
from forms_server.scoring import ItemAnswer, item_score

# re.ASCII: \d would also match ٣ or ３, which would then be stored as typed.
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
LANDLINE_RE = re.compile(r"^0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?$", re.ASCII)
SERVICE_RE = re.compile(r"^[48]00-?\d{3}-?\d{4}$", re.ASCII)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$", re.ASCII)
ATTACHMENT_RE = re.compile(r"^[0-9a-f]{32}$")
# Control characters, and lone surrogates (JSON "\ud800"), which cannot be stored as UTF-8.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
TOP_KEYS = ("fields", "items", "adjustments", "downgrade")
ITEM_KEYS = ("result", "count", "severity", "note", "location", "photos")
TRUE = {True, "true", "1", "on", "yes", "是"}
FALSE = {False, "false", "0", "off", "no", "否", ""}
NOTE_MAX, LOCATION_MAX, COUNT_MAX = 500, 100, 999
NUMBER_LIMIT = 10**15  # beyond this a number is a typing slip, and no longer exact as a float


@dataclass
class Clean:
    fields: dict[str, object] = field(default_factory=dict)
    items: dict[str, ItemAnswer] = field(default_factory=dict)
    adjustments: dict[str, int] = field(default_factory=dict)
    downgrade: dict[str, bool] = field(default_factory=dict)

    def attachments(self, form: FormDef) -> list[str]:
        """Every attachment id the submission refers to (photo fields and item photos)."""
        ids = [a for f in form.fields if f.type == "photo" for a in (self.fields.get(f.key) or [])]
        ids += [p for answer in self.items.values() for p in answer.photos]
        return list(dict.fromkeys(ids))


def is_phone(value: str) -> bool:
    """Mainland China numbers: mobile, landline with area code, 400/800 service numbers."""
    return bool(MOBILE_RE.match(value) or LANDLINE_RE.match(value) or SERVICE_RE.match(value))


def validate(
    form: FormDef, data: object, projects: Mapping[str, str]
) -> tuple[Clean, dict[str, str]]:
    errors: dict[str, str] = {}
    clean = Clean()
    if not isinstance(data, Mapping):
        return clean, {"": "提交内容应为 JSON 对象，包含 fields（及检查表的 items）"}
    for key in data:
        if key not in TOP_KEYS:
            errors[str(key)] = f"未知内容“{key}”，应为 {'、'.join(TOP_KEYS)} 之一"

    raw_fields = data.get("fields") or {}
    if not isinstance(raw_fields, Mapping):
        errors["fields"] = "fields 应为“字段： 值”的对象"
        raw_fields = {}
    for key in raw_fields:
        if form.field(str(key)) is None:
            errors[f"fields.{key}"] = f"表单 {form.code} 中没有字段“{key}”"
    for spec in form.fields:
        value, message = _field(spec, raw_fields.get(spec.key), projects)
        if message:
            errors[f"fields.{spec.key}"] = f"{spec.label}\uff1a{message}"
        else:
            clean.fields[spec.key] = value

    if form.is_checklist:
        _items(form, data.get("items"), clean, errors)
        _extras(form, data, clean, errors)
    else:
        for key in ("items", "adjustments", "downgrade"):
            if data.get(key):
                errors[key] = f"表单 {form.code} 不是检查表，不接受 {key}"
    return clean, errors


#: How far the clock of the phone a record was typed on may run ahead of the server's.
CLOCK_SKEW = dt.timedelta(minutes=10)


def not_in_future(form: FormDef, fields: Mapping, now: dt.datetime) -> dict[str, str]:
    """Errors for a record dated after ``now``: its own date (the form's first date field:
    检查日期, 发现日期, 编制日期 …) cannot be after today, and a complaint's receiving date
    and time cannot be later than now. Later dates of a form (整改期限, 计划完成日期) may be."""
    errors: dict[str, str] = {}
    spec = form.date_field
    day = fields.get(spec.key) if spec else None
    if spec and isinstance(day, str) and day > now.date().isoformat():
        errors[f"fields.{spec.key}"] = f"{spec.label}：不能晚于今天（{now.date().isoformat()}）"
    clock = fields.get("received_time") if form.workflow == "complaint" else None
    if not errors and isinstance(day, str) and isinstance(clock, str):
        moment = dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=now.tzinfo)
        if moment > now + CLOCK_SKEW:
            label = form.field("received_time").label
            errors["fields.received_time"] = f"{label}：不能晚于现在（{now:%H:%M}）"
    return errors


# Header fields ---------------------------------------------------------------


def _blank(value: object) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def _yes_no(value: object) -> bool | None:
    """True/False for the ways people and clients say yes or no; None for anything else."""
    if isinstance(value, str):
        value = value.strip().lower()
    elif not isinstance(value, bool):
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    return None


def _field(spec: Field, value: object, projects: Mapping[str, str]) -> tuple[object, str | None]:
    if spec.type == "yesno":
        if _blank(value):
            return (None, "请选择“是”或“否”") if spec.required else (None, None)
        answer = _yes_no(value)
        return (answer, None) if answer is not None else (None, "应为“是”或“否”")
    if _blank(value):
        return (None, "必须填写") if spec.required else (None, None)
    check = _CHECKS[spec.type]
    return check(spec, value, projects)


def one_newline_style(text: str) -> str:
    """Line breaks as ``\n`` whatever the client sent (``\r\n`` from browsers, a lone ``\r``)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _text(
    spec: Field, value: object, projects, multiline: bool = False
) -> tuple[object, str | None]:
    if not isinstance(value, str):
        return None, "应为文字"
    text = one_newline_style(value.strip())
    if CONTROL_RE.search(text):
        return None, "包含无法识别的控制字符"
    if not multiline and "\n" in text:
        return None, "应为一行文字"
    if len(text) > spec.max_length:
        return None, f"最多 {spec.max_length} 个字，当前 {len(text)} 个"
    return text, None


def _textarea(spec, value, projects):
    return _text(spec, value, projects, multiline=True)


def _number(spec: Field, value: object, projects) -> tuple[object, str | None]:
    if isinstance(value, bool) or (isinstance(value, str) and len(value) > 30):
        return None, "应为数字"
    number = to_decimal(value)
    if number is None:
        return None, "应为数字"
    if spec.integer and number != number.to_integral():
        return None, "应为整数"
    if spec.min is not None and number < spec.min:
        return None, f"不能小于 {spec.min}{spec.unit}"
    if spec.max is not None and number > spec.max:
        return None, f"不能大于 {spec.max}{spec.unit}"
    # Compared, not abs(): arithmetic on 1E+999999999 overflows the decimal context.
    if not -NUMBER_LIMIT < number < NUMBER_LIMIT:  # 1e400 would be stored as float("inf")
        return None, "数值超出范围"
    return (int(number) if number == number.to_integral() else float(number)), None


def parse_iso_date(value: object) -> dt.date | None:
    """A YYYY-MM-DD date that exists, else None: 2026-02-30 is refused, and so is 20261121
    (which `date.fromisoformat` accepts since Python 3.11)."""
    if not isinstance(value, str) or not DATE_RE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _date(spec: Field, value: object, projects) -> tuple[object, str | None]:
    if isinstance(value, dt.date):
        value = value.isoformat()
    day = parse_iso_date(value := value.strip()) if isinstance(value, str) else None
    if day is None:  # which message: matched again only for a refused value
        if isinstance(value, str) and DATE_RE.fullmatch(value):
            return None, f"“{value}”不是有效日期"
        return None, "应为日期，如 2026-11-21"
    if not 2000 <= day.year <= 2100:
        return None, "日期超出合理范围（2000–2100 年）"
    return day.isoformat(), None


def _time(spec: Field, value: object, projects) -> tuple[object, str | None]:
    if not isinstance(value, str) or not TIME_RE.match(value.strip()):
        return None, "应为时间，如 08:30"
    return value.strip(), None


def _choice(spec: Field, value: object, projects) -> tuple[object, str | None]:
    if not isinstance(value, str) or value.strip() not in spec.options:
        return None, f"应为 {'、'.join(spec.options)} 之一"
    return value.strip(), None


def _multichoice(spec: Field, value: object, projects) -> tuple[object, str | None]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None, "应为选项列表"
    chosen = [v.strip() for v in values]
    unknown = [v for v in chosen if v not in spec.options]
    if unknown:
        return None, f"“{'、'.join(unknown)}”不是可选项（可选：{'、'.join(spec.options)}）"
    if len(set(chosen)) != len(chosen):
        return None, "选项重复"
    return [o for o in spec.options if o in chosen], None


def _project(spec: Field, value: object, projects: Mapping[str, str]) -> tuple[object, str | None]:
    if not isinstance(value, str) or value.strip() not in projects:
        return None, "请选择管理处"
    return value.strip(), None


def _phone(spec: Field, value: object, projects) -> tuple[object, str | None]:
    if not isinstance(value, str):
        return None, "应为电话号码"
    number = re.sub(r"[\s()()]", "", value)
    if not is_phone(number):
        return None, "号码格式不正确：手机为 11 位（1 开头），固话需带区号，如 0755-83001234"
    return number, None


def _photo(spec: Field, value: object, projects) -> tuple[object, str | None]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(
        isinstance(v, str) and ATTACHMENT_RE.match(v) for v in values
    ):
        return None, "照片应为已上传附件的编号"
    if len(values) > spec.max_files:
        return None, f"最多 {spec.max_files} 张照片"
    return list(dict.fromkeys(values)), None


_CHECKS = {
    "text": _text,
    "textarea": _textarea,
    "location": _text,
    "person": _text,
    "signature": _text,
    "number": _number,
    "date": _date,
    "time": _time,
    "choice": _choice,
    "multichoice": _multichoice,
    "project": _project,
    "phone": _phone,
    "photo": _photo,
}


# Checklist items -------------------------------------------------------------


def _items(form: FormDef, raw: object, clean: Clean, errors: dict[str, str]) -> None:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        errors["items"] = "items 应为“项目： 评定”的对象"
        return
    for key in raw:
        if form.item(str(key)) is None:
            errors[f"items.{key}"] = f"检查表 {form.code} 中没有项目“{key}”"
    applicable = 0
    for item in form.items:
        answer = _plain_answer(item, raw.get(item.key))
        if answer is not None:  # the usual answer: nothing else to check
            clean.items[item.key] = answer
            applicable += answer.result != NA
            continue
        answer, item_errors = _item(item, raw.get(item.key))
        errors.update({f"items.{item.key}{suffix}": msg for suffix, msg in item_errors.items()})
        if answer is not None:
            clean.items[item.key] = answer
            applicable += answer.result != NA
    if clean.items and len(clean.items) == len(form.items) and not applicable:
        errors["items"] = "所有项目都是“不适用”，至少应有一个适用的项目"


def _plain_answer(item: Item, raw: object) -> ItemAnswer | None:
    """The answer most items get, ``{"result": "合格"}`` or ``{"count": 0}`` and nothing else,
    as `_item` would make it; None for anything else, which `_item` checks in full."""
    if type(raw) is not dict or len(raw) != 1:
        return None
    if item.mode == "deduct":
        count = raw.get("count")
        return ItemAnswer(count=count) if type(count) is int and 0 <= count <= COUNT_MAX else None
    result = raw.get("result")
    return ItemAnswer(result=result) if type(result) is str and result in item.choices() else None


def _item(item: Item, raw: object) -> tuple[ItemAnswer | None, dict[str, str]]:
    where = f"{item.text[:20]}"
    if raw is None or raw == {}:
        return None, {"": f"{where}：请评定此项"}
    if isinstance(raw, (str, int)) and not isinstance(raw, bool):  # noqa: UP038 (faster)
        raw = (
            {"count": raw}
            if item.mode == "deduct" and not (isinstance(raw, str) and raw == NA)
            else {"result": raw}
        )
    if type(raw) is not dict and not isinstance(raw, Mapping):  # a dict: skip the slow ABC check
        return None, {"": f"{where}：评定格式不正确"}
    errors: dict[str, str] = {}
    for key in raw:
        if key not in ITEM_KEYS:
            errors[f".{key}"] = f"{where}：未知内容“{key}”"

    result = raw.get("result")
    result = result.strip() if isinstance(result, str) else result
    count = None
    if item.mode == "deduct":
        if result == NA:
            if not item.na:
                errors[".result"] = f"{where}：此项不允许“不适用”"
            if not _blank(raw.get("count")):
                errors[".count"] = f"{where}：已选“不适用”，不应填写处数"
        elif not _blank(result):
            errors[".result"] = f"{where}：扣分项目请填写发现的处数"
        else:
            count_raw = raw.get("count")
            missing = _blank(count_raw)
            number = None if missing else to_decimal(count_raw)
            if missing:
                errors[".count"] = f"{where}：请填写发现问题的处数（没有问题填 0）"
            elif number is None or number != number.to_integral() or not 0 <= number <= COUNT_MAX:
                errors[".count"] = f"{where}：处数应为 0–{COUNT_MAX} 的整数"
            else:
                count = int(number)
    else:
        if _blank(result):
            errors[".result"] = f"{where}：请评定此项"
        elif result not in item.choices():
            errors[".result"] = f"{where}：评定应为 {'、'.join(item.choices())} 之一"
        if not _blank(raw.get("count")):
            errors[".count"] = f"{where}：此项不按处数扣分"

    severity = raw.get("severity")
    severity = None if _blank(severity) else severity
    if severity is not None and severity not in SEVERITIES:
        errors[".severity"] = f"{where}：不合格等级应为 一般 或 严重"
    note, note_error = _free_text(raw.get("note"), NOTE_MAX, multiline=True)
    if note_error:
        errors[".note"] = f"{where}：说明{note_error}"
    location, location_error = _free_text(raw.get("location"), LOCATION_MAX)
    if location_error:
        errors[".location"] = f"{where}：位置{location_error}"
    photos = raw.get("photos") or []
    if isinstance(photos, str):
        photos = [photos]
    if not isinstance(photos, list) or not all(
        isinstance(p, str) and ATTACHMENT_RE.match(p) for p in photos
    ):
        errors[".photos"] = f"{where}：照片应为已上传附件的编号"
        photos = []
    elif len(photos) > 3:
        errors[".photos"] = f"{where}：每项最多 3 张照片"

    if errors:
        return None, errors
    answer = ItemAnswer(
        result=result if item.mode != "deduct" or result == NA else None,
        count=count,
        severity=severity,
        note=note,
        location=location,
        photos=tuple(dict.fromkeys(photos)),
    )
    if severity is not None:  # only a failing item may carry a severity
        value = item_score(item, answer)
        failing = (value is not None and value < item.points) or (
            not item.scored and result == "不符合"
        )
        if not failing:
            return None, {".severity": f"{where}：符合要求的项目不能标记不合格等级"}
        if severity == "一般" and item.critical:
            return None, {".severity": f"{where}：否决项不合格即为严重不合格"}
    return answer, {}


def _free_text(value: object, limit: int, multiline: bool = False) -> tuple[str, str | None]:
    if _blank(value):
        return "", None
    if not isinstance(value, str):
        return "", "应为文字"
    text = one_newline_style(value.strip())
    if CONTROL_RE.search(text) or (not multiline and "\n" in text):
        return "", "包含无效字符"
    if len(text) > limit:
        return "", f"最多 {limit} 个字"
    return text, None


def _extras(form: FormDef, data: Mapping, clean: Clean, errors: dict[str, str]) -> None:
    scoring = form.scoring
    adjustments = {a.key: a for a in scoring.adjustments} if scoring else {}
    conditions = {c.key: c for c in scoring.downgrade} if scoring else {}
    raw_adj = data.get("adjustments") or {}
    if not isinstance(raw_adj, Mapping):
        errors["adjustments"] = "adjustments 应为“项目： 次数”的对象"
        raw_adj = {}
    for key, value in raw_adj.items():
        spec = adjustments.get(str(key))
        if spec is None:
            errors[f"adjustments.{key}"] = f"没有加减分项“{key}”"
            continue
        number = to_decimal(value) if not _blank(value) else Decimal(0)
        if number is None or number != number.to_integral() or not 0 <= number <= spec.max_times:
            errors[f"adjustments.{key}"] = f"{spec.label}：次数应为 0–{spec.max_times} 的整数"
        else:
            clean.adjustments[str(key)] = int(number)
    raw_dg = data.get("downgrade") or {}
    if not isinstance(raw_dg, Mapping):
        errors["downgrade"] = "downgrade 应为“条件： 是/否”的对象"
        raw_dg = {}
    for key, value in raw_dg.items():
        spec = conditions.get(str(key))
        if spec is None:
            errors[f"downgrade.{key}"] = f"没有降档条件“{key}”"
            continue
        answer = False if value is None else _yes_no(value)
        if answer is None:
            errors[f"downgrade.{key}"] = f"{spec.label}：应为“是”或“否”"
        else:
            clean.downgrade[str(key)] = answer
