"""Reports the procedures demand, computed from stored records by pure functions.

Every function takes plain lists of stored documents (submissions, notices,
complaints) and the company configuration, and returns JSON-ready dicts: the
same dict feeds the HTML page, the JSON endpoint, the CSV and the workbook.

* `monthly` — 月度质量报告 of a 管理处 or a 分公司 (QP-10 §4.9, QP-11): 考核评分汇总表,
  物业管理质量检查报告, 不合格项整改情况表 and the A/B/C grade, due on the 5th of
  the following month.
* `complaint_report` — complaints by category (Pareto), 管理处, urgency and month.
* `inspection_report` — average inspection scores per 管理处 and month (trends).
* `objectives` — the quality objectives of QM-02 against their targets, month by month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from fractions import Fraction

from forms_server import complaints, grading, rectification

SATISFIED = ("满意", "基本满意")


# Helpers ---------------------------------------------------------------------


def month_range(first: str, last: str) -> list[str]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = grading.next_month(month)
    return months


def months_back(month: str, count: int) -> str:
    """The month ``count`` months before ``month`` (YYYY-MM)."""
    year, number = int(month[:4]), int(month[5:7]) - count
    while number < 1:
        year, number = year - 1, number + 12
    return f"{year}-{number:02d}"


def due_date(month: str) -> str:
    """Monthly reports are due by the 5th of the following month (QP-10 §4.9)."""
    return f"{grading.next_month(month)}-05"


def percent(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value) * 100, 1)


def ratio(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def in_month(doc: dict, month: str, key: str = "record_date") -> bool:
    return (doc.get(key) or "")[:7] == month


def _score(doc: dict) -> float | None:
    score = doc.get("score") or {}
    return score.get("score")


# Monthly quality report (per 管理处 or 分公司) ------------------------------------


def assessment(submissions: list[dict], project: str, month: str, company) -> dict:
    """考核评分汇总: the 管理处 score of the month = average of its assessors' scores.

    In a month with a company half-year audit, the audit's scores are used
    (QP-11 §4.6); otherwise the 分公司 monthly assessment's.
    """
    rows = [
        s
        for s in submissions
        if s["form"] == company.assessment_form and s["project"] == project and in_month(s, month)
    ]
    audit = [s for s in rows if s["values"].get("batch") in company.audit_batches]
    monthly = [s for s in rows if s["values"].get("batch") in company.monthly_batches]
    used = sorted(audit or monthly, key=lambda s: s["number"])
    assessors = [{"assessor": s["values"].get("assessor") or s["submitted_by"], "score": _score(s), "number": s["number"],
                  "batch": s["values"].get("batch")} for s in used if _score(s) is not None]  # fmt: skip
    average = grading.average([a["score"] for a in assessors])
    return {
        "batch": "公司半年稽查" if audit else ("分公司月度考核" if monthly else None),
        "assessors": assessors,
        "score": float(average) if average is not None else None,
        "pay_adjustment": grading.pay_adjustment(average),
    }


class _Notices:
    """One 管理处's notices sorted once into months (issued, due) and the overdue ones,
    so that counting a month touches only that month's notices."""

    def __init__(self) -> None:
        self.issued: dict[str, list[dict]] = defaultdict(list)
        self.due: dict[str, list[dict]] = defaultdict(list)
        self.overdue: list[str] = []

    def add(self, notice: dict, as_of: dt.date) -> str:
        """File ``notice``; returns the month it was issued in."""
        issued = (notice.get("issued_on") or "")[:7]
        self.issued[issued].append(notice)
        self.due[rectification.month_of(notice["deadline"])].append(notice)
        if notice["status"] == rectification.OPEN and rectification.is_overdue(notice, as_of):
            self.overdue.append(notice["number"])
        return issued


def _graded(notices: _Notices, month: str, as_of: dt.date, company) -> tuple:
    """What the month's grade rests on: the counted forms' serious and general
    nonconformities, and their rectification (due, passed, rate)."""
    counted = [
        n for n in notices.issued.get(month, ()) if n["source_form"] in company.counted_forms
    ]
    counted_due = [
        n for n in notices.due.get(month, ()) if n["source_form"] in company.counted_forms
    ]
    serious = sum(1 for n in counted if n["severity"] == "严重")
    general = sum(1 for n in counted if n["severity"] == "一般")
    return (serious, general, *rectification.rate(counted_due, month, as_of))


def _counts(notices: _Notices, month: str, graded: tuple, as_of: dt.date) -> dict:
    """Nonconformities and rectification of one unit's notices for the month (``graded``:
    what `_graded` found for it)."""
    issued = notices.issued.get(month, [])
    serious, general, due, passed, rate = graded
    all_due, all_passed, all_rate = rectification.rate(notices.due.get(month, []), month, as_of)
    return {
        "issued": len(issued),
        "serious": serious,
        "general": general,
        "due": due,
        "passed": passed,
        "rate": rate,
        "all_due": all_due,
        "all_passed": all_passed,
        "all_rate": percent(all_rate),
        "overdue": sorted(notices.overdue),
        "reissued": sorted(n["number"] for n in issued if n["reissued"]),
    }


def _sum_counts(counts: list[dict]) -> dict:
    """A 分公司's or the company's figures from its 管理处's (a notice belongs to one)."""
    total = {key: sum(c[key] for c in counts) for key in
             ("issued", "serious", "general", "due", "passed", "all_due", "all_passed")}  # fmt: skip
    return {
        **{key: total[key] for key in ("issued", "serious", "general", "due", "passed")},
        "rate": ratio(total["passed"], total["due"]),
        "all_due": total["all_due"],
        "all_passed": total["all_passed"],
        "all_rate": percent(ratio(total["all_passed"], total["all_due"])),
        "overdue": sorted(number for c in counts for number in c["overdue"]),
        "reissued": sorted(number for c in counts for number in c["reissued"]),
    }


def inspections_of(submissions: list[dict], month: str) -> list[dict]:
    """Scored or checked inspections of the month, grouped by form."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for s in submissions:
        if s.get("score") is not None and in_month(s, month):
            groups[s["form"]].append(s)
    out = []
    for form, docs in sorted(groups.items()):
        scores = [_score(d) for d in docs if _score(d) is not None]
        out.append({
            "form": form,
            "title": docs[0].get("form_title", ""),
            "count": len(docs),
            "average": float(grading.average(scores)) if scores else None,
            "serious": sum(d["score"].get("serious", 0) for d in docs),
            "general": sum(d["score"].get("general", 0) for d in docs),
        })  # fmt: skip
    return out


def monthly(unit: str, projects: list[str], month: str, submissions: list[dict], notices: list[dict], as_of: dt.date,
            company, previous_months: int = 5) -> dict:  # fmt: skip
    """月度质量报告 of one 管理处 (``projects`` = [code]) or one 分公司 (its 管理处)."""
    subs = [s for s in submissions if s.get("project") in projects]
    assessed = [s for s in subs if s["form"] == company.assessment_form]
    history_months = month_range(months_back(month, previous_months), month)
    own_notices = {project: _Notices() for project in projects}
    serious_notices = []  # the unit's serious nonconformities of the month, in the given order
    for n in notices:
        own = own_notices.get(n.get("project"))
        if own is not None and own.add(n, as_of) == month and n["severity"] == "严重":
            serious_notices.append(n)
    project_rows, project_counts = [], []
    for project in projects:
        own = own_notices[project]
        # Each month graded once: the report's month is the last of its history.
        graded = {m: _graded(own, m, as_of, company) for m in history_months}
        grades = {m: grading.monthly_grade(serious, general, rate)
                  for m, (serious, general, _, _, rate) in graded.items()}  # fmt: skip
        counts = _counts(own, month, graded[month], as_of)
        project_counts.append(counts)
        grade = grades[month]
        history = {m: g.grade for m, g in grades.items()}
        flags = grading.consecutive_flags(history)
        project_rows.append({
            "project": project,
            "name": company.projects[project].name,
            "assessment": assessment(assessed, project, month, company),
            **{k: v for k, v in counts.items() if k != "rate"},
            "rate": percent(counts["rate"]),
            "grade": grade.grade,
            "quality_score": grade.score,
            "grade_by_count": grade.by_count,
            "grade_by_rate": grade.by_rate,
            "flag": flags.get(month),
            "grades": history,
        })  # fmt: skip
    scores = [
        r["assessment"]["score"] for r in project_rows if r["assessment"]["score"] is not None
    ]
    branch_score = grading.average(scores)
    totals = _sum_counts(project_counts)
    unit_grade = grading.monthly_grade(totals["serious"], totals["general"], totals["rate"])
    serious_items = [
        {
            "number": n["number"],
            "project": n["project"],
            "item": n["item_text"],
            "source": n["source"],
            "status": n["status"],
        }
        for n in serious_notices
    ]
    return {
        "unit": unit,
        "month": month,
        "due": due_date(month),
        "as_of": as_of.isoformat(),
        "projects": project_rows,
        "unit_score": float(branch_score) if branch_score is not None else None,
        "unit_pay_adjustment": grading.pay_adjustment(branch_score),
        "totals": {
            **{k: v for k, v in totals.items() if k != "rate"},
            "rate": percent(totals["rate"]),
            "grade": unit_grade.grade,
            "quality_score": unit_grade.score,
        },  # fmt: skip
        "inspections": inspections_of(subs, month),
        "serious_items": serious_items,
    }


def monthly_notices(month: str, company, previous_months: int = 5) -> list[dict]:
    """The notices `monthly` reads, as selections for `Store.report_notices`; the report over
    them is the report over all notices. The month's own figures need every notice issued or
    due in it; the grades of the months before, only those of the counted forms; the overdue
    list, every notice still open."""
    window = month_range(months_back(month, previous_months), month)
    return [
        {"months": [month]},
        {"months": window, "forms": list(company.counted_forms)},
        {"status": rectification.OPEN},
    ]


# Complaints ----------------------------------------------------------------------


def complaint_report(items: list[dict], months: list[str], now: dt.datetime) -> dict:
    """Counts by category (with the Pareto cumulative share), 管理处, urgency and month, and the KPIs."""
    chosen = [c for c in items if c["received_at"][:7] in months]
    by_category = Counter(c["category"] for c in chosen)
    pareto, running = [], 0
    for category, count in by_category.most_common():
        running += count
        pareto.append(
            {
                "category": category,
                "count": count,
                "cumulative": round(running / len(chosen) * 100, 1),
            }
        )
    per_month = [
        {"month": month, **figures} for month, figures in kpis_by_month(chosen, months, now).items()
    ]
    return {
        "months": months,
        "total": len(chosen),
        "pareto": pareto,
        "by_project": dict(sorted(Counter(c["project"] for c in chosen).items())),
        "by_urgency": dict(sorted(Counter(c["urgency"] for c in chosen).items())),
        "by_month": per_month,
        "kpis": kpis(chosen, now),
    }


def kpis_by_month(items: list[dict], months: list[str], now: dt.datetime) -> dict[str, dict]:
    """`kpis` of the complaints received in each of ``months``."""
    received: dict[str, list[dict]] = defaultdict(list)
    for c in items:
        received[c["received_at"][:7]].append(c)
    return {month: kpis(received.get(month, []), now) for month in months}


def kpis(items: list[dict], now: dt.datetime) -> dict:
    valid = [c for c in items if not (c.get("close_reason") or "").startswith("非有效投诉")]
    resolved = [c for c in valid if complaints.on_time(c) is not None]
    on_time = [c for c in resolved if complaints.on_time(c)]
    # A complaint closed as 无法回访 was resolved but never visited: it lowers the visit rate.
    visited = [c for c in resolved if c["rounds"][-1].get("visited_at")]
    satisfied = [c for c in visited if c.get("satisfaction") in SATISFIED]
    closed = [c for c in valid if c["state"] == "关闭"]
    return {
        "received": len(items),
        "valid": len(valid),
        "closed": len(closed),
        "closure_rate": percent(ratio(len(closed), len(valid))),
        "on_time_rate": percent(ratio(len(on_time), len(resolved))),
        "visit_rate": percent(ratio(len(visited), len(resolved))),
        "satisfaction_rate": percent(ratio(len(satisfied), len(visited))),
        "overdue": sum(1 for c in items if complaints.is_overdue(c, now)),
    }


# Inspections -----------------------------------------------------------------------


def inspection_report(
    submissions: list[dict], months: list[str], projects: list[str], company
) -> dict:
    """Average score of scored inspections per 管理处 and month, overall and per form."""
    scored = [
        s
        for s in submissions
        if _score(s) is not None and s["record_date"][:7] in months and s["project"] in projects
    ]
    by_project: dict[tuple[str, str], list] = defaultdict(list)
    for s in scored:
        by_project[s["project"], s["record_date"][:7]].append(_score(s))
    trend = {p: [_mean(by_project.get((p, m))) for m in months] for p in projects}
    forms: dict[str, dict] = {}
    for s in scored:
        entry = forms.setdefault(
            s["form"],
            {"form": s["form"], "title": s.get("form_title", ""), "scores": defaultdict(list)},
        )
        entry["scores"][s["record_date"][:7]].append(_score(s))
    by_form = [
        {"form": f["form"], "title": f["title"],
         "averages": [_mean(f["scores"].get(m)) for m in months],
         "count": sum(len(v) for v in f["scores"].values())}
        for f in sorted(forms.values(), key=lambda f: f["form"])
    ]  # fmt: skip
    return {
        "months": months,
        "projects": {p: company.projects[p].name for p in projects},
        "trend": trend,
        "by_form": by_form,
        "count": len(scored),
    }


def _mean(scores: list | None) -> float | None:
    return float(grading.average(scores)) if scores else None


# Quality objectives ----------------------------------------------------------------


def objectives(submissions: list[dict], items: list[dict], notices: list[dict], months: list[str], as_of: dt.date,
               now: dt.datetime, company) -> dict:  # fmt: skip
    """Each measured objective of QM-02, month by month, against its target."""
    survey = [s for s in submissions if s["form"] == company.satisfaction_form]
    complaint_kpis = kpis_by_month(items, months, now)
    rows = []
    measured = {
        "satisfaction": lambda m: _survey_rate(survey, m, company.satisfaction_field),
        "complaint_on_time": lambda m: complaint_kpis[m]["on_time_rate"],
        "complaint_visit": lambda m: complaint_kpis[m]["visit_rate"],
        "rectification": lambda m: percent(rectification.rate(notices, m, as_of)[2]),
    }
    for objective in company.objectives:
        fn = measured.get(objective.key)
        values = [fn(m) for m in months] if fn else None
        rows.append({
            "key": objective.key,
            "name": objective.name,
            "comparison": objective.comparison,
            "target": objective.target,
            "unit": objective.unit,
            "values": values,
            "met": [None if v is None else meets(v, objective.comparison, objective.target) for v in values] if values else None,
            "source": "系统统计" if fn else "人工统计（本系统不采集）",
        })  # fmt: skip
    closure = [complaint_kpis[m]["closure_rate"] for m in months]
    rows.append({"key": "complaint_closure", "name": "投诉结案率", "comparison": None, "target": None, "unit": "%",
                 "values": closure, "met": [None] * len(months), "source": "系统统计（跟踪指标，无目标值）"})  # fmt: skip
    return {"months": months, "objectives": rows}


def _survey_rate(survey: list[dict], month: str, field: str) -> float | None:
    answers = [
        s["values"].get(field)
        for s in survey
        if s["record_date"][:7] == month and s["values"].get(field)
    ]
    return percent(ratio(sum(1 for a in answers if a in SATISFIED), len(answers)))


def meets(value: float, comparison: str, target: float) -> bool:
    return {">=": value >= target, ">": value > target, "<": value < target, "<=": value <= target}[
        comparison
    ]
