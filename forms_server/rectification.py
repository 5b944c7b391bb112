"""The rectification loop of QP-10 §4.8 as pure functions: 不合格 → 整改通知书 → 复查.

* Every nonconforming item of an inspection gets a notice (QR-10-20) addressed to
  the form's responsible team, due 7 days after issue (data/qms.yml).
* A re-inspection (复查) re-rates only the open notices of the original
  inspection: 合格 closes a notice; 不合格 (or not rectified) re-issues it as a
  new notice due in 3 days, flagged for company-wide 通报 and for a deduction in
  the next assessment. Notices, inspection and re-inspections link both ways.
* 整改合格率 of a month = notices due that month and re-inspected 合格 ÷ notices
  due that month (QP-11 §4.2); a notice past its deadline and not re-inspected
  counts as not rectified; a month with nothing due counts as 100%.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction

OPEN, CLOSED, FAILED = "待整改", "已关闭", "复查不合格"
RESULTS = ("合格", "不合格")


def notices_for(submission: dict, department: str, issued: dt.date, config) -> list[dict]:
    """One notice per nonconforming item of a scored or checked inspection."""
    score = submission.get("score") or {}
    deadline = issued + dt.timedelta(days=config.rectification_days)
    return [
        {
            "source": submission["number"],
            "source_form": submission["form"],
            "source_title": submission.get("form_title", ""),
            "item": nc["item"],
            "item_text": nc["text"],
            "section": nc["section"],
            "project": submission.get("project"),
            "department": department,
            "description": nc.get("note") or nc["text"],
            "location": nc.get("location", ""),
            "photos": list(nc.get("photos", [])),
            "severity": nc["severity"],
            "issued_by": submission["submitted_by"],
            "issued_on": issued.isoformat(),
            "deadline": deadline.isoformat(),
            "status": OPEN,
            "round": 1,
            "previous": None,
            "next": None,
            "reissued": False,
            "notify_company": False,
            "deduct_next": False,
            "reinspection": None,
            "result": None,
            "result_note": "",
            "closed_on": None,
        }
        for nc in score.get("nonconformities", [])
    ]


def reinspect(open_notices: list[dict], results: dict[str, dict], today: dt.date, by: str, config
              ) -> tuple[list[dict], list[dict], dict[str, str]]:  # fmt: skip
    """Apply a re-inspection. Returns (updated notices, re-issued notices, errors by notice number).

    ``results`` maps each open notice's number to {"result": 合格|不合格, "note": …}.
    Every open notice must be rated, and nothing else.
    """
    errors: dict[str, str] = {}
    numbers = {n["number"] for n in open_notices}
    for number in results:
        if number not in numbers:
            errors[number] = f"整改通知书 {number} 不是本次检查尚未关闭的不合格项"
    for notice in open_notices:
        answer = results.get(notice["number"]) or {}
        if answer.get("result") not in RESULTS:
            errors[notice["number"]] = f"{notice['item_text']}：请复查评定合格或不合格"
        elif len(str(answer.get("note", ""))) > 500:
            errors[notice["number"]] = f"{notice['item_text']}：说明最多 500 个字"
    if not open_notices:
        errors[""] = "这次检查没有未关闭的不合格项，无需复查"
    if errors:
        return [], [], errors
    updated, reissued = [], []
    for notice in open_notices:
        answer = results[notice["number"]]
        note = str(answer.get("note", "")).strip()
        if answer["result"] == "合格":
            updated.append(
                {
                    **notice,
                    "status": CLOSED,
                    "result": "合格",
                    "result_note": note,
                    "closed_on": today.isoformat(),
                    "reinspected_by": by,
                }
            )
            continue
        again = {
            **notice,
            "round": notice["round"] + 1,
            "previous": notice["number"],
            "next": None,
            "issued_by": by,
            "issued_on": today.isoformat(),
            "deadline": (today + dt.timedelta(days=config.reissue_days)).isoformat(),
            "status": OPEN,
            "reissued": True,
            "notify_company": True,
            "deduct_next": True,
            "reinspection": None,
            "result": None,
            "result_note": "",
            "closed_on": None,
            "description": notice["description"]
            + (f"（复查：{note}）" if note else "（复查不合格，再次通知）"),
        }
        reissued.append(again)
        updated.append(
            {
                **notice,
                "status": FAILED,
                "result": "不合格",
                "result_note": note,
                "closed_on": today.isoformat(),
                "reinspected_by": by,
            }
        )
    return updated, reissued, {}


def reinspection_record(inspection: dict, rated: list[dict], results: dict[str, dict]) -> dict:
    """The re-inspection record (复查记录) of ``inspection``: the results of the notices
    rated (the store numbers it and links the notices)."""
    numbers = {n["number"] for n in rated}
    return {
        "project": inspection["project"],
        "form": inspection["form"],
        "results": {k: v for k, v in results.items() if k in numbers},
    }


def to_deduct(
    assessments: list[dict], notices: list[dict], projects: list[str]
) -> dict[str, list[dict]]:
    """The re-issued notices of each of ``projects`` issued after its latest assessment (by
    the assessment's own date, whenever it was entered): the next assessment deducts them
    (QP-10 §4.8). Only 管理处 with some appear, in the order of ``projects``."""
    since: dict[str, str] = {}
    for a in assessments:
        since[a["project"]] = max(since.get(a["project"], ""), a["record_date"])
    flagged: dict[str, list[dict]] = defaultdict(list)
    for n in notices:
        if n["reissued"] and n["issued_on"] > since.get(n["project"], ""):
            flagged[n["project"]].append(n)
    return {code: flagged[code] for code in projects if code in flagged}


def is_overdue(notice: dict, today: dt.date) -> bool:
    return notice["status"] == OPEN and dt.date.fromisoformat(notice["deadline"]) < today


def month_of(date_text: str) -> str:
    return date_text[:7]


def rate(notices: list[dict], month: str, as_of: dt.date) -> tuple[int, int, Fraction | None]:
    """(due, passed, rate) for notices whose deadline falls in ``month`` (YYYY-MM) and has passed by ``as_of``.

    The rate is None when nothing was due (QP-11 counts that month as 100%).
    """
    today = as_of.isoformat()  # deadlines are ISO dates: as text they sort as dates
    due = [n for n in notices if month_of(n["deadline"]) == month and n["deadline"] <= today]
    passed = [n for n in due if n.get("result") == "合格"]
    return len(due), len(passed), (Fraction(len(passed), len(due)) if due else None)
