"""A real server process on a temporary data directory, and clients that hammer it.

Used by the fault tests (kill -9, full disk, read-only directory, concurrency)
and by the benchmarks (`bench/crash.py`, and the servers of `bench/ingest.py` and
`bench/startup.py`): the server is started exactly as `make serve` starts it
(``python -m forms_server serve``), configured by the environment, and administered
with the real command line.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx

from tests.conftest import make_env
from tests.forms_kit import perfect_items

GOOD = {
    "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东"},
    "items": perfect_items(),
}
PASSWORD = "Xiaodong-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python -m forms_server`` on one data directory; start, kill -9, stop, run commands."""

    def __init__(self, root: Path, command: list[str] | None = None, **settings: Path):
        """Test forms and a one-page site by default; ``settings`` override them, e.g.
        ``site_dir=…, forms_dir=…, config_file=…, editions_dir=…`` for the real manual.
        ``command`` serves instead of ``python -m forms_server serve`` (the benchmarks'
        reference server), in the same environment."""
        root.mkdir(parents=True, exist_ok=True)
        env = make_env(root)
        s = env.settings
        self.data_dir = s.data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        names = {"site_dir": "QMS_SITE_DIR", "forms_dir": "QMS_FORMS_DIR", "config_file": "QMS_CONFIG",
                 "editions_dir": "QMS_EDITIONS_DIR"}  # fmt: skip
        self.env = {
            **os.environ,
            "QMS_DATA_DIR": str(s.data_dir),
            "QMS_SITE_DIR": str(s.site_dir),
            "QMS_FORMS_DIR": str(s.forms_dir),
            "QMS_CONFIG": str(s.config_file),
            "PORT": str(self.port),
            **{names[k]: str(v) for k, v in settings.items()},
        }
        self.command = command or [sys.executable, "-m", "forms_server", "serve"]
        self.proc: subprocess.Popen | None = None
        # The server's log goes to a file: a pipe nobody reads would fill up and block it.
        self.log_path = root / "server.log"

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "forms_server", *args], input=stdin, env=self.env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    def start(self, preexec: Callable[[], None] | None = None, wait: bool = True,
              timeout: float = 60) -> float:  # fmt: skip
        """Start the server and, unless ``wait`` is false, wait until ``/healthz`` answers 200;
        returns the seconds from starting the process until then (0 without waiting)."""
        started = time.perf_counter()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=preexec,
            )
        if not wait:
            return 0.0
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"服务未能启动：\n{self.output}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.02)
        self.kill()
        raise AssertionError(f"服务在 {timeout:.0f} 秒内没有就绪：\n{self.output}")

    @property
    def output(self) -> str:
        """Everything the server processes printed so far."""
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )

    def wait_exit(self, timeout: float = 60) -> tuple[int, str]:
        """For a start that must fail: its exit code and everything it printed."""
        assert self.proc is not None
        self.proc.wait(timeout=timeout)
        return self.proc.returncode, self.output

    def kill(self) -> None:
        """kill -9, if it still runs. Also how the benchmarks stop a server: a clean stop would
        fold the journal into a new snapshot of every record, which they do not need."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=60)

    def add_user(self, username: str, role: str, *options: str) -> None:
        added = self.cli("user", "add", username, "--role", role, *options, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr

    def add_user_with_token(self, username: str = "chen") -> dict[str, str]:
        """A staff user of 管理处 CH and an API token, created with the command line."""
        added = self.cli("user", "add", username, "--role", "staff", "--project", "CH", "--name", "陈晓东",
                         stdin=PASSWORD + "\n")  # fmt: skip
        assert added.returncode == 0, added.stderr
        created = self.cli("token", "create", username, "--name", "压测")
        assert created.returncode == 0, created.stderr
        return {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}

    def submit(self, headers: dict[str, str], count: int) -> list[str]:
        """``count`` valid submissions, one after the other; their record numbers."""
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as http:
            responses = [
                http.post("/api/forms/QR-10-99/submissions", json=GOOD) for _ in range(count)
            ]
        assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
        return [r.json()["number"] for r in responses]

    def numbers(self, headers: dict[str, str]) -> list[str]:
        """Every stored record number, through the API (all pages)."""
        found: list[str] = []
        offset = 0
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as http:
            while True:
                page = http.get(f"/api/submissions?limit=500&offset={offset}").json()
                found += [d["number"] for d in page["items"]]
                offset += 500
                if offset >= page["total"]:
                    return found


class Submitters:
    """``count`` threads posting valid submissions until stopped or the server goes away.

    ``acknowledged`` collects the numbers of every 201 (the server said: stored);
    ``refused`` the other answers (status, body), which must be clear errors.
    """

    def __init__(
        self, server: Server, headers: dict[str, str], count: int, per_client: int | None = None
    ):
        self.server, self.headers = server, headers
        self.acknowledged: list[str] = []
        self.refused: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(per_client,)) for _ in range(count)
        ]

    def _run(self, limit: int | None) -> None:
        sent = 0
        with httpx.Client(base_url=self.server.base, headers=self.headers, timeout=30) as http:
            while not self.stop_event.is_set() and (limit is None or sent < limit):
                try:
                    response = http.post("/api/forms/QR-10-99/submissions", json=GOOD)
                except httpx.TransportError:
                    return  # the server died; this request was never acknowledged
                sent += 1
                with self.lock:
                    if response.status_code == 201:
                        self.acknowledged.append(response.json()["number"])
                    else:
                        self.refused.append((response.status_code, response.json()))

    def start(self) -> Submitters:
        for t in self.threads:
            t.start()
        return self

    def wait(self) -> None:
        """Until every client has sent its ``per_client`` submissions."""
        for t in self.threads:
            t.join()

    def join(self) -> None:
        """Stop sending (the server was killed or the time is up) and wait for the clients."""
        self.stop_event.set()
        self.wait()


def crash_cycles(root: Path, cycles: int, clients: int, seconds: float, report=None) -> dict:
    """Kill -9 the server ``cycles`` times while ``clients`` submit; after every restart check
    that each acknowledged record is there exactly once. Returns totals, with the records found
    missing and duplicated at the end (measured: 0, since it raises on any loss or duplicate,
    explicitly, so that ``python -O`` checks as well)."""
    server = Server(root)
    headers = server.add_user_with_token()
    acknowledged: list[str] = []

    def check(stored: list[str], when: str) -> tuple[int, int]:
        missing = set(acknowledged) - set(stored)
        duplicates = len(stored) - len(set(stored))
        if duplicates:
            raise AssertionError(f"{when}有 {duplicates} 条重复记录")
        if missing:
            raise AssertionError(f"{when}丢失 {len(missing)} 条已确认的记录：{sorted(missing)[:5]}")
        return len(missing), duplicates

    try:
        for cycle in range(1, cycles + 1):
            server.start()
            stored = server.numbers(headers)
            check(stored, f"第 {cycle} 次重启后")
            load = Submitters(server, headers, clients).start()
            time.sleep(seconds)
            server.kill()
            load.join()
            if load.refused:
                raise AssertionError(f"有提交被拒绝：{load.refused[:3]}")
            acknowledged += load.acknowledged
            if report:
                report(cycle, len(load.acknowledged), len(stored))
        server.start()
        stored = server.numbers(headers)
        missing, duplicates = check(stored, "最终数据中")
        server.stop()
        return {"cycles": cycles, "acknowledged": len(acknowledged), "stored": len(stored),
                "missing": missing, "duplicates": duplicates}  # fmt: skip
    finally:
        server.kill()


# Journal files ---------------------------------------------------------------------


def lines_of(path) -> bytes:
    """A journal file's lines, without the zeros preallocated after them."""
    return path.read_bytes().rstrip(b"\0")


def write_at_end(path, data: bytes) -> None:
    """What a write cut short leaves: bytes after the last complete line, over the zeros."""
    end = len(lines_of(path))
    with path.open("r+b") as f:
        f.seek(end)
        f.write(data)
