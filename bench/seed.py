"""A data directory with N stored submissions, a user and an API token, ready for a real server.

Shared by the HTTP benchmarks (ingest, startup). The user and the token are made by
the documented admin CLI on the empty directory; the N submissions (the realistic
scored checklist of `bench.storage`) are then added to the snapshot directly, as a
restored backup would be, instead of through N commits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from bench.storage import sample_record, stored
from forms_server import journal
from forms_server.settings import PROJECT_DIR

USER, PASSWORD = "bench", "Bench-2026x"


@dataclass
class Seeded:
    env: dict[str, str]  # environment of a server process on this data directory
    token: str
    records: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(root: Path, port: int) -> dict[str, str]:
    site = root / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text("<h1>手册</h1>", encoding="utf-8")
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT_DIR),
        "QMS_DATA_DIR": str(root / "db"),
        "QMS_SITE_DIR": str(site),
        "QMS_FORMS_DIR": str(PROJECT_DIR / "data" / "forms"),
        "QMS_CONFIG": str(PROJECT_DIR / "data" / "qms.yml"),
        "PORT": str(port),
    }


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "forms_server", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"forms_server {' '.join(args)}: {done.stderr}")
    return done.stdout


def seed(root: Path, records: int, port: int | None = None) -> Seeded:
    """``root/db`` with a staff user of 管理处 CH, its API token and ``records`` submissions."""
    env = server_env(root, port or free_port())
    cli(env, "user", "add", USER, "--role", "staff", "--project", "CH", "--name", "压测", stdin=PASSWORD + "\n")  # fmt: skip
    token = cli(env, "token", "create", USER, "--name", "压测").strip().splitlines()[-1]
    data = Path(env["QMS_DATA_DIR"])
    tables = journal.read_snapshot(data)  # the CLI's clean stop compacted everything into it
    meta = tables.pop("_meta")["1"]
    record = sample_record()
    tables["submissions"] = {str(i + 1): stored(record, i) for i in range(records)}
    journal.write_snapshot(data, tables, meta)
    return Seeded(env, token, records)


class Server:
    """A server process (``python -m forms_server serve`` or another command) on loopback."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path):
        self.command, self.env, self.log = command, env, log
        self.port = int(env["PORT"])
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 600) -> float:
        """Start and wait until /healthz answers 200; returns the seconds that took."""
        started = time.perf_counter()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.command, env=self.env, stdout=out, stderr=out)
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"服务进程退出：{self.log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.02)
        self.stop()
        raise SystemExit(f"服务在 {timeout:.0f} 秒内没有就绪：{self.log}")

    def stop(self) -> None:
        # Killed, not stopped: a clean stop would fold the journal into a new snapshot of
        # every record, which the benchmarks do not need (the store is safe against kill -9).
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def ours(env: dict[str, str], log: Path) -> Server:
    return Server([sys.executable, "-m", "forms_server", "serve"], env, log)
