"""Report pages, their CSV and Excel exports, and their JSON endpoints.

Every report is computed once by `forms_server.reports` from the records the
user may see: staff see their own 管理处 only; quality staff, auditors and
administrators see every 管理处 and 分公司 (read-only for auditors).
"""

from __future__ import annotations

import re
import urllib.parse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forms_server import charts, export, report_tables, reports, workbook
from forms_server.auth import principal
from forms_server.errors import HTTPError
from forms_server.views import download, render

# ASCII digits, years 2000–2100 (as for dates in records): 0000-01 made the month
# arithmetic raise, and ٢٠٢٦-11 (\d matches any digit) made month_range loop forever.
MONTH_RE = re.compile(r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$")
KINDS = {
    "monthly": "月度质量报告",
    "complaints": "投诉统计报告",
    "inspections": "检查得分趋势",
    "objectives": "质量目标完成情况",
}


# Parameters and scoping --------------------------------------------------------


def _month(request: Request, name: str, default: str) -> str:
    value = request.query_params.get(name, "").strip() or default
    if not MONTH_RE.match(value):
        raise HTTPError(
            422, "查询参数有误", errors={name: f"{name} 应为 2000–2100 年间的月份，如 2026-11"}
        )
    return value


def _period(request: Request) -> list[str]:
    current = request.app.state.store.now().strftime("%Y-%m")
    last = _month(request, "to", current)
    first = _month(request, "from", reports.months_back(last, 5))
    if first > last:
        raise HTTPError(422, "查询参数有误", errors={"from": "起始月份不能晚于结束月份"})
    months = reports.month_range(first, last)
    if len(months) > 24:
        raise HTTPError(422, "查询参数有误", errors={"from": "一次最多查询 24 个月"})
    return months


def _unit(request: Request) -> tuple[str, str, list[str]]:
    """(unit code, unit name, its 管理处) for a 管理处 code, a 分公司 code or ALL."""
    user = principal(request)
    company = request.app.state.company
    requested = (
        request.query_params.get("unit", "").strip()
        or request.query_params.get("project", "").strip()
    )
    visible = user.visible_projects()
    if visible is not None:  # staff: their own 管理处 only
        if requested and not user.can_see(requested):
            raise HTTPError(403, "您只能查看本管理处的报表")
        requested = requested or visible[0]
    requested = requested or "ALL"
    if requested == "ALL":
        return "ALL", company.name, list(company.projects)
    if requested in company.projects:
        return requested, company.projects[requested].name, [requested]
    if requested in company.branches:
        return requested, company.branches[requested], company.projects_of_branch(requested)
    raise HTTPError(422, "查询参数有误", errors={"unit": f"没有管理处或分公司“{requested}”"})


# Building each report ---------------------------------------------------------------


def build(request: Request, kind: str) -> tuple[dict, list[report_tables.Table], str]:
    now = request.app.state.store.now()
    unit = _unit(request)
    for name in ("month", "from", "to"):  # a malformed month is refused even where unused
        _month(request, name, now.strftime("%Y-%m"))
    if kind == "monthly":
        months = [_month(request, "month", now.strftime("%Y-%m"))]
    else:
        months = _period(request)
    return compute(request.app.state, kind, unit, months)


def compute(
    state, kind: str, unit: tuple[str, str, list[str]], months: list[str]
) -> tuple[dict, list[report_tables.Table], str]:
    """One report of ``unit`` (code, name, its 管理处) over ``months`` (the monthly report: one month)."""
    company, store = state.company, state.store
    now = store.now()
    code, unit_name, projects = unit
    if kind == "monthly":
        month = months[-1]
        submissions = store.report_submissions(projects, [month])
        # Only the notices the report reads (a year holds about one per inspection).
        notices = store.report_notices(projects, reports.monthly_notices(month, company))
        report = reports.monthly(code, projects, month, submissions, notices, now.date(), company)
        report["unit_name"] = unit_name
        return report, report_tables.monthly(report, unit_name), f"{unit_name}{month}月度质量报告"
    # Each report reads only its own records: the complaints; the submissions of the months;
    # the notices issued or due in the months (the rectification rate counts those due).
    if kind == "complaints":
        report = reports.complaint_report(store.find("complaints", projects), months, now)
        tables = report_tables.complaints(report)
    elif kind == "inspections":
        submissions = store.report_submissions(projects, months)
        report = reports.inspection_report(submissions, months, projects, company)
        tables = report_tables.inspections(report)
    else:
        submissions = store.report_submissions(projects, months)
        notices = store.report_notices(projects, [{"months": months}])
        items = store.find("complaints", projects)
        report = reports.objectives(submissions, items, notices, months, now.date(), now, company)
        tables = report_tables.objectives(report)
    report["unit"], report["unit_name"] = code, unit_name
    return report, tables, f"{unit_name}{months[0]}至{months[-1]}{KINDS[kind]}"


# Pages ---------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    user = principal(request)
    company = request.app.state.company
    names, visible = company.project_names(), user.visible_projects()
    if visible is None:
        units = {"ALL": "全公司", **company.branches, **names}
    else:  # a 管理处 since removed from the configuration still shows, by its code
        units = {code: names.get(code, code) for code in visible}
    return render(
        request,
        "reports.html",
        {"units": units, "kinds": KINDS, "month": request.app.state.store.now().strftime("%Y-%m")},
    )


async def report_page(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        raise HTTPError(404, f"没有报表“{kind}”")
    report, tables, title = build(request, kind)
    fmt = request.query_params.get("format", "html")
    if fmt == "csv":
        return download(export.tables_csv(tables), "text/csv; charset=utf-8", f"{title}.csv")
    if fmt == "xlsx":
        content = workbook.workbook(tables, request.app.state.company.name)
        return download(
            content,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{title}.xlsx",
        )
    if fmt != "html":
        raise HTTPError(422, "查询参数有误", errors={"format": "format 应为 html、csv 或 xlsx"})
    query = urllib.parse.urlencode({k: v for k, v in request.query_params.items() if k != "format"})
    return render(
        request,
        "report.html",
        {
            "kind": kind,
            "title": title,
            "report": report,
            "tables": tables,
            "chart": _chart(kind, report),
            "query": query,
            "kinds": KINDS,
        },
    )


def _chart(kind: str, report: dict) -> str:
    if kind == "monthly":
        rows = report["projects"]
        return charts.bars([r["name"] for r in rows], [r["rate"] for r in rows],
                           f"{report['month']} 各管理处不合格项整改合格率", unit="%", high=100)  # fmt: skip
    if kind == "complaints":
        return charts.pareto(report["pareto"])
    if kind == "inspections":
        series = {report["projects"][p]: values for p, values in report["trend"].items()}
        return charts.lines(report["months"], series, "检查平均得分趋势", high=100)
    if kind == "objectives":
        measured = [
            o
            for o in report["objectives"]
            if o["values"] and o["unit"] == "%" and o["target"] is not None
        ]
        return "".join(
            charts.lines(report["months"], {o["name"]: o["values"]}, f"{o['name']}（目标 {o['target']:g}%）",
                         target=o["target"], high=100, unit="%")
            for o in measured
        )  # fmt: skip
    return ""


async def report_json(request: Request) -> JSONResponse:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        raise HTTPError(404, f"没有报表“{kind}”")
    report, _, title = build(request, kind)
    return JSONResponse({"kind": kind, "title": title, **report})
