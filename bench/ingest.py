"""HTTP ingest: checklists submitted through the JSON API of a real server process.

Two servers run side by side on loopback, each holding N records (100 000 in full
mode) on the same disk:

* ours: ``python -m forms_server serve`` (uvicorn), a staff user and its API token;
  every request goes through authentication, validation, scoring, the durable
  commit (journal fsync, history chain) and the derived workflows;
* the reference (`bench.refserver`): Starlette + uvicorn + SQLite WAL
  ``synchronous=FULL``, which stores the same body as it came, without validation.

The payload is the real 清洁服务月检评分表 (QR-10-03) fully answered with every item
passing, so no 整改通知书 is generated: the cost measured is that of the record itself.

A load generator in a separate process (`bench.loadgen`) drives 1, 8 and 32
concurrent keep-alive clients for a fixed time; the servers take turns, round after
round, so that noise from other work on the machine hits both alike. Figures are
medians over the rounds. Targets: at every concurrency, ours has at least 50% of
the reference's throughput and at most twice its p99 latency.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx2 as httpx

from bench import seed
from bench.refserver import open_db
from forms_server.definitions import load_dir
from forms_server.scoring import score
from forms_server.settings import PROJECT_DIR
from forms_server.validation import validate
from tests.serverkit import Server

FORM = "QR-10-03"
PATH = f"/api/forms/{FORM}/submissions"


def payload() -> dict:
    """The API request body: every field filled in, every item at its best result."""
    form = load_dir(PROJECT_DIR / "data" / "forms", PROJECT_DIR).forms[FORM]
    values = {"project": "CH", "date": "2026-11-21", "signature": "陈晓东"}
    fields = {f.key: values.get(f.type, "正常") for f in form.fields}
    fields["month"] = "2026-11"
    items = {
        item.key: {"count": 0} if item.mode == "deduct" else {"result": item.choices()[0]}
        for item in form.items
    }
    body = {"fields": fields, "items": items}
    clean, errors = validate(form, body, {"CH": "翠湖花园管理处"})
    assert not errors, errors
    assert not score(form, clean.items).to_dict()["nonconformities"]
    return body


def load(server: Server, token: str, body: Path, clients: int, seconds: float,
         warmup: float) -> dict:  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(server.port), PATH, token, str(body),
         str(clients), str(seconds), str(warmup)],
        capture_output=True, text=True, timeout=seconds + warmup + 120,
        env={**server.env, "PYTHONPATH": str(PROJECT_DIR)},
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"负载生成器失败：{done.stderr}")
    return json.loads(done.stdout)


def main(quick: bool = False) -> None:
    records = 2_000 if quick else 100_000
    levels = [1, 8, 32]
    seconds, warmup, rounds = (1.5, 0.5, 1) if quick else (8.0, 2.0, 3)
    root = Path(tempfile.mkdtemp(prefix="qms-bench-ingest-"))
    servers: dict[str, Server] = {}
    try:
        seeded = seed.seed(root / "ours", records)
        open_db(str(root / "reference.sqlite"), records).close()
        os.sync()  # the seeded files are on disk: write-back does not slow the first runs
        servers["ours"] = seeded.server
        servers["reference"] = Server(
            root / "reference",
            [sys.executable, "-m", "bench.refserver", str(root / "reference.sqlite"), seeded.token],
        )
        for server in servers.values():
            server.start(timeout=600)
        body = root / "body.json"
        body.write_text(json.dumps(payload(), ensure_ascii=False), encoding="utf-8")
        print(
            f"\n## HTTP 提交：{FORM} 全部合格的月检评分表（{body.stat().st_size // 1024} KB JSON），"
            f"服务中已有 {records} 条记录；每轮每种并发 {seconds:g} 秒（预热 {warmup:g} 秒），"
            f"{rounds} 轮交替，取中位数"
        )
        results: dict[tuple[str, int], list[dict]] = {}
        for r in range(rounds):
            for clients in levels:
                order = list(servers) if r % 2 == 0 else list(reversed(servers))
                for name in order:
                    result = load(servers[name], seeded.token, body, clients, seconds, warmup)
                    if result["failures"]:
                        raise SystemExit(f"{name} 有 {result['failures']} 个请求失败：{result}")
                    results.setdefault((name, clients), []).append(result)
        stored = httpx.get(f"{servers['ours'].base}/healthz", timeout=30).json()["records"]
        submitted = sum(
            x["requests"] for (name, _), rs in results.items() if name == "ours" for x in rs
        )
        assert stored >= records + submitted, (stored, records, submitted)
    finally:
        for server in servers.values():
            server.kill()
        shutil.rmtree(root, ignore_errors=True)

    def med(name: str, clients: int, key: str) -> float:
        return statistics.median(x[key] for x in results[(name, clients)])

    print(
        f"{'并发':>4} | {'本系统 req/s':>11} | {'基线 req/s':>10} | {'吞吐比':>6} | "
        f"{'本系统 p50/p99 ms':>17} | {'基线 p50/p99 ms':>15} | {'p99 比':>6}"
    )
    missed: list[str] = []
    for clients in levels:
        ours_tp, base_tp = (
            med("ours", clients, "throughput"),
            med("reference", clients, "throughput"),
        )
        ours_p99, base_p99 = med("ours", clients, "p99"), med("reference", clients, "p99")
        tp_ratio, p99_ratio = ours_tp / base_tp, ours_p99 / base_p99
        if tp_ratio < 0.5:
            missed.append(f"{clients} 个客户端吞吐比 {tp_ratio:.3f}")
        if p99_ratio > 2:
            missed.append(f"{clients} 个客户端 p99 比 {p99_ratio:.3f}")
        print(
            f"{clients:>4} | {ours_tp:>11.0f} | {base_tp:>10.0f} | {tp_ratio:>6.2f} | "
            f"{med('ours', clients, 'p50') * 1e3:>7.1f} / {ours_p99 * 1e3:>7.1f} | "
            f"{med('reference', clients, 'p50') * 1e3:>6.1f} / {base_p99 * 1e3:>6.1f} | {p99_ratio:>6.2f}"
        )
    print(
        "基线：Starlette + uvicorn + SQLite（WAL，synchronous=FULL），不校验，原样保存请求的 JSON。"
    )
    print(
        "目标：每种并发下吞吐量不低于基线的 50%，p99 不超过基线的 2 倍："
        + (f"未达到（{'；'.join(missed)}）" if missed else "达到")
    )
