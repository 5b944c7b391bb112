"""Faults with real server processes: kill -9 under load, a second server, a full disk,
a read-only data directory, a torn final write, and many writers at once.

`make bench` runs the long crash series (bench/crash.py: 20 cycles); here a shorter one.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.serverkit import GOOD, Server, Submitters, crash_cycles, free_port, write_at_end

pytestmark = pytest.mark.slow


def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path):
    totals = crash_cycles(tmp_path, cycles=4, clients=16, seconds=1.0)
    assert totals["acknowledged"] > 100  # the load really ran
    assert totals["stored"] >= totals["acknowledged"]


def test_second_server_on_the_same_data_directory_is_refused(tmp_path):
    server = Server(tmp_path)
    server.add_user_with_token()
    server.start()
    try:
        second = server.cli("user", "list")
        assert second.returncode != 0
        assert "已被另一个服务进程" in second.stderr and "请停止服务后再执行此命令" in second.stderr
        other = subprocess.run([sys.executable, "-m", "forms_server", "serve"],
                               env={**server.env, "PORT": str(free_port())},
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert other.returncode != 0 and "已被另一个服务进程" in other.stderr
    finally:
        server.stop()
    assert server.cli("user", "list").stdout.startswith("chen\t陈晓东\tstaff\tCH\t启用")
    assert (server.data_dir / "qms.json").exists()  # a clean stop folds the journal into qms.json


def test_a_full_disk_refuses_clearly_and_keeps_every_acknowledged_record(tmp_path):
    """The data directory runs out of space (a file-size limit on the server process:
    writes past it fail as on a full disk). Nothing half-written stays; after space is
    freed, the server starts with every acknowledged record."""
    server = Server(tmp_path)
    headers = server.add_user_with_token()
    limit = 48 * 1024  # bytes any file of the process may reach

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    server.start(preexec=small_disk)
    load = Submitters(server, headers, count=4, per_client=60).start()
    load.wait()
    assert load.acknowledged, "some submissions fit before the disk was full"
    assert load.refused, "the disk never filled up"
    statuses = {status for status, _ in load.refused}
    details = {body["detail"] for _, body in load.refused}
    assert statuses == {503}
    assert details == {"记录未能保存：磁盘空间不足。本次提交未保存，请稍后重试或联系管理员。"}
    # Reading still works while writing cannot.
    assert httpx.get(f"{server.base}/api/submissions?limit=1", headers=headers).status_code == 200
    server.kill()
    for path in server.data_dir.glob("journal-*.jsonl"):
        data = path.read_bytes()  # no room to zero-fill ahead: nothing but complete lines
        assert not data or data.endswith(b"\n"), f"{path.name} ends in a partial line"
    server.start()  # space freed: no limit any more
    stored = server.numbers(headers)
    assert sorted(stored) == sorted(set(stored))
    assert set(load.acknowledged) <= set(stored)
    assert len(stored) == len(load.acknowledged)  # refused submissions were not stored
    with httpx.Client(base_url=server.base, headers=headers) as http:
        assert http.post("/api/forms/QR-10-99/submissions", json=GOOD).status_code == 201
    server.stop()


@contextlib.contextmanager
def read_only(directory: Path):
    """Make ``directory`` and its files unwritable, also for root (who ignores modes):
    ``chattr +i`` marks them immutable. Restored afterwards."""
    paths = [directory, *directory.rglob("*")]
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    marked = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    assert marked.returncode == 0, f"cannot make the directory read-only for root: {marked.stderr}"
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def test_a_read_only_data_directory_is_refused_with_a_clear_message(tmp_path):
    server = Server(tmp_path)
    headers = server.add_user_with_token()
    server.start()
    numbers = server.submit(headers, 3)
    server.stop()
    before = {p.name: p.read_bytes() for p in server.data_dir.iterdir() if p.is_file()}

    with read_only(server.data_dir):
        server.start(wait=False)
        code, output = server.wait_exit()
    assert code != 0
    assert f"无法使用数据目录 {server.data_dir}：没有写入权限" in output
    assert "Traceback" not in output
    after = {p.name: p.read_bytes() for p in server.data_dir.iterdir() if p.is_file()}
    assert after == before  # nothing changed, nothing created
    server.start()
    assert set(numbers) <= set(server.numbers(headers))
    server.stop()


def test_a_torn_final_write_is_cut_off_with_a_warning(tmp_path):
    server = Server(tmp_path)
    headers = server.add_user_with_token()
    server.start()
    numbers = server.submit(headers, 3)
    server.kill()
    (journal,) = [p for p in server.data_dir.glob("journal-*.jsonl") if p.stat().st_size]
    write_at_end(journal, b'{"n":99,"ops":[{"t":"submissions","id":"4","doc":{"form":"QR-1')
    server.start()
    assert sorted(server.numbers(headers)) == sorted(numbers)
    server.stop()
    assert "写入不完整（进程在写入时中断），已截去；该提交未曾确认。" in server.output
    # The clean stop folded the replayed journal, cut back, into the snapshot.
    assert not journal.exists()
    snapshot = json.loads((server.data_dir / "qms.json").read_text(encoding="utf-8"))
    assert sorted(d["number"] for d in snapshot["submissions"].values()) == sorted(numbers)


def test_32_writers_200_submissions_each(tmp_path):
    server = Server(tmp_path)
    headers = server.add_user_with_token()
    server.start()
    try:
        load = Submitters(server, headers, count=32, per_client=200).start()
        load.wait()
        assert load.refused == []
        assert len(load.acknowledged) == 6400
        assert len(set(load.acknowledged)) == 6400  # no record number given twice
        stored = server.numbers(headers)
        assert len(stored) == 6400 and set(stored) == set(load.acknowledged)
    finally:
        server.stop()
    assert Path(server.data_dir / "qms.json").exists()
