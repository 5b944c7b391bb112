"""The monthly quality report over a year of records: this store vs the same report in SQLite.

The data: the demonstration generator (`forms_server.demo`, the real validation,
scoring and workflow code) runs for twelve months; its submissions and the
整改通知书 they started are then cloned, each clone a new record with its own
number on the same day and 管理处, until there are N submissions (100 000 in
full mode) over ~12 months and 4 管理处. The notices keep the demo's proportion
(close to one per checklist).

Timed, alternately:

* ours: ``report_views.compute(state, "monthly", unit, [month])``, exactly what
  ``GET /api/reports/monthly`` runs: the store query, then `reports.monthly`;
* SQLite: the same report from two tables with a column per reported field,
  indexed by date, aggregated with GROUP BY (what a SQLite-backed application
  would do). Its figures are checked against ours before timing.

Target: ours within 2× of SQLite (median).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
import types
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from forms_server import config, demo, grading, journal, report_views, reports
from forms_server.definitions import load_dir
from forms_server.settings import PROJECT_DIR
from forms_server.store import Store

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=TZ)
MONTH = "2026-10"  # the last complete month: the report people print on 11-05


# Data --------------------------------------------------------------------------


def demo_tables(root: Path, months: int) -> dict[str, dict]:
    """Tables of a data directory filled by the demo generator (real validation and workflows)."""
    data = root / "demo"
    company = config.load(PROJECT_DIR / "data" / "qms.yml")
    forms = load_dir(PROJECT_DIR / "data" / "forms", PROJECT_DIR).forms
    store = Store(data, demo.Clock(NOW)).open()
    try:
        demo.run(types.SimpleNamespace(store=store, forms=forms, company=company), months)
        return {name: dict(docs) for name, docs in store.tables.items()}
    finally:
        store.close(compact=False)


def _renumber(number: str, copy: int) -> str:
    prefix, _, seq = number.rpartition("-")
    return f"{prefix}-{copy * 1000 + int(seq):04d}"


def scale(tables: dict[str, dict], n: int) -> dict[str, dict]:
    """Clone submissions (with their notices) until there are ``n``; copy 0 is the original."""
    originals = sorted(tables["submissions"].items(), key=lambda kv: int(kv[0]))
    notices_of: dict[str, list[dict]] = defaultdict(list)
    for notice in sorted(tables.get("notices", {}).values(), key=lambda d: d["number"]):
        notices_of[notice["source"]].append(notice)
    submissions: dict[str, dict] = {}
    notices: dict[str, dict] = {}
    copy = 0
    while len(submissions) < n:
        for _, doc in originals:
            if len(submissions) >= n:
                break
            number = doc["number"] if copy == 0 else _renumber(doc["number"], copy)
            submissions[str(len(submissions) + 1)] = {**doc, "number": number}
            for notice in notices_of.get(doc["number"], ()):
                if copy == 0:
                    clone = notice
                else:
                    clone = {
                        **notice,
                        "number": _renumber(notice["number"], copy),
                        "source": number,
                    }
                    for link in ("previous", "next"):
                        if clone.get(link):
                            clone[link] = _renumber(clone[link], copy)
                notices[str(len(notices) + 1)] = clone
        copy += 1
    return {**tables, "submissions": submissions, "notices": notices}


# SQLite: the same report in SQL ---------------------------------------------------------
#
# Two layouts of the same data. "documents": each record's JSON in one column, as this
# store and the other benchmarks keep it, with an index on each field the report selects
# by (SQLite indexes expressions); "columns": a table with a column per reported field.
# The queries are the same text; only the field expressions differ.

FIELDS = {
    "submissions": ("number", "form", "project", "record_date", "values.batch", "score.score",
                    "score.serious", "score.general"),
    "notices": ("number", "project", "source", "source_form", "item_text", "severity",
                "issued_on", "deadline", "status", "result", "reissued"),
}  # fmt: skip
INDEXES = {
    "submissions": (("record_date",), ("form", "record_date")),
    "notices": (("issued_on",), ("deadline",), ("status",), ("source_form", "issued_on"),
                ("source_form", "deadline")),
}  # fmt: skip


class SQLiteReport:
    def __init__(self, path: Path, tables: dict[str, dict], layout: str):
        self.layout = layout
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # Our store holds everything in memory: let SQLite keep the database in its cache too.
        self.db.execute("PRAGMA cache_size=-1000000")
        self.f = {
            table: {name: self._expr(table, name) for name in names}
            for table, names in FIELDS.items()
        }
        self.f["submissions"]["scored"] = (
            "json_type(doc, '$.score') = 'object'" if layout == "documents" else "scored"
        )
        self.db.execute("BEGIN")
        for table, names in FIELDS.items():
            columns = "" if layout == "documents" else "".join(f", {_col(n)}" for n in names)
            extra = ", scored INTEGER" if layout == "columns" and table == "submissions" else ""
            self.db.execute(
                f"CREATE TABLE {table} (id INTEGER PRIMARY KEY{columns}{extra}, doc TEXT)"
            )
            for fields in INDEXES[table]:
                name = "_".join(_col(x) for x in fields)
                on = ", ".join(self.f[table][x] for x in fields)
                self.db.execute(f"CREATE INDEX {table}_{name} ON {table} ({on})")
            rows = []
            for doc_id, doc in tables[table].items():
                values = [] if layout == "documents" else [_get(doc, n) for n in names]
                if layout == "columns" and table == "submissions":
                    values.append(doc.get("score") is not None)
                rows.append((int(doc_id), *values, json.dumps(doc, ensure_ascii=False)))
            marks = ",".join("?" * len(rows[0]))
            self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        self.db.execute("COMMIT")
        self.db.execute("ANALYZE")

    def _expr(self, table: str, name: str) -> str:
        if self.layout == "columns":
            return _col(name)
        return f"json_extract(doc, '$.{name}')"

    def close(self) -> None:
        self.db.close()

    def monthly(self, projects: list[str], month: str, as_of: dt.date, company) -> dict:
        """The figures of the monthly report, aggregated by SQLite (the same records read)."""
        s, n = self.f["submissions"], self.f["notices"]
        p = ",".join("?" * len(projects))
        c = ",".join("?" * len(company.counted_forms))
        counted = (*company.counted_forms,)
        first, last, today = f"{month}-01", f"{month}-31", as_of.isoformat()
        window = reports.month_range(reports.months_back(month, 5), month)
        q = self.db.execute
        inspections = [
            {"form": form, "count": count, "average": None if avg is None else round(avg, 2),
             "serious": serious, "general": general}
            for form, count, avg, serious, general in q(
                f"SELECT {s['form']}, COUNT(*), AVG({s['score.score']}), SUM({s['score.serious']}), "
                f"SUM({s['score.general']}) FROM submissions WHERE {s['record_date']} BETWEEN ? AND ? "
                f"AND {s['project']} IN ({p}) AND {s['scored']} GROUP BY 1 ORDER BY 1",
                (first, last, *projects))
        ]  # fmt: skip
        assessed: dict[str, dict[str, list]] = {x: {"audit": [], "monthly": []} for x in projects}
        for project, batch, score in q(
            f"SELECT {s['project']}, {s['values.batch']}, {s['score.score']} FROM submissions "
            f"WHERE {s['form']} = ? AND {s['record_date']} BETWEEN ? AND ? AND {s['project']} IN ({p}) "
            f"AND {s['score.score']} IS NOT NULL ORDER BY {s['number']}",
            (company.assessment_form, first, last, *projects),
        ):  # fmt: skip
            if batch in company.audit_batches:
                assessed[project]["audit"].append(score)
            elif batch in company.monthly_batches:
                assessed[project]["monthly"].append(score)
        is_counted = f"{n['source_form']} IN ({c})"
        issued = {
            row[0]: row[1:]
            for row in q(
                f"SELECT {n['project']}, COUNT(*), SUM({is_counted} AND {n['severity']} = '严重'), "
                f"SUM({is_counted} AND {n['severity']} = '一般'), SUM({n['reissued']}) FROM notices "
                f"WHERE {n['issued_on']} BETWEEN ? AND ? AND {n['project']} IN ({p}) GROUP BY 1",
                (*counted, *counted, first, last, *projects))
        }  # fmt: skip
        due = {
            row[0]: row[1:]
            for row in q(
                f"SELECT {n['project']}, SUM({is_counted}), SUM({is_counted} AND {n['result']} = '合格'), "
                f"COUNT(*), SUM({n['result']} = '合格') FROM notices WHERE {n['deadline']} BETWEEN ? AND ? "
                f"AND {n['deadline']} <= ? AND {n['project']} IN ({p}) GROUP BY 1",
                (*counted, *counted, first, last, today, *projects))
        }  # fmt: skip
        # The grades of the months before: only the counted forms' notices matter.
        history_issued = {
            (row[0], row[1]): row[2:]
            for row in q(
                f"SELECT {n['project']}, substr({n['issued_on']}, 1, 7), SUM({n['severity']} = '严重'), "
                f"SUM({n['severity']} = '一般') FROM notices WHERE {n['source_form']} IN ({c}) "
                f"AND {n['issued_on']} BETWEEN ? AND ? AND {n['project']} IN ({p}) GROUP BY 1, 2",
                (*counted, f"{window[0]}-01", last, *projects))
        }  # fmt: skip
        history_due = {
            (row[0], row[1]): row[2:]
            for row in q(
                f"SELECT {n['project']}, substr({n['deadline']}, 1, 7), COUNT(*), "
                f"SUM({n['result']} = '合格') FROM notices WHERE {n['source_form']} IN ({c}) "
                f"AND {n['deadline']} BETWEEN ? AND ? AND {n['deadline']} <= ? AND {n['project']} IN ({p}) "
                f"GROUP BY 1, 2",
                (*counted, f"{window[0]}-01", last, today, *projects))
        }  # fmt: skip
        overdue: dict[str, list[str]] = defaultdict(list)
        for project, number in q(
            f"SELECT {n['project']}, {n['number']} FROM notices WHERE {n['status']} = '待整改' "
            f"AND {n['deadline']} < ? AND {n['project']} IN ({p})",
            (today, *projects),
        ):
            overdue[project].append(number)
        serious_items = [
            {"number": number, "project": project, "item": item, "source": source, "status": status}
            for number, project, item, source, status in q(
                f"SELECT {n['number']}, {n['project']}, {n['item_text']}, {n['source']}, {n['status']} "
                f"FROM notices WHERE {n['issued_on']} BETWEEN ? AND ? AND {n['project']} IN ({p}) "
                f"AND {n['severity']} = '严重' ORDER BY 1 DESC",
                (first, last, *projects))
        ]  # fmt: skip

        def grade(serious, general, n_due, n_passed) -> str:
            rate = Fraction(n_passed, n_due) if n_due else None
            return grading.monthly_grade(serious, general, rate).grade

        def month_counts(units: list[str]) -> dict:
            i = [sum(int(issued.get(u, (0, 0, 0, 0))[k] or 0) for u in units) for k in range(4)]
            d = [sum(int(due.get(u, (0, 0, 0, 0))[k] or 0) for u in units) for k in range(4)]
            return {"issued": i[0], "serious": i[1], "general": i[2], "due": d[0], "passed": d[1],
                    "all_due": d[2], "all_passed": d[3], "grade": grade(i[1], i[2], d[0], d[1]),
                    "reissued": i[3], "overdue": sorted(x for u in units for x in overdue[u])}  # fmt: skip

        rows = []
        for project in projects:
            grades = {}
            for m in window:
                serious, general = (int(x or 0) for x in history_issued.get((project, m), (0, 0)))
                n_due, n_passed = (int(x or 0) for x in history_due.get((project, m), (0, 0)))
                grades[m] = grade(serious, general, n_due, n_passed)
            average = grading.average(assessed[project]["audit"] or assessed[project]["monthly"])
            rows.append({"project": project, "score": None if average is None else float(average),
                         **month_counts([project]), "grades": grades})  # fmt: skip
        unit_score = grading.average([r["score"] for r in rows if r["score"] is not None])
        return {"projects": rows, "totals": month_counts(projects), "inspections": inspections,
                "serious_items": serious_items,
                "unit_score": None if unit_score is None else float(unit_score)}  # fmt: skip


def _col(name: str) -> str:
    return name.replace(".", "_")


def _get(doc: dict, name: str):
    value = doc
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def our_figures(report: dict) -> dict:
    """The same figures picked out of the product's report."""

    def counts(c: dict) -> dict:
        return {k: c[k] for k in ("issued", "serious", "general", "due", "passed", "all_due",
                                  "all_passed", "grade")} | {"reissued": len(c["reissued"]), "overdue": c["overdue"]}  # fmt: skip

    return {
        "projects": [
            {
                "project": r["project"],
                "score": r["assessment"]["score"],
                **counts(r),
                "grades": r["grades"],
            }
            for r in report["projects"]
        ],  # fmt: skip
        "totals": counts(report["totals"]),
        "inspections": [
            {
                "form": i["form"],
                "count": i["count"],
                "average": i["average"],
                "serious": i["serious"],
                "general": i["general"],
            }
            for i in report["inspections"]
        ],  # fmt: skip
        "serious_items": report["serious_items"],
        "unit_score": report["unit_score"],
    }


def check_same(ours: dict, theirs: dict) -> None:
    """Raise where SQLite's figures differ from ours (explicitly, not by ``assert``, so that
    ``python -O`` checks as well)."""

    def same(what: str, a, b) -> None:
        if a != b:
            raise AssertionError(f"{what}与本系统不一致：本系统 {a!r}，SQLite {b!r}")

    for a, b in zip(ours["inspections"], theirs["inspections"], strict=True):
        # Decimal half-up vs float rounding of the same mean: equal to the cent.
        x, y = a["average"], b["average"]
        if x != y and (x is None or y is None or abs(x - y) > 0.011):
            raise AssertionError(f"检查表平均分与本系统不一致：本系统 {a!r}，SQLite {b!r}")
        a["average"] = y
    same("合计", ours["totals"], theirs["totals"])
    for a, b in zip(ours["projects"], theirs["projects"], strict=True):
        same("管理处", a, b)
    same("各检查表", ours["inspections"], theirs["inspections"])
    key = lambda item: item["number"]  # noqa: E731
    same(
        "严重不合格项",
        sorted(ours["serious_items"], key=key),
        sorted(theirs["serious_items"], key=key),
    )
    same("考核得分", ours["unit_score"], theirs["unit_score"])


# Timing --------------------------------------------------------------------------------


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(quick: bool = False) -> None:
    n = 5_000 if quick else 100_000
    months = 3 if quick else 12
    rounds = 5 if quick else 21
    # Preparing the data commits thousands of demo records: on a RAM disk when there is one.
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="qms-bench-reports-", dir=shm if shm.is_dir() else None))
    company = config.load(PROJECT_DIR / "data" / "qms.yml")
    try:
        started = time.perf_counter()
        tables = scale(demo_tables(root, months), n)
        data = root / "store"
        data.mkdir()
        journal.write_snapshot(data, tables, {"commit": 0, "format": 1})
        store = Store(data, lambda: NOW).open()
        state = types.SimpleNamespace(store=store, company=company)
        baselines = {
            layout: SQLiteReport(root / f"{layout}.sqlite", tables, layout)
            for layout in ("columns", "documents")
        }
        print(
            f"\n## 报表：月度质量报告（{MONTH}，{len(tables['submissions'])} 条记录、"
            f"{len(tables['notices'])} 份整改通知书，{months} 个月、{len(company.projects)} 个管理处；"
            f"准备数据 {time.perf_counter() - started:.0f} 秒；每种交替运行 {rounds} 次，取中位数）"
        )
        print(
            "SQLite 列表：每个统计字段一列；SQLite 文档表：与本系统相同的 JSON 文档，按筛选字段建表达式索引。"
        )
        units = [("ALL", company.name, list(company.projects))]
        first = next(iter(company.projects))
        units.append((first, company.projects[first].name, [first]))
        print(
            f"{'范围':<12} | {'本系统 ms':>9} | {'SQLite 列表 ms':>13} | {'比值':>6} | "
            f"{'SQLite 文档表 ms':>15} | {'比值':>6}"
        )
        ratios = []
        for unit in units:
            report = report_views.compute(state, "monthly", unit, [MONTH])[0]
            for db in baselines.values():
                check_same(our_figures(report), db.monthly(unit[2], MONTH, NOW.date(), company))
            times: dict[str, list[float]] = {"ours": [], **{k: [] for k in baselines}}
            for _ in range(rounds):
                times["ours"].append(
                    timed(lambda unit=unit: report_views.compute(state, "monthly", unit, [MONTH]))
                )
                for layout, db in baselines.items():
                    times[layout].append(
                        timed(
                            lambda db=db, unit=unit: db.monthly(unit[2], MONTH, NOW.date(), company)
                        )
                    )
            med = {k: statistics.median(v) for k, v in times.items()}
            ratios.append(med["ours"] / med["columns"])
            print(
                f"{unit[1]:<12} | {med['ours'] * 1e3:>9.1f} | {med['columns'] * 1e3:>13.1f} | "
                f"{med['ours'] / med['columns']:>6.2f} | {med['documents'] * 1e3:>15.1f} | "
                f"{med['ours'] / med['documents']:>6.2f}"
            )
        store.close(compact=False)
        for db in baselines.values():
            db.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        "两种 SQLite 的结果都与本系统一致（各管理处考核得分、不合格项、整改到期与合格数、逾期清单、"
        "等级及近 6 个月等级、各检查表平均分、严重不合格项）。"
    )
    print(
        f"目标：全公司月报在 SQLite（列表，较快的一种）的 2 倍以内 —— {ratios[0]:.2f} 倍："
        f"{'达到' if ratios[0] <= 2 else '未达到'}"
    )
