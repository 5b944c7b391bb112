"""Every benchmark runs (small, ``--quick``) and prints its ratios against the baseline it
measured in the same run. Times are never asserted (these machines are noisy): only that
each figure is there, that the checks the benchmarks make on the way hold, and sizes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RATIO = r"(\d+\.\d\d)"
VERDICT = r"(达到|未达到)"

pytestmark = pytest.mark.slow


def run(name: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bench", name, "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.match(r"# \d{4}-\d\d-\d\d \d\d:\d\d  Python 3\.\d+\.\d+ ", done.stdout)
    return done.stdout


def test_storage_benchmark_prints_ratios_to_sqlite():
    out = run("storage")
    for size in (1000, 5000):
        assert re.search(rf"^ +{size} \| 本存储 +\|.*\| +{RATIO} \| +{RATIO}$", out, re.M)
        assert re.search(rf"^ +{size} \| SQLite WAL FULL +\|.*\| +1\.00 \| +1\.00$", out, re.M)
    assert re.search(
        rf"目标：5000 条时本存储在 SQLite 的 3 倍以内 —— 中位数 {RATIO} 倍，p99 {RATIO} 倍：{VERDICT}",
        out,
    )


def test_ingest_benchmark_compares_every_concurrency_with_the_sqlite_server():
    out = run("ingest")
    for clients in (1, 8, 32):
        row = re.search(rf"^ +{clients} \|.*\| +{RATIO} \|.*\| +{RATIO}$", out, re.M)
        assert row, out
        assert float(row[1]) > 0 and float(row[2]) > 0
    assert "基线：Starlette + uvicorn + SQLite（WAL，synchronous=FULL）" in out
    assert re.search(
        rf"目标：每种并发下吞吐量不低于基线的 50%，p99 不超过基线的 2 倍：{VERDICT}", out
    )


def test_reports_benchmark_agrees_with_sqlite_and_prints_the_ratio():
    out = run("reports")
    assert re.search(rf"^华庭物业服务有限公司 +\|.*\| +{RATIO} \|.*\| +{RATIO}$", out, re.M)
    assert "两种 SQLite 的结果都与本系统一致" in out  # the figures were compared, not only timed
    assert re.search(
        rf"目标：全公司月报在 SQLite（列表，较快的一种）的 2 倍以内 —— {RATIO} 倍：{VERDICT}", out
    )


def test_startup_benchmark_prints_the_ratio_to_an_empty_server():
    out = run("startup")
    assert re.search(
        rf"比值：\d+ 条记录 / 无记录 = {RATIO}；本系统 / SQLite 参考服务 = {RATIO}", out
    )
    # The worst case of the snapshot rule: a journal as large as the snapshot.
    row = re.search(r"^本系统，(\d+) 条记录及最长的日志 +\| +\d+\.\d\d$", out, re.M)
    snapshot = re.search(r"快照 qms\.json (\d+) MB", out)
    longest = re.search(
        rf"最长的日志：(\d+) 次提交，(\d+) MB（日志达到快照的大小时写新快照）；启动时间为只有快照时的 {RATIO} 倍",
        out,
    )
    assert row and snapshot and longest, out
    assert int(longest[1]) >= int(row[1]) * 0.8 and int(longest[2]) >= int(snapshot[1])


def test_site_benchmark_prints_the_build_ratio_and_sizes():
    out = run("site")
    assert re.search(rf"目标：构建时间不超过无钩子构建的 1\.5 倍 —— {RATIO} 倍：{VERDICT}", out)
    assert re.search(r"搜索索引 search/search_index\.json：\d+ KB，gzip 后 \d+ KB", out)
    loads = dict(re.findall(r"(有流程图|无流程图)的程序文件首次打开.*gzip 后）：(\d+) KB", out))
    # Only pages with a flowchart load mermaid (about 900 KB gzipped).
    assert int(loads["无流程图"]) < 300 < 800 < int(loads["有流程图"])


def test_crash_benchmark_loses_and_duplicates_nothing():
    out = run("crash")
    result = re.search(r"结果：3 次崩溃，已确认 (\d+) 条，最终 (\d+) 条，丢失 0 条，重复 0 条", out)
    assert result and int(result[2]) >= int(result[1]) > 0
