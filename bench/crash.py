"""Kill -9 under load, many times: nothing acknowledged may ever be lost.

A real server (``python -m forms_server serve``) on a temporary data directory;
16 clients submit checklists through the JSON API; after a moment the server is
killed with SIGKILL and started again. After every restart every record the
server acknowledged (HTTP 201) must be there exactly once and the database must
open. 20 cycles here; `make test` runs a shorter series (tests/test_crash.py).

Not a speed benchmark: it prints what was acknowledged and found, and fails
(non-zero exit) on the first loss.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from tests.serverkit import crash_cycles


def main(quick: bool = False) -> None:
    cycles, clients, seconds = (3, 8, 0.5) if quick else (20, 16, 1.5)
    print(f"\n## 崩溃恢复：{cycles} 次 kill -9，{clients} 个客户端持续提交")
    print(f"{'轮次':>4} | {'本轮已确认':>10} | {'重启后已有记录':>14}")
    root = Path(tempfile.mkdtemp(prefix="qms-bench-crash-"))
    started = time.perf_counter()
    try:
        totals = crash_cycles(root, cycles, clients, seconds,
                              report=lambda c, acked, found: print(f"{c:>4} | {acked:>10} | {found:>14}", flush=True))  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"结果：{totals['cycles']} 次崩溃，已确认 {totals['acknowledged']} 条，最终 {totals['stored']} 条，"
        f"丢失 {totals['missing']} 条，重复 {totals['duplicates']} 条（用时 {time.perf_counter() - started:.0f} 秒）"
    )
