"""Kill -9 a real server process while clients submit; every acknowledged record must survive.

Also exercises the admin CLI end to end (user add with the password on stdin,
token create) and the refusal of a second process on the same data directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import make_env
from tests.forms_kit import perfect_items

pytestmark = pytest.mark.slow
GOOD = {
    "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东"},
    "items": perfect_items(),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, env_vars: dict[str, str]):
        self.env = env_vars
        self.port = int(env_vars["PORT"])
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "forms_server", *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "forms_server", "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.proc.kill()
        raise AssertionError(self.proc.stdout.read().decode())

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    env = make_env(tmp_path)
    s = env.settings
    env_vars = {
        **os.environ,
        "QMS_DATA_DIR": str(s.data_dir),
        "QMS_SITE_DIR": str(s.site_dir),
        "QMS_FORMS_DIR": str(s.forms_dir),
        "QMS_CONFIG": str(s.config_file),
        "PORT": str(free_port()),
    }
    srv = Server(env_vars)
    yield srv
    if srv.proc and srv.proc.poll() is None:
        srv.kill()


def setup_user(server: Server) -> str:
    added = server.cli(
        "user",
        "add",
        "chen",
        "--role",
        "staff",
        "--project",
        "CH",
        "--name",
        "陈晓东",
        stdin="Xiaodong-2026\n",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "已创建用户 chen（员工）"
    weak = server.cli("user", "add", "weak", "--role", "quality", stdin="12345678\n")
    assert weak.returncode != 0 and "密码应同时包含字母和数字" in weak.stderr
    created = server.cli("token", "create", "chen", "--name", "压测")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip().splitlines()[-1]


def test_kill_during_writes_loses_nothing_acknowledged(server):
    token = setup_user(server)
    headers = {"Authorization": f"Bearer {token}"}
    base = f"http://127.0.0.1:{server.port}"
    acknowledged: list[str] = []
    lock = threading.Lock()

    for _cycle in range(3):
        server.start()
        stop = threading.Event()

        def client(stop: threading.Event = stop) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
                while not stop.is_set():
                    try:
                        response = http.post("/api/forms/QR-10-99/submissions", json=GOOD)
                    except httpx.TransportError:
                        return  # the server died; this request was not acknowledged
                    if response.status_code == 201:
                        with lock:
                            acknowledged.append(response.json()["number"])

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        server.kill()
        stop.set()
        for t in threads:
            t.join()

    server.start()
    listing = httpx.get(f"{base}/api/submissions?limit=500", headers=headers, timeout=10).json()
    stored = []
    offset = 0
    while True:
        page = httpx.get(
            f"{base}/api/submissions?limit=500&offset={offset}", headers=headers, timeout=10
        ).json()
        stored += [d["number"] for d in page["items"]]
        offset += 500
        if offset >= page["total"]:
            break
    assert listing["total"] == len(stored)
    assert len(acknowledged) > 50
    assert len(stored) == len(set(stored))  # no record twice
    missing = set(acknowledged) - set(stored)
    assert missing == set()
    server.stop()


def test_second_server_on_the_same_data_directory_is_refused(server):
    setup_user(server)
    server.start()
    second = server.cli("user", "list")
    assert second.returncode != 0
    assert "已被另一个服务进程" in second.stderr and "请停止服务后再执行此命令" in second.stderr
    other = subprocess.run(
        [sys.executable, "-m", "forms_server", "serve"],
        env={**server.env, "PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode != 0 and "已被另一个服务进程" in other.stderr
    server.stop()
    assert server.cli("user", "list").stdout.startswith("chen\t陈晓东\tstaff\tCH\t启用")
    assert (Path(server.env["QMS_DATA_DIR"]) / "qms.json").exists()  # clean stop compacted
