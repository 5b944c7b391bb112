"""The auditor's pages: a record's change history, chain verification, the evidence export."""

from __future__ import annotations

import urllib.parse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forms_server import audit, evidence, export
from forms_server.auth import principal, require
from forms_server.errors import HTTPError
from forms_server.report_tables import Table
from forms_server.views import download, render


def _history(request: Request) -> tuple[str, dict, list[dict]]:
    user = principal(request)
    table, number = request.path_params["table"], request.path_params["number"]
    if table not in audit.TABLES:
        raise HTTPError(404, f"没有此类记录：{table}（可选 {'、'.join(audit.TABLES)}）")
    store = request.app.state.store
    record = store.get(table, number)
    if record is None or not user.can_see(record.get("project")):
        # Another 管理处's record gets the same answer as a missing one: numbers are not probed.
        raise HTTPError(404, f"{audit.TABLES[table]} {number} 不存在")
    return table, record, store.record_history(table, number)


async def record_history_page(request: Request) -> Response:
    table, record, history = await run_in_threadpool(_history, request)
    entries = audit.entries(history)
    number = record["number"]
    if request.query_params.get("format") == "csv":
        rows = [[e["seq"], e["at"], e["by"], e["action"], field, old, new, e["hash"], e["prev"]]
                for e, field, old, new in audit.change_lines(entries)]  # fmt: skip
        header = [
            "序号",
            "时间",
            "操作人",
            "操作",
            "字段",
            "原值",
            "新值",
            "本条哈希",
            "上一条哈希",
        ]
        content = export.tables_csv(
            [Table(f"{audit.TABLES[table]} {number} 变更历史", header, rows)]
        )
        return download(content, "text/csv; charset=utf-8", f"{number}变更历史.csv")
    quoted = urllib.parse.quote(number)
    return render(request, "history.html",
                  {"kind": audit.TABLES[table], "number": number, "entries": entries, "back": f"/{table}/{quoted}",
                   "csv": f"/history/{table}/{quoted}?format=csv"})  # fmt: skip


async def api_record_history(request: Request) -> JSONResponse:
    table, record, history = await run_in_threadpool(_history, request)
    return JSONResponse({"table": table, "number": record["number"],
                         "entries": [{k: v for k, v in e.items() if k != "id"} for e in history]})  # fmt: skip


async def audit_page(request: Request) -> Response:
    require(request, *audit.AUDIT_ROLES)
    store = request.app.state.store

    def check() -> audit.Verdict:
        result = store.verify()
        return audit.verdict(result, store)

    verdict = await run_in_threadpool(check) if request.query_params.get("verify") else None
    today = store.now().date()
    return render(request, "audit.html",
                  {"verdict": verdict, "default_from": today.replace(day=1).isoformat(), "default_to": today.isoformat()})  # fmt: skip


async def evidence_zip(request: Request) -> Response:
    user = require(request, *audit.AUDIT_ROLES)
    first, last = request.query_params.get("from", ""), request.query_params.get("to", "")
    errors = evidence.period_problems(first, last)
    if errors:
        raise HTTPError(422, "导出期间有误", errors=errors)
    state = request.app.state

    def make() -> bytes:
        return evidence.build(
            state, first, last, f"{user.display_name}（{user.username}）", state.store.verify()
        )

    content = await run_in_threadpool(make)
    return download(
        content, "application/zip", f"{state.company.short_name}审核证据{first}至{last}.zip"
    )
