"""Submitting a record: the one path shared by the web form and the JSON API.

validate → check photos and scoping → score → store durably → (workflows).
Nothing is stored unless every check passes; the caller gets every problem at once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from forms_server import complaints, rectification
from forms_server.auth import Principal
from forms_server.definitions import FormDef
from forms_server.errors import HTTPError
from forms_server.scoring import ItemAnswer, score
from forms_server.validation import Clean, not_in_future, validate

UNSAFE_NAME_RE = re.compile(r"[/\\\x00-\x1f\x7f]|^\.\.?$")
IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", "image/heic": "HEIC"}
PLACEHOLDER = "f" * 32  # stands for a not-yet-stored upload while the rest is validated
NOTICE_FORM = "QR-10-20"  # 整改通知书: numbers of generated notices start with its code
RESPONSIBLE_UNITS = ("管理处", "分公司", "总部职能部门")


def configuration_problems(forms: dict[str, FormDef], company) -> list[str]:
    """Forms that do not fit the company's configuration (checked at start)."""
    problems = []
    for form in forms.values():
        if form.workflow == "complaint":
            urgency = form.field("urgency")
            missing = [o for o in urgency.options if o not in company.complaint_deadlines]
            if missing:
                problems.append(
                    f"{form.path}： fields.urgency: 紧急程度“{'、'.join(missing)}”在 data/qms.yml complaints.deadlines 中没有处理时限"
                )
        if form.rectification and form.rectification not in (*company.teams, *RESPONSIBLE_UNITS):
            problems.append(
                f"{form.path}： rectification: “{form.rectification}”不是班组（{'、'.join(company.teams)}）或{'、'.join(RESPONSIBLE_UNITS)}"
            )
    return problems


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def sniff_image(data: bytes) -> str | None:
    """The image type from the file's first bytes (the declared type is not trusted)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypheif"):
        return "image/heic"
    return None


def check_upload(upload: Upload, max_bytes: int) -> tuple[int, str] | None:
    """(HTTP status, Chinese reason) when an uploaded file is refused, or None.

    The name is only shown, never used as a path (files are stored under a random id);
    a name with a path, "..", or control characters comes from no browser and is refused.
    """
    if UNSAFE_NAME_RE.search(upload.name):
        return 422, "照片的文件名不能包含路径（/ 或 \\）、“..”或控制字符"
    if not upload.data:
        return 422, f"照片“{upload.name}”是空文件"
    if len(upload.data) > max_bytes:
        return 413, f"照片“{upload.name}”超过 {max_bytes // (1024 * 1024)} MB"
    if sniff_image(upload.data) is None:
        return 415, f"“{upload.name}”不是支持的图片格式（JPEG、PNG、WebP、HEIC）"
    return None


def prepare(state, user: Principal, form: FormDef, data: dict) -> tuple[Clean, dict | None]:
    """Validate and score; raise 422 listing every problem. Returns clean values and the score."""
    if form.status != "受控":
        raise HTTPError(409, f"表格 {form.code} 当前状态为“{form.status}”，不能提交新记录")
    if not user.can_act:
        raise HTTPError(403, f"{user.role_name}角色不能提交记录")
    projects = state.company.project_names()
    clean, errors = validate(form, data, projects)
    errors.update(not_in_future(form, clean.fields, state.store.now()))
    project_field = form.project_field
    if project_field and "fields." + project_field.key not in errors:
        project = clean.fields.get(project_field.key)
        if project is not None and not user.can_submit(project):
            errors["fields." + project_field.key] = (
                f"{project_field.label}：您只能提交本管理处（{projects.get(user.project or '', '未分配')}）的记录"
            )
    ids = [i for i in clean.attachments(form) if i != PLACEHOLDER]
    missing = state.store.attachments_exist(ids)
    if missing:
        errors["attachments"] = f"照片编号不存在：{'、'.join(missing)}（请先上传照片）"
    if errors:
        raise HTTPError(422, f"共 {len(errors)} 处需要修改，记录未保存", errors=errors)
    result = (
        score(form, clean.items, clean.adjustments, clean.downgrade) if form.is_checklist else None
    )
    return clean, (result.to_dict() if result else None)


async def store_submission(
    state, user: Principal, form: FormDef, clean: Clean, scored: dict | None, client_key: str | None
) -> tuple[dict, str]:
    """Store a prepared submission from the event loop: the stored document and its JSON as
    the API answers (see `Store.add_submission_json`)."""
    return await state.store.add_submission_json(
        *_stored(state, user, form, clean, scored, client_key)
    )


def _stored(state, user: Principal, form: FormDef, clean: Clean, scored: dict | None,
            client_key: str | None) -> tuple:  # fmt: skip
    """The arguments of `Store.add_submission` for a prepared submission."""
    project_field, date_field = form.project_field, form.date_field
    record = {
        "form": form.code,
        "form_version": form.version,
        "form_title": form.title,
        "project": clean.fields.get(project_field.key) if project_field else None,
        "record_date": (clean.fields.get(date_field.key) if date_field else None)
        or state.store.now().date().isoformat(),
        "values": clean.fields,
        "items": {key: _answer(answer) for key, answer in clean.items.items()},
        "adjustments": clean.adjustments,
        "downgrade": clean.downgrade,
        "score": scored,
        "attachments": clean.attachments(form),
    }
    return record, user.username, client_key, derive(state, form)


def _answer(answer: ItemAnswer) -> dict:
    """An item's answer as stored: the fields given (in this order), and its photos."""
    stored: dict = {}
    if answer.result:
        stored["result"] = answer.result
    if answer.count is not None:
        stored["count"] = answer.count
    if answer.severity:
        stored["severity"] = answer.severity
    if answer.note:
        stored["note"] = answer.note
    if answer.location:
        stored["location"] = answer.location
    stored["photos"] = list(answer.photos)
    return stored


def derive(state, form: FormDef):
    """What a stored submission starts: a complaint (QP-12) or 整改通知书 (QP-10 §4.8)."""

    def started(doc: dict) -> list[tuple[str, str | None, dict]]:
        out: list[tuple[str, str | None, dict]] = []
        if form.workflow == "complaint":
            out.append(("complaints", None, complaints.open_complaint(doc, state.company)))
        if form.rectification and doc.get("score"):
            issued = dt.date.fromisoformat(doc["submitted_at"][:10])
            for notice in rectification.notices_for(doc, form.rectification, issued, state.company):
                out.append(("notices", NOTICE_FORM, notice))
        return out

    return started


def submit(
    state, user: Principal, form: FormDef, data: dict, client_key: str | None = None
) -> dict:
    """Validate, score and store a submission whose photos are already uploaded."""
    clean, scored = prepare(state, user, form, data)
    return state.store.add_submission(*_stored(state, user, form, clean, scored, client_key))


# Presentation ------------------------------------------------------------------

#: Roles that need owners' phone numbers in full: staff handle their 管理处's
#: complaints and repairs, quality staff follow them up. Auditors and
#: administrators see them masked (138****1234).
PHONE_ROLES = {"staff", "quality"}


def mask_phone(number: str) -> str:
    if len(number) <= 7:
        return "****" + number[-2:]
    return number[:3] + "****" + number[-4:]


def present(doc: dict, form: FormDef | None, user: Principal) -> dict:
    """The record as this user may see it (phone numbers masked where not needed)."""
    if form is None or user.role in PHONE_ROLES:
        return doc
    phones = [f.key for f in form.fields if f.type == "phone"]
    if not phones:
        return doc
    values = dict(doc["values"])
    for key in phones:
        if isinstance(values.get(key), str):
            values[key] = mask_phone(values[key])
    return {**doc, "values": values}
