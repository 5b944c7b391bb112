"""JSON API under /api/ (described by /api/openapi.json, see `forms_server.openapi`)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forms_server import openapi, records
from forms_server.auth import check_header_csrf, principal
from forms_server.bodies import read_body, read_json
from forms_server.definitions import FormDef
from forms_server.errors import HTTPError
from forms_server.records import Upload, check_upload
from forms_server.store import Conflict
from forms_server.validation import parse_iso_date
from forms_server.views import visible_submission


def _num(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral() else float(value)


def definition_json(form: FormDef) -> dict:
    return {
        "code": form.code,
        "title": form.title,
        "version": form.version,
        "status": form.status,
        "procedure": form.procedure,
        "description": form.description,
        "workflow": form.workflow or None,
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "help": f.help,
                "options": list(f.options),
                "min": _num(f.min),
                "max": _num(f.max),
                "unit": f.unit,
                "integer": f.integer,
                "max_length": f.max_length,
                "max_files": f.max_files,
            }
            for f in form.fields
        ],
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "items": [
                    {
                        "key": i.key,
                        "text": i.text,
                        "standard": i.standard,
                        "mode": i.mode,
                        "points": _num(i.points),
                        "per": _num(i.per),
                        "deduction": _num(i.deduction),
                        "na": i.na,
                        "tiers": [{"label": t.label, "points": _num(t.points)} for t in i.tiers],
                        "choices": list(i.choices()),
                        "critical": {"effect": i.critical.effect, "points": _num(i.critical.points)}
                        if i.critical
                        else None,
                    }
                    for i in s.items
                ],
            }
            for s in form.sections
        ],
        "scoring": None
        if form.scoring is None
        else {
            "total": _num(form.scoring.total),
            "na": form.scoring.na,
            "bands": [{"grade": b.grade, "min": _num(b.min)} for b in form.scoring.bands],
            "adjustments": [
                {"key": a.key, "label": a.label, "points": _num(a.points), "max_times": a.max_times}
                for a in form.scoring.adjustments
            ],
            "downgrade": [{"key": c.key, "label": c.label} for c in form.scoring.downgrade],
        },
    }


def summary_json(form: FormDef) -> dict:
    return {
        "code": form.code,
        "title": form.title,
        "version": form.version,
        "status": form.status,
        "procedure": form.procedure,
        "checklist": form.is_checklist,
    }


def submission_json(request: Request, doc: dict) -> dict:
    user = principal(request)
    form = request.app.state.forms.get(doc["form"])
    shown = records.present(doc, form, user)
    return {k: v for k, v in shown.items() if k not in ("client_key", "id")}


# Endpoints -------------------------------------------------------------------


async def me(request: Request) -> JSONResponse:
    user = principal(request)
    return JSONResponse(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "project": user.project,
            "team": user.team,
            # For scripts of the manual's pages, which post with the session's cookie.
            "csrf_token": user.csrf if user.via == "session" else None,
        }
    )


async def list_forms(request: Request) -> JSONResponse:
    principal(request)
    forms = sorted(request.app.state.forms.values(), key=lambda f: f.code)
    return JSONResponse({"items": [summary_json(f) for f in forms]})


async def get_form(request: Request) -> JSONResponse:
    principal(request)
    code = request.path_params["code"]
    form = request.app.state.forms.get(code)
    if form is None:
        raise HTTPError(404, f"没有表格 {code}")
    return JSONResponse(definition_json(form))


async def create_submission(request: Request) -> JSONResponse:
    user = principal(request)
    code = request.path_params["code"]
    form = request.app.state.forms.get(code)
    if form is None:
        raise HTTPError(404, f"没有表格 {code}")
    check_header_csrf(request)
    data = await read_json(request)
    key = request.headers.get("idempotency-key", "").strip()[:64] or None
    try:
        clean, scored = records.prepare(request.app.state, user, form, data)
        doc, text = await records.store_submission(
            request.app.state, user, form, clean, scored, key
        )
    except Conflict as exc:
        raise HTTPError(409, str(exc)) from exc
    location = {"Location": f"/api/submissions/{doc['number']}"}
    if records.present(doc, form, user) is not doc:  # masked for this user: encode what is shown
        return JSONResponse(submission_json(request, doc), status_code=201, headers=location)
    # As stored: the JSON the store made of it once, for the journal and the history digest.
    return Response(text, status_code=201, headers=location, media_type="application/json")


async def list_submissions(request: Request) -> JSONResponse:
    user = principal(request)
    q = request.query_params
    limit, offset = q.get("limit", "100"), q.get("offset", "0")
    errors = {}
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        errors["limit"] = "limit 应为 1–500 的整数"
    if not offset.isdigit():
        errors["offset"] = "offset 应为不小于 0 的整数"
    for name in ("from", "to"):
        value = q.get(name)
        if value and parse_iso_date(value) is None:
            errors[name] = f"{name} 应为日期，如 2026-11-21"
    if errors:
        raise HTTPError(422, "查询参数有误", errors=errors)
    projects = user.visible_projects()
    if q.get("project"):
        if projects is not None and q["project"] not in projects:
            raise HTTPError(403, "您只能查看本管理处的记录")
        projects = [q["project"]]
    found = request.app.state.store.find_submissions(
        form=q.get("form") or None,
        projects=projects,
        date_from=q.get("from") or None,
        date_to=q.get("to") or None,
        submitted_by=q.get("submitted_by") or None,
    )
    page = found[int(offset) : int(offset) + int(limit)]
    return JSONResponse({"total": len(found), "items": [submission_json(request, d) for d in page]})


async def get_submission(request: Request) -> JSONResponse:
    return JSONResponse(submission_json(request, visible_submission(request)))


async def upload_attachment(request: Request) -> JSONResponse:
    user = principal(request)
    if not user.can_act:
        raise HTTPError(403, f"{user.role_name}角色不能上传照片")
    check_header_csrf(request)
    settings = request.app.state.settings
    max_bytes = settings.max_upload_mb * 1024 * 1024
    body = await read_body(request, max_bytes, f"照片超过 {settings.max_upload_mb} MB")
    name = request.headers.get("x-filename", "").strip() or "照片"
    refused = check_upload(Upload(name, body), max_bytes)
    if refused:
        raise HTTPError(*refused)
    doc = await run_in_threadpool(
        request.app.state.store.add_attachment, body, records.sniff_image(body), name, user.username
    )
    return JSONResponse(
        {"id": doc["attachment_id"], "content_type": doc["content_type"], "size": doc["size"]},
        status_code=201,
    )


async def openapi_document(request: Request) -> Response:
    principal(request)
    return JSONResponse(openapi.document(request.app.state.company))
