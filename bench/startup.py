"""Server start-up: from process start to ``/healthz`` answering 200.

Three starts, alternated round after round so that noise hits them alike:

* ours with N records (100 000 in full mode, the realistic scored checklist of
  `bench.storage`, ~7 KB each): ``python -m forms_server serve`` reads the snapshot,
  replays the journal, builds its indexes and loads the form definitions;
* ours on a data directory with no records (the same user and token): the fixed
  cost of starting (interpreter, imports, form definitions, uvicorn);
* the reference server (`bench.refserver`) on SQLite holding the same N records,
  which opens its database without reading it.

No target: the figures and ratios show what the number of records costs at start.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import seed
from bench.refserver import open_db


def main(quick: bool = False) -> None:
    records = 2_000 if quick else 100_000
    rounds = 1 if quick else 3
    root = Path(tempfile.mkdtemp(prefix="qms-bench-startup-"))
    try:
        full = seed.seed(root / "full", records)
        empty = seed.seed(root / "empty", 0)
        open_db(str(root / "reference.sqlite"), records).close()
        snapshot = Path(full.env["QMS_DATA_DIR"]) / "qms.json"
        os.sync()
        servers = {
            "full": seed.ours(full.env, root / "full.log"),
            "empty": seed.ours(empty.env, root / "empty.log"),
            "reference": seed.Server(
                [
                    sys.executable,
                    "-m",
                    "bench.refserver",
                    str(root / "reference.sqlite"),
                    full.token,
                ],
                full.env,
                root / "reference.log",
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in servers}
        for r in range(rounds):
            for name in list(servers) if r % 2 == 0 else list(reversed(servers)):
                times[name].append(servers[name].start())
                servers[name].stop()
        size = snapshot.stat().st_size
    finally:
        shutil.rmtree(root, ignore_errors=True)
    med = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"\n## 服务启动：从启动进程到 /healthz 返回 200（{rounds} 轮交替，取中位数；"
        f"快照 qms.json {size / 2**20:.0f} MB）"
    )
    print(f"{'服务':<30} | {'中位数 s':>8}")
    print(f"{f'本系统，{records} 条记录':<28} | {med['full']:>8.2f}")
    print(f"{'本系统，无记录':<26} | {med['empty']:>8.2f}")
    print(f"{f'SQLite 参考服务，{records} 条记录':<26} | {med['reference']:>8.2f}")
    print(
        f"比值：{records} 条记录 / 无记录 = {med['full'] / med['empty']:.2f}；"
        f"本系统 / SQLite 参考服务 = {med['full'] / med['reference']:.2f}（没有目标，供参考）"
    )
