"""Pages of the closed loops: complaints (QP-12) and rectification (QP-10 §4.8)."""

from __future__ import annotations

import urllib.parse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forms_server import complaints, records, rectification
from forms_server.auth import check_csrf, principal
from forms_server.bodies import form_data
from forms_server.errors import HTTPError
from forms_server.store import Conflict
from forms_server.views import render


def _visible(request: Request, table: str, label: str) -> dict:
    user = principal(request)
    number = request.path_params["number"]
    doc = request.app.state.store.get(table, number)
    if doc is None or not user.can_see(doc.get("project")):
        raise HTTPError(404, f"没有{label} {number}")
    return doc


def _mask(request: Request, complaint: dict) -> dict:
    user = principal(request)
    if user.role in records.PHONE_ROLES or not complaint.get("phone"):
        return complaint
    return {**complaint, "phone": records.mask_phone(complaint["phone"])}


# Complaints -----------------------------------------------------------------------


def complaint_rows(
    request: Request, state_filter: str = "", overdue_only: bool = False, **equals
) -> list[dict]:
    user = principal(request)
    store = request.app.state.store
    now = store.now()
    found = store.find(
        "complaints", user.visible_projects(), **{k: v for k, v in equals.items() if v}
    )
    rows = []
    for c in found:
        if state_filter and c["state"] != state_filter:
            continue
        overdue = complaints.is_overdue(c, now)
        if overdue_only and not overdue:
            continue
        pending = [d for d in complaints.deadlines(c, now) if d.status in ("未到期", "已逾期")]
        rows.append(
            {
                **_mask(request, c),
                "overdue": overdue,
                "next_deadline": pending[0] if pending else None,
            }
        )
    return rows


async def complaints_page(request: Request) -> Response:
    principal(request)
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("state", "project", "category", "urgency")}
    overdue_only = q.get("overdue") == "1"
    rows = complaint_rows(request, filters["state"], overdue_only, project=filters["project"], category=filters["category"],
                          urgency=filters["urgency"])  # fmt: skip
    intake = next((f for f in request.app.state.forms.values() if f.workflow == "complaint"), None)
    categories = intake.field("category").options if intake else ()
    return render(request, "complaints.html", {
        "rows": rows, "filters": filters, "overdue_only": overdue_only, "states": complaints.STATES,
        "categories": categories, "urgencies": tuple(request.app.state.company.complaint_deadlines), "intake": intake,
    })  # fmt: skip


async def complaint_page(request: Request) -> Response:
    doc = _visible(request, "complaints", "投诉")
    if request.method == "POST":
        return await _complaint_action(request, doc)
    return _complaint_response(request, doc, {}, {})


def _complaint_response(
    request: Request, doc: dict, errors: dict, values: dict, status: int = 200
) -> Response:
    user = principal(request)
    store = request.app.state.store
    now = store.now()
    return render(request, "complaint.html", {
        "c": _mask(request, doc), "deadlines": complaints.deadlines(doc, now), "overdue": complaints.is_overdue(doc, now),
        "actions": complaints.actions_for(doc, user.actor()), "errors": errors, "values": values, "csrf": user.csrf,
        "satisfaction": complaints.SATISFACTION, "methods": complaints.VISIT_METHODS,
    }, status)  # fmt: skip


async def _complaint_action(request: Request, doc: dict) -> Response:
    user = principal(request)
    if not user.can_act:
        raise HTTPError(403, f"{user.role_name}角色不能办理投诉")
    form = await form_data(request, max_bytes=64 * 1024)
    check_csrf(request, form)
    state = request.app.state
    data = {k: str(form.get(k, "")) for k in ("note", "team", "handler", "satisfaction", "method")}
    key = str(form.get("action", ""))
    failure: dict[str, str] = {}

    def change(current: dict) -> dict:
        new, errors = complaints.apply(
            current, key, user.actor(), data, state.store.now(), state.company
        )
        if errors:
            failure.update(errors)
            raise Conflict("操作未执行")
        return new

    try:
        await run_in_threadpool(state.store.update, "complaints", doc["number"], change, user.username,
                                complaints.ACTIONS[key].label if key in complaints.ACTIONS else key)  # fmt: skip
    except Conflict:
        if not failure:
            raise
        return _complaint_response(
            request, state.store.get("complaints", doc["number"]), failure, data, 422
        )
    return RedirectResponse(f"/complaints/{doc['number']}", status_code=303)


# Rectification notices and re-inspections ------------------------------------------


async def notices_page(request: Request) -> Response:
    user = principal(request)
    store = request.app.state.store
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("status", "project")}
    today = store.now().date()
    rows = store.find("notices", user.visible_projects(), **{k: v for k, v in filters.items() if v})
    if q.get("overdue") == "1":
        rows = [n for n in rows if rectification.is_overdue(n, today)]
    if q.get("reissued") == "1":
        rows = [n for n in rows if n["reissued"]]
    for n in rows:
        n["overdue"] = rectification.is_overdue(n, today)
    return render(
        request,
        "notices.html",
        {
            "rows": rows,
            "filters": filters,
            "query": q,
            "statuses": (rectification.OPEN, rectification.CLOSED, rectification.FAILED),
        },
    )


async def notice_page(request: Request) -> Response:
    notice = _visible(request, "notices", "整改通知书")
    today = request.app.state.store.now().date()
    return render(
        request, "notice.html", {"n": notice, "overdue": rectification.is_overdue(notice, today)}
    )


async def reinspect_page(request: Request) -> Response:
    user = principal(request)
    store = request.app.state.store
    number = request.path_params["number"]
    source = store.get_submission(number)
    if source is None or not user.can_see(source["project"]):
        raise HTTPError(404, f"没有记录 {number}")
    open_notices = [
        n for n in store.derived_of(number)["notices"] if n["status"] == rectification.OPEN
    ]
    if request.method == "GET":
        return _reinspect_response(request, source, open_notices, {}, {})
    if not user.can_act or not user.can_see(source["project"]):
        raise HTTPError(403, f"{user.role_name}角色不能复查")
    form = await form_data(request, max_bytes=256 * 1024)
    check_csrf(request, form)
    results = {n["number"]: {"result": str(form.get(f"r.{n['number']}", "")), "note": str(form.get(f"n.{n['number']}", ""))}
               for n in open_notices}  # fmt: skip
    failure: dict[str, str] = {}
    state = request.app.state

    def decide(current: list[dict]):
        updated, reissued, errors = rectification.reinspect(current, results, state.store.now().date(), user.username,
                                                             state.company)  # fmt: skip
        if errors:
            failure.update(errors)
            raise Conflict("复查未保存")
        return updated, reissued, rectification.reinspection_record(source, current, results)

    try:
        record = await run_in_threadpool(state.store.reinspect, number, decide, user.username)
    except Conflict:
        if not failure:
            raise
        values = {
            k: v
            for n, r in results.items()
            for k, v in ((f"r.{n}", r["result"]), (f"n.{n}", r["note"]))
        }
        return _reinspect_response(request, source, open_notices, failure, values, 422)
    return RedirectResponse(
        f"/reinspections/{urllib.parse.quote(record['number'])}", status_code=303
    )


def _reinspect_response(request, source, open_notices, errors, values, status=200) -> Response:
    user = principal(request)
    return render(
        request,
        "reinspect.html",
        {
            "source": source,
            "notices": open_notices,
            "errors": errors,
            "values": values,
            "csrf": user.csrf,
            "can_reinspect": user.can_act,
        },
        status,
    )


async def reinspection_page(request: Request) -> Response:
    record = _visible(request, "reinspections", "复查记录")
    store = request.app.state.store
    notices = [store.get("notices", n) for n in record["notices"]]
    reissued = [store.get("notices", n) for n in record["reissued"]]
    return render(
        request, "reinspection.html", {"r": record, "notices": notices, "reissued": reissued}
    )
