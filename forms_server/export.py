"""CSV export of records, laid out with the definition's columns."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from forms_server.definitions import FormDef

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A CSV cell that a spreadsheet will show as text, never run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        value = "、".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(rows: Iterable[Sequence]) -> bytes:
    """Every export's CSV: UTF-8 with BOM so that Excel opens Chinese text correctly, each
    value a `cell`."""
    out = io.StringIO()
    csv.writer(out).writerows([cell(v) for v in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def submissions_csv(rows: list[dict], form: FormDef | None, projects: dict[str, str]) -> bytes:
    header = [
        "记录编号",
        "表格",
        "版本",
        "管理处",
        "记录日期",
        "提交人",
        "提交时间",
        "得分",
        "等级",
        "一般不合格",
        "严重不合格",
    ]
    fields = list(form.fields) if form else []
    items = list(form.items) if form else []
    header += [f.label for f in fields] + [f"{i.key} {i.text}" for i in items]
    lines = [header]
    for doc in rows:
        score = doc.get("score") or {}
        row = [
            doc["number"],
            doc["form"],
            doc["form_version"],
            projects.get(doc.get("project") or "", doc.get("project")),
            doc.get("record_date"),
            doc["submitted_by"],
            doc["submitted_at"],
            score.get("score"),
            score.get("grade"),
            score.get("general"),
            score.get("serious"),
        ]
        row += [doc["values"].get(f.key) for f in fields]
        for item in items:
            answer = doc.get("items", {}).get(item.key, {})
            row.append(answer.get("result") if "result" in answer else answer.get("count"))
        lines.append(row)
    return csv_bytes(lines)


def tables_csv(tables) -> bytes:
    """Several report tables in one CSV: each block has its title line, then header and rows."""
    lines: list[Sequence] = []
    for n, table in enumerate(tables):
        if n:
            lines.append([])
        lines += [[table.title], table.headers, *table.rows]
        if table.note:
            lines.append([table.note])
    return csv_bytes(lines)
