"""Cost of one durable insert as the database grows: this store vs plain TinyDB vs SQLite.

For N already-stored submissions (1 000, 20 000, 100 000) the same realistic
submission document (a scored monthly checklist, ~4 KB of JSON) is inserted
K times and each insert is timed until it is durable:

* this store: journal line written and fsync'd (forms_server.store);
* plain TinyDB with JSONStorage: ``table.insert`` (it rewrites the whole file;
  it does not even fsync, which only flatters it); skipped at the largest N,
  where one insert takes seconds;
* SQLite, WAL mode, ``synchronous=FULL``, the same JSON text in a TEXT column.

Rounds alternate between the implementations so that machine noise hits all of
them alike. Ratios are against SQLite at the same N. Target: this store within
3× of SQLite at 100 000 records (median and p99).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from tinydb import TinyDB

from bench.stats import percentile
from forms_server import journal
from forms_server.definitions import load_dir
from forms_server.scoring import score
from forms_server.settings import PROJECT_DIR
from forms_server.store import Store
from forms_server.validation import validate

TZ = ZoneInfo("Asia/Shanghai")


def sample_record() -> dict:
    """A realistic submission: the real 清洁服务月检评分表 with every item rated."""
    form = load_dir(PROJECT_DIR / "data" / "forms", PROJECT_DIR).forms["QR-10-03"]
    fields = {}
    for f in form.fields:
        fields[f.key] = {"project": "CH", "date": "2026-11-21", "signature": "陈晓东"}.get(
            f.type, "正常" if f.required else None
        )
    fields = {k: v for k, v in fields.items() if v is not None}
    items = {}
    for item in form.items:
        items[item.key] = (
            {"count": 1, "note": "东侧一处"}
            if item.mode == "deduct"
            else {"result": item.choices()[0]}
        )
    clean, errors = validate(form, {"fields": fields, "items": items}, {"CH": "翠湖花园管理处"})
    assert not errors, errors
    result = score(form, clean.items).to_dict()
    return {
        "form": form.code,
        "form_version": form.version,
        "form_title": form.title,
        "project": "CH",
        "record_date": "2026-11-21",
        "values": clean.fields,
        "items": {
            k: {"result": a.result, "count": a.count, "note": a.note}
            for k, a in clean.items.items()
        },
        "adjustments": {},
        "downgrade": {},
        "score": result,
        "attachments": [],
    }


def stored(record: dict, i: int) -> dict:
    return {
        **record,
        "number": f"QR-10-03-20200101-{i:06d}",
        "submitted_by": "bench",
        "submitted_at": "2020-01-01T08:00:00+08:00",
        "client_key": None,
    }


class OurStore:
    name = "本存储"

    def __init__(self, root: Path, n: int, record: dict):
        data = root / "store"
        data.mkdir()
        docs = {str(i + 1): stored(record, i) for i in range(n)}
        journal.write_snapshot(data, {"submissions": docs}, {"commit": 0, "format": 1})
        self.store = Store(data, lambda: dt.datetime.now(TZ)).open()
        self.record = record

    def insert(self) -> None:
        self.store.add_submission(self.record, by="bench")

    def close(self) -> None:
        self.store.close(compact=False)


class PlainTinyDB:
    name = "TinyDB JSONStorage"

    def __init__(self, root: Path, n: int, record: dict):
        self.db = TinyDB(root / "plain.json")
        self.table = self.db.table("submissions")
        self.table.insert_multiple(stored(record, i) for i in range(n))
        self.record = record
        self.i = n

    def insert(self) -> None:
        self.i += 1
        self.table.insert(stored(self.record, self.i))

    def close(self) -> None:
        self.db.close()


class SQLite:
    name = "SQLite WAL FULL"

    def __init__(self, root: Path, n: int, record: dict):
        self.db = sqlite3.connect(root / "baseline.sqlite", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE submissions (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO submissions (doc) VALUES (?)",
            ((json.dumps(stored(record, i), ensure_ascii=False),) for i in range(n)),
        )
        self.db.execute("COMMIT")
        self.record = record
        self.i = n

    def insert(self) -> None:
        self.i += 1
        self.db.execute(
            "INSERT INTO submissions (doc) VALUES (?)",
            (json.dumps(stored(self.record, self.i), ensure_ascii=False),),
        )

    def close(self) -> None:
        self.db.close()


def measure(impls: list, inserts: int, rounds: int = 4) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {impl.name: [] for impl in impls}
    per_round = max(1, inserts // rounds)
    for _ in range(rounds):
        for impl in impls:
            # Plain TinyDB rewrites the whole file per insert: a few samples say enough.
            budget = per_round if impl.name != PlainTinyDB.name else max(1, per_round // 50)
            for _ in range(budget):
                start = time.perf_counter()
                impl.insert()
                times[impl.name].append(time.perf_counter() - start)
    return times


def main(quick: bool = False) -> None:
    sizes = [1_000, 5_000] if quick else [1_000, 20_000, 100_000]
    inserts = 40 if quick else 400
    record = sample_record()
    print(
        f"\n## 存储：每次持久插入的耗时（文档 {len(json.dumps(record, ensure_ascii=False).encode()) // 1024} KB，每种规模 {inserts} 次插入）"
    )
    print(
        f"{'已有记录':>10} | {'实现':<20} | {'中位数 ms':>9} | {'p99 ms':>9} | {'中位数/SQLite':>13} | {'p99/SQLite':>10}"
    )
    results = {}
    for n in sizes:
        root = Path(tempfile.mkdtemp(prefix=f"qms-bench-{n}-"))
        try:
            impls = [OurStore(root, n, record), SQLite(root, n, record)]
            tinydb_skipped = n > 20_000
            if not tinydb_skipped:
                impls.append(PlainTinyDB(root, n, record))
            times = measure(impls, inserts)
            for impl in impls:
                impl.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)
        base = times[SQLite.name]
        base_med, base_p99 = statistics.median(base), percentile(base, 99)
        for name, values in times.items():
            med, p99 = statistics.median(values), percentile(values, 99)
            results[(n, name)] = (med, p99)
            print(
                f"{n:>10} | {name:<20} | {med * 1e3:>9.3f} | {p99 * 1e3:>9.3f} | {med / base_med:>13.2f} | {p99 / base_p99:>10.2f}"
            )
        if tinydb_skipped:
            print(
                f"{n:>10} | {PlainTinyDB.name:<20} | {'跳过':>9} | {'':>9} | 每次插入重写整个文件，此规模下每次需数秒"
            )
    largest = sizes[-1]
    ours, sqlite = results[(largest, OurStore.name)], results[(largest, SQLite.name)]
    growth = results[(largest, OurStore.name)][0] / results[(sizes[0], OurStore.name)][0]
    print(
        f"\n目标：{largest} 条时本存储在 SQLite 的 3 倍以内 —— 中位数 {ours[0] / sqlite[0]:.2f} 倍，p99 {ours[1] / sqlite[1]:.2f} 倍："
        f"{'达到' if ours[0] / sqlite[0] <= 3 and ours[1] / sqlite[1] <= 3 else '未达到'}"
    )
    print(
        f"本存储插入耗时随规模的变化：{largest} 条 / {sizes[0]} 条 = {growth:.2f} 倍（不随记录数增长时约为 1）"
    )
