"""The evidence package an auditor takes away: one zip for a period.

Contents (names in Chinese, CSV in UTF-8 with BOM so Excel opens them)::

    说明.txt                      what is inside, the period, who exported it, and the
                                  result of the history-chain verification with its head hash
    记录/<表格编号> <名称>.csv     every record dated in the period, one file per form
    投诉.csv  整改通知书.csv  复查记录.csv
    报表/<月份>月度质量报告.xlsx    each month of the period, whole company
    报表/投诉统计报告.xlsx  检查得分趋势.xlsx  质量目标完成情况.xlsx   over the period
    文件阅读确认.xlsx               the acknowledgement matrix of the documents in force
    变更历史.csv                    every history entry made in the period: each changed value
                                  (field, old, new, as on the record's history page) and the hashes

Telephone numbers are masked in the package: it leaves the system.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from forms_server import acknowledgements as ack
from forms_server import audit, export, report_views, reports, workbook
from forms_server.records import mask_phone
from forms_server.validation import parse_iso_date

MAX_MONTHS = 24


def period_problems(date_from: str, date_to: str) -> dict[str, str]:
    """Field errors of a requested period (empty when it is usable)."""
    errors = {}
    parsed = {}
    for name, value in (("from", date_from), ("to", date_to)):
        parsed[name] = parse_iso_date(value)
        if parsed[name] is None:
            errors[name] = f"{name} 应为日期，如 2026-11-01"
    if errors:
        return errors
    if parsed["from"] > parsed["to"]:
        errors["from"] = "起始日期不能晚于结束日期"
    elif len(_months(parsed["from"], parsed["to"])) > MAX_MONTHS:
        errors["from"] = f"一次最多导出 {MAX_MONTHS} 个月"
    return errors


def _months(first: dt.date, last: dt.date) -> list[str]:
    return reports.month_range(first.strftime("%Y-%m"), last.strftime("%Y-%m"))


def _in(day: str | None, first: str, last: str) -> bool:
    return bool(day) and first <= day[:10] <= last


def _masked(doc: dict, form) -> dict:
    phones = [f.key for f in form.fields if f.type == "phone"] if form else []
    if not phones:
        return doc
    values = {
        k: mask_phone(v) if k in phones and isinstance(v, str) else v
        for k, v in doc["values"].items()
    }
    return {**doc, "values": values}


def build(state, date_from: str, date_to: str, by: str, verification: dict) -> bytes:
    """The zip for records dated ``date_from``–``date_to`` (ISO dates, checked by the caller)."""
    store, company, forms = state.store, state.company, state.forms
    names = company.project_names()
    first, last = date_from, date_to
    months = _months(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    files: dict[str, bytes] = {}

    submissions = store.find_submissions(date_from=first, date_to=last)
    by_form: dict[str, list[dict]] = {}
    for doc in sorted(submissions, key=lambda d: d["number"]):
        by_form.setdefault(doc["form"], []).append(doc)
    for code, docs in sorted(by_form.items()):
        form = forms.get(code)
        title = form.title if form else ""
        files[f"记录/{code} {title}.csv".replace("  ", " ")] = export.submissions_csv(
            [_masked(d, form) for d in docs], form, names
        )

    complaints = [c for c in store.find("complaints") if _in(c.get("received_at"), first, last)]
    files["投诉.csv"] = export.csv_bytes([
        ["投诉编号", "管理处", "类别", "紧急程度", "业主", "房号", "联系电话", "投诉内容", "受理时间",
         "状态", "班组", "处理人", "满意度", "回访方式", "结案时间", "结案原因"],
        *[[c["number"], names.get(c["project"], c["project"]), c.get("category"), c.get("urgency"),
          c.get("owner_name"), c.get("room"), mask_phone(c["phone"]) if c.get("phone") else "", c.get("content"),
          c.get("received_at"), c.get("state"), c.get("team"), c.get("handler"), c.get("satisfaction"),
          c.get("visit_method"), c.get("closed_at"), c.get("close_reason")] for c in sorted(complaints, key=lambda c: c["number"])],
    ])  # fmt: skip
    notices = [n for n in store.find("notices") if _in(n.get("issued_on"), first, last)]
    files["整改通知书.csv"] = export.csv_bytes([
        ["通知书编号", "管理处", "责任部门", "不合格项", "程度", "事实描述", "签发人", "签发日期", "整改期限",
         "状态", "第几次通知", "复查记录", "复查结论", "关闭日期", "来源检查", "上一次通知", "再次通知"],
        *[[n["number"], names.get(n["project"], n["project"]), n.get("department"), n.get("item_text"), n.get("severity"),
          n.get("description"), n.get("issued_by"), n.get("issued_on"), n.get("deadline"), n.get("status"), n.get("round"),
          n.get("reinspection"), n.get("result"), n.get("closed_on"), n.get("source"), n.get("previous"), n.get("next")]
         for n in sorted(notices, key=lambda n: n["number"])],
    ])  # fmt: skip
    checks = [r for r in store.find("reinspections") if _in(r.get("at"), first, last)]
    files["复查记录.csv"] = export.csv_bytes([
        ["复查编号", "来源检查", "复查人", "复查时间", "复查的通知书", "再次通知"],
        *[[r["number"], r["source"], r.get("by"), r.get("at"), "、".join(r.get("notices", [])),
          "、".join(r.get("reissued", []))] for r in sorted(checks, key=lambda r: r["number"])],
    ])  # fmt: skip

    unit = ("ALL", company.name, list(company.projects))
    for month in months:
        _, tables, title = report_views.compute(state, "monthly", unit, [month])
        files[f"报表/{month} 月度质量报告.xlsx"] = workbook.workbook(tables, company.name)
    for kind in ("complaints", "inspections", "objectives"):
        _, tables, title = report_views.compute(state, kind, unit, months)
        files[f"报表/{report_views.KINDS[kind]}.xlsx"] = workbook.workbook(tables, company.name)

    manual = state.manual.get()
    matrix = ack.matrix_for(
        manual, store.list_users(), store.search_acknowledgements(), store.now().date()
    )
    files["文件阅读确认.xlsx"] = workbook.workbook(
        [ack.matrix_table(matrix, names, manual)], company.name
    )

    numbers = store.record_numbers()
    period = [e for e in store.search("history") if _in(e["at"], first, last)]
    history = audit.entries(sorted(period, key=lambda e: e["seq"]))
    files["变更历史.csv"] = export.csv_bytes([
        ["序号", "时间", "操作人", "数据表", "记录", "操作", "字段", "原值", "新值", "本条哈希", "上一条哈希"],
        *[[e["seq"], e["at"], e["by"], e["table"], numbers.get((e["table"], e["record"]), e["record"]),
           e["action"], field, old, new, e["hash"], e["prev"]] for e, field, old, new in audit.change_lines(history)],
    ])  # fmt: skip

    verdict = audit.verdict(verification, store)
    files = {
        "说明.txt": _readme(company, first, last, by, store.now(), verdict, manual, files),
        **files,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return out.getvalue()


def _readme(company, first, last, by, now, verdict: audit.Verdict, manual, files) -> bytes:
    lines = [
        f"{company.name} 质量管理体系审核证据",
        "",
        f"期间：{first} 至 {last}",
        f"导出：{now.isoformat(timespec='seconds')}，{by}",
        f"手册版本：{manual.label or '未知'}",
        "",
        str(verdict),
        "",
        "内容：",
        *[f"  {name}" for name in files],
        "",
        "说明：记录按记录日期、投诉按受理时间、整改通知书按签发日期、复查按复查时间、变更历史按变更时间归入期间；",
        "报表按期间内各月份计算（全公司）；文件阅读确认为导出时的状态。联系电话已部分隐去。",
        "CSV 文件为 UTF-8 编码，可直接用 Excel 打开。",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")
