"""Read-and-acknowledge pages and endpoints.

* From a document's page in the manual, a logged-in reader clicks once to confirm
  the version they read (`POST /api/acknowledgements`, called by the manual's
  script with the session's CSRF token; the same works from `/acknowledgements/mine`
  without any script).
* `/acknowledgements/` is the matrix for the quality department and auditors:
  who has confirmed which document in force, who is missing, per 管理处 and team,
  with CSV and Excel exports.
"""

from __future__ import annotations

import re
import urllib.parse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forms_server import acknowledgements as ack
from forms_server import audit, export, workbook
from forms_server.auth import check_csrf, check_header_csrf, principal, require
from forms_server.bodies import form_data, read_json
from forms_server.errors import HTTPError
from forms_server.views import download, render

EDITION_RE = re.compile(r"^[0-9A-Za-z._-]{1,40}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{7,40}$")


def page_url(src: str) -> str:
    """The manual's URL of a Markdown source (directory URLs, as the site is built)."""
    path = src.removesuffix(".md")
    if path == "index" or path.endswith("/index"):
        path = path.removesuffix("index")
    else:
        path += "/"
    return "/" + path.lstrip("/")


def _manual(request: Request) -> ack.Manual:
    return request.app.state.manual.get()


def _today(request: Request):
    return request.app.state.store.now().date()


def _reader(request: Request):
    user = principal(request)
    if user.role not in ack.READER_ROLES:
        raise HTTPError(403, f"{user.role_name}角色不需要确认阅读文件")
    return user


def _my_documents(request: Request, username: str, code: str | None = None) -> list[dict]:
    documents = _manual(request).in_force(_today(request))
    if code:
        documents = [d for d in documents if d.code == code]
    mine = ack.by_reader(request.app.state.store.search_acknowledgements(username=username))
    out = []
    for doc in documents:
        status, record = ack.state(mine.get((username, doc.code), {}), doc)
        out.append({
            "code": doc.code, "title": doc.title, "type": doc.type, "version": doc.version,
            "url": page_url(doc.src), "state": status,
            "acknowledged": None if record is None else {k: record.get(k) for k in ("version", "at", "edition", "commit")},
        })  # fmt: skip
    return out


def _acknowledge(request: Request, user, data: dict) -> dict:
    """Validate one confirmation (field errors name the field) and store it."""
    manual = _manual(request)
    code, version = data.get("code"), data.get("version")
    edition, commit = data.get("edition") or None, data.get("commit") or None
    errors = {}
    if not isinstance(code, str) or not code:
        errors["code"] = "缺少文件编号"
    if not isinstance(version, str) or not version:
        errors["version"] = "缺少所阅读的版本"
    if edition is not None and not (isinstance(edition, str) and EDITION_RE.match(edition)):
        errors["edition"] = "手册版次格式不正确"
    if commit is not None and not (isinstance(commit, str) and COMMIT_RE.match(commit)):
        errors["commit"] = "提交编号格式不正确"
    if errors:
        raise HTTPError(422, "确认内容有误", errors=errors)
    current = {d.code: d for d in manual.in_force(_today(request))}
    doc = current.get(code)
    if doc is None:
        raise HTTPError(
            404, f"没有现行有效的文件 {code}（草稿、待生效、作废文件和记录表格无需确认）"
        )
    if version != doc.version:
        raise HTTPError(
            409,
            f"{code} 的现行版本是 {doc.version}，您阅读的是 {version}。请打开现行版本阅读后再确认。",
        )
    return request.app.state.store.acknowledge(
        user.username, code, version, edition or manual.edition, commit or manual.commit
    )


# JSON -------------------------------------------------------------------------------


async def api_mine(request: Request) -> JSONResponse:
    user = _reader(request)
    code = request.query_params.get("code") or None
    items = await run_in_threadpool(_my_documents, request, user.username, code)
    return JSONResponse({"username": user.username, "items": items})


async def api_acknowledge(request: Request) -> JSONResponse:
    user = _reader(request)
    check_header_csrf(request)
    data = await read_json(request)
    if not isinstance(data, dict):
        raise HTTPError(422, "确认内容有误", errors={"": "请求体应为 JSON 对象"})
    record = await run_in_threadpool(_acknowledge, request, user, data)
    return JSONResponse(record, status_code=201)


async def api_matrix(request: Request) -> JSONResponse:
    require(request, *audit.AUDIT_ROLES)
    result, _, manual = await run_in_threadpool(_matrix, request)
    return JSONResponse({
        "edition": manual.edition, "commit": manual.commit,
        "documents": [{"code": d.code, "title": d.title, "version": d.version, "type": d.type} for d in result["documents"]],
        "readers": [{"username": r["user"]["username"], "display_name": r["user"].get("display_name"),
                     "project": r["user"].get("project"), "team": r["user"].get("team"),
                     "done": r["done"], "total": r["total"], "documents": r["cells"]} for r in result["rows"]],
    })  # fmt: skip


# Pages ------------------------------------------------------------------------------


async def mine_page(request: Request) -> Response:
    user = _reader(request)
    message = error = None
    status = 200
    if request.method == "POST":
        form = await form_data(request)
        check_csrf(request, form)
        try:
            record = await run_in_threadpool(
                _acknowledge,
                request,
                user,
                {"code": form.get("code"), "version": form.get("version")},
            )
            message = f"已确认阅读 {record['code']}（{record['version']}）"
        except HTTPError as exc:
            error = exc.detail if not exc.errors else "；".join(exc.errors.values())
            status = exc.status  # 404 not in force, 409 not the current version, 422 incomplete
    items = await run_in_threadpool(_my_documents, request, user.username)
    pending = [i for i in items if i["state"] != ack.CURRENT]
    return render(request, "acknowledgements_mine.html",
                  {"items": items, "pending": pending, "message": message, "error": error}, status=status)  # fmt: skip


def _matrix(request: Request) -> tuple[dict, dict[str, str], ack.Manual]:
    """The matrix the query asks for, and the manual it was computed from (read once)."""
    q = request.query_params
    company = request.app.state.company
    filters = {k: q.get(k, "").strip() for k in ("project", "team", "type", "state")}
    errors = {}
    if filters["project"] and filters["project"] not in company.projects:
        errors["project"] = f"没有管理处“{filters['project']}”"
    if filters["team"] and filters["team"] not in company.teams:
        errors["team"] = f"没有班组/部门“{filters['team']}”"
    if filters["type"] and filters["type"] not in ack.READ_TYPES:
        errors["type"] = f"文件类型应为 {'、'.join(ack.READ_TYPES)} 之一"
    if filters["state"] and filters["state"] != "missing":
        errors["state"] = "state 只能为 missing（只看有未确认文件的人员）"
    if errors:
        raise HTTPError(422, "查询参数有误", errors=errors)
    store, manual = request.app.state.store, _manual(request)
    result = ack.matrix_for(manual, store.list_users(), store.search_acknowledgements(), _today(request),
                            filters["project"], filters["team"], filters["type"])  # fmt: skip
    if filters["state"] == "missing":
        result["rows"] = [r for r in result["rows"] if r["done"] < r["total"]]
    return result, filters, manual


async def matrix_page(request: Request) -> Response:
    require(request, *audit.AUDIT_ROLES)
    result, filters, manual = await run_in_threadpool(_matrix, request)
    fmt = request.query_params.get("format", "html")
    company = request.app.state.company
    if fmt in ("csv", "xlsx"):
        table = ack.matrix_table(result, company.project_names(), manual)
        name = f"{company.short_name}文件阅读确认{request.app.state.store.now():%Y%m%d}"
        if fmt == "csv":
            return download(export.tables_csv([table]), "text/csv; charset=utf-8", f"{name}.csv")
        return download(workbook.workbook([table], company.name),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{name}.xlsx")  # fmt: skip
    if fmt != "html":
        raise HTTPError(422, "查询参数有误", errors={"format": "format 应为 html、csv 或 xlsx"})
    query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
    return render(request, "acknowledgements.html",
                  {"result": result, "filters": filters, "types": ack.READ_TYPES, "query": query,
                   "manual": manual})  # fmt: skip
