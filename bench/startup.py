"""Server start-up: from process start to ``/healthz`` answering 200.

Four starts, alternated round after round so that noise hits them alike:

* ours with N records (100 000 in full mode, the realistic scored checklist of
  `bench.storage`, ~7 KB each): ``python -m forms_server serve`` reads the snapshot,
  replays the journal, builds its indexes and loads the form definitions;
* ours with the same N records in the snapshot and the longest journal the snapshot rule
  allows (`Store.compact_every`, `Store.compact_ratio`): as many commits of the same
  record as bring it to the snapshot's size, the journal a start replays at worst;
* ours on a data directory with no records (the same user and token): the fixed
  cost of starting (interpreter, imports, form definitions, uvicorn);
* the reference server (`bench.refserver`) on SQLite holding the same N records,
  which opens its database without reading it.

No target: the figures and ratios show what the number of records costs at start.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import seed
from bench.refserver import open_db
from bench.storage import TZ, sample_record
from forms_server import journal
from forms_server.store import Store
from tests.serverkit import Server


def longest_journal(data_dir: Path, quick: bool) -> tuple[int, int]:
    """Commit the benchmark record until the snapshot rule would write a snapshot; returns
    the commits and the bytes of their lines. Quick mode ignores the minimum number of commits (20 000, far more than
    the data of a quick run): the journal is as large as the snapshot."""
    # Filling a journal, not timing it: no fsync per commit (the files are synced before
    # the starts are timed), and no snapshot.
    journal.sync_data = lambda fd: None
    clock = lambda: dt.datetime(2026, 11, 21, 9, tzinfo=TZ)  # noqa: E731
    store = Store(data_dir, clock, compact_every=1 if quick else Store.compact_every).open()
    store._compact_in_background = lambda: None  # type: ignore[method-assign]
    record, commits = sample_record(), 0
    while not store._compaction_due():
        store.add_submission(record, by="bench")
        commits += 1
    assert store._writer is not None
    written = store._writer.size
    store.close(compact=False)
    return commits, written


def main(quick: bool = False) -> None:
    records = 2_000 if quick else 100_000
    rounds = 1 if quick else 3
    root = Path(tempfile.mkdtemp(prefix="qms-bench-startup-"))
    servers: dict[str, Server] = {}
    try:
        full = seed.seed(root / "full", records)
        logged = seed.seed(root / "journal", records)
        empty = seed.seed(root / "empty", 0)
        # In a process of its own: the memory of the records is gone before the starts are timed.
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            commits, log_size = pool.apply(longest_journal, (logged.server.data_dir, quick))
        open_db(str(root / "reference.sqlite"), records).close()
        os.sync()
        servers = {
            "full": full.server,
            "journal": logged.server,
            "empty": empty.server,
            "reference": Server(
                root / "reference",
                [
                    sys.executable,
                    "-m",
                    "bench.refserver",
                    str(root / "reference.sqlite"),
                    full.token,
                ],
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in servers}
        for r in range(rounds):
            for name in list(servers) if r % 2 == 0 else list(reversed(servers)):
                times[name].append(servers[name].start(timeout=600))
                servers[name].kill()
        size = journal.snapshot_size(full.server.data_dir)
    finally:
        for server in servers.values():
            server.kill()
        shutil.rmtree(root, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"\n## 服务启动：从启动进程到 /healthz 返回 200（{rounds} 轮交替，取中位数；"
        f"快照 qms.json {size / 2**20:.0f} MB）"
    )
    print(f"{'服务':<30} | {'中位数 s':>8}")
    print(f"{f'本系统，{records} 条记录':<28} | {med['full']:>8.2f}")
    print(f"{f'本系统，{records} 条记录及最长的日志':<22} | {med['journal']:>8.2f}")
    print(f"{'本系统，无记录':<26} | {med['empty']:>8.2f}")
    print(f"{f'SQLite 参考服务，{records} 条记录':<26} | {med['reference']:>8.2f}")
    print(
        f"比值：{records} 条记录 / 无记录 = {med['full'] / med['empty']:.2f}；"
        f"本系统 / SQLite 参考服务 = {med['full'] / med['reference']:.2f}（没有目标，供参考）"
    )
    print(
        f"最长的日志：{commits} 次提交，{log_size / 2**20:.0f} MB（日志达到快照的大小时写新快照）；"
        f"启动时间为只有快照时的 {med['journal'] / med['full']:.2f} 倍"
    )
