"""The store on real files: durability, recovery, ownership, history, plain-TinyDB readability."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import hashlib
import itertools
import json
import logging
import os
import threading
from zoneinfo import ZoneInfo

import pytest
from tinydb import TinyDB

from forms_server import journal
from forms_server import store as store_module
from forms_server.store import Conflict, StorageError, Store, encode, entry_hash
from tests.serverkit import lines_of, write_at_end

TZ = ZoneInfo("Asia/Shanghai")


def clock():
    return dt.datetime(2026, 11, 21, 9, 30, tzinfo=TZ)


def record(form="QR-10-03", project="CH", **extra):
    return {
        "form": form,
        "form_version": "A/0",
        "project": project,
        "record_date": "2026-11-21",
        "values": {"checker": "陈晓东"},
        **extra,
    }


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db", clock).open()
    yield s
    s.close()


def crash(store: Store) -> None:
    """What kill -9 leaves: files as written, lock released by the kernel.

    An in-process simulation cannot stop a background compaction mid-way the way
    kill -9 does (tests/test_crash.py does that with real processes), so it lets
    a running one finish first.
    """
    if store._compactor:
        store._compactor.join()
    store._stop_flusher()  # idle: every commit it was asked for has been answered
    store._writer.close()
    journal.unlock_directory(store._lock_fd)
    store._lock_fd = None


def test_record_numbers_are_per_form_and_day(store):
    numbers = [store.add_submission(record(), "chen")["number"] for _ in range(3)]
    other = store.add_submission(record(form="QR-12-01"), "chen")["number"]
    assert numbers == ["QR-10-03-20261121-0001", "QR-10-03-20261121-0002", "QR-10-03-20261121-0003"]
    assert other == "QR-12-01-20261121-0001"


def test_acknowledged_records_survive_a_crash(tmp_path):
    s = Store(tmp_path / "db", clock).open()
    stored = [s.add_submission(record(), "chen")["number"] for _ in range(5)]
    crash(s)
    again = Store(tmp_path / "db", clock).open()
    assert sorted(d["number"] for d in again.find_submissions()) == stored
    # Numbering continues after the highest stored number.
    assert again.add_submission(record(), "chen")["number"] == "QR-10-03-20261121-0006"
    again.close()


def test_second_process_is_refused(store, tmp_path):
    with pytest.raises(StorageError, match=r"已被另一个服务进程\uff08pid \d+\uff09占用"):
        Store(tmp_path / "db", clock).open()


def test_clean_close_leaves_a_plain_tinydb_database(tmp_path):
    with Store(tmp_path / "db", clock) as s:
        s.add_submission(record(), "chen")
        s.add_user(
            {"username": "chen", "role": "staff", "project": "CH", "password_hash": "x"}, by="admin"
        )
    assert [p.name for p in (tmp_path / "db").glob("journal-*.jsonl")] == ["journal-000002.jsonl"]
    db = TinyDB(tmp_path / "db" / "qms.json")
    assert [d["number"] for d in db.table("submissions").all()] == ["QR-10-03-20261121-0001"]
    assert db.table("users").all()[0]["username"] == "chen"
    db.close()


def test_a_clean_close_after_a_crash_folds_the_replayed_journal_in(tmp_path):
    s = Store(tmp_path / "db", clock).open()
    s.add_submission(record(), "chen")
    crash(s)
    Store(tmp_path / "db", clock).open().close()  # started again, stopped without a commit
    db = TinyDB(tmp_path / "db" / "qms.json")
    assert [d["number"] for d in db.table("submissions").all()] == ["QR-10-03-20261121-0001"]
    db.close()


def test_torn_final_line_is_cut_with_a_warning(tmp_path, caplog):
    s = Store(tmp_path / "db", clock).open()
    s.add_submission(record(), "chen")
    path = s._writer.path
    crash(s)
    complete = lines_of(path)
    write_at_end(path, b'{"n": 2, "ops": [{"t": "submissions", "id": "2", "doc": {"numb')
    with caplog.at_level(logging.WARNING, logger="qms.store"):
        again = Store(tmp_path / "db", clock).open()
    assert "第 2 行写入不完整" in caplog.text
    assert [d["number"] for d in again.find_submissions()] == ["QR-10-03-20261121-0001"]
    assert path.read_bytes() == complete  # cut back to the complete lines
    again.close()


def test_a_final_write_with_a_hole_is_cut_whole(tmp_path, caplog):
    """The blocks of one write reach the disk in any order: after a crash, the last
    (never acknowledged) write may show zeros where its first block should be, then its
    end, then a complete line of the same write. Acknowledged lines hold no zeros, so
    from the first line with zeros on, everything is cut."""
    s = Store(tmp_path / "db", clock).open()
    s.add_submission(record(), "chen")
    path = s._writer.path
    crash(s)
    complete = lines_of(path)
    later = json.loads(complete)
    later["n"] = 3
    for op in later["ops"]:
        op["id"] = "3" if op["t"] == "submissions" else op["id"]
    write_at_end(path, b"\0" * 4096 + b'"}]}\n' + json.dumps(later).encode() + b"\n")
    with caplog.at_level(logging.WARNING, logger="qms.store"):
        again = Store(tmp_path / "db", clock).open()
    assert "第 2 行写入不完整" in caplog.text
    assert [d["number"] for d in again.find_submissions()] == ["QR-10-03-20261121-0001"]
    assert path.read_bytes() == complete
    again.close()


def test_journal_files_grow_in_zero_filled_steps(tmp_path, monkeypatch):
    """Space for the next commits is written (zeros) and synced ahead, so that a commit's
    fdatasync need not also record a new file size."""
    monkeypatch.setattr(journal, "PREALLOCATE", 4096)
    s = Store(tmp_path / "db", clock).open()
    path = s._writer.path
    synced = []  # the file's size at each sync: a step's zeros are on the disk before use
    sync_data = journal.sync_data
    monkeypatch.setattr(
        journal, "sync_data", lambda fd: (synced.append(os.fstat(fd).st_size), sync_data(fd))
    )
    sizes = []
    for _ in range(12):
        before = len(synced)
        s.add_submission(record(), "chen")
        sizes.append(path.stat().st_size)
        assert s._writer.size == len(lines_of(path))
        grown = len(sizes) == 1 or sizes[-1] > sizes[-2]
        assert synced[before:] == ([sizes[-1]] * 2 if grown else [sizes[-1]])
    assert all(size % 4096 == 0 for size in sizes)
    assert sizes[0] == 4096 and sizes[-1] > 4096  # grown again when the first step was used
    assert lines_of(path).count(b"\n") == 12
    crash(s)
    with Store(tmp_path / "db", clock) as again:
        assert len(again.find_submissions()) == 12


def test_without_room_to_preallocate_each_commit_takes_what_it_needs(tmp_path, monkeypatch):
    """Nearly full disk: zero-filling a step fails, the file is cut back and the commit
    written as a plain append; the rest of the file goes on that way."""
    step = journal.PREALLOCATE
    pwrite = journal.os.pwrite

    attempts = []

    def short_of_space(fd, data, offset):
        if len(data) >= step:
            attempts.append(offset)
            pwrite(fd, data[: step // 2], offset)  # what fitted
            raise OSError(errno.ENOSPC, "No space left on device")
        return pwrite(fd, data, offset)

    monkeypatch.setattr(journal.os, "pwrite", short_of_space)
    s = Store(tmp_path / "db", clock).open()
    for _ in range(3):
        s.add_submission(record(), "chen")
    path = s._writer.path
    assert path.read_bytes() == lines_of(path) and path.stat().st_size == s._writer.size
    assert attempts == [0]  # tried once, then plain appends
    crash(s)
    monkeypatch.undo()
    with Store(tmp_path / "db", clock) as again:
        assert len(again.find_submissions()) == 3


def test_damage_before_the_end_refuses_to_start(tmp_path):
    s = Store(tmp_path / "db", clock).open()
    for _ in range(3):
        s.add_submission(record(), "chen")
    path = s._writer.path
    crash(s)
    lines = lines_of(path).split(b"\n")
    lines[1] = b"garbage"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(StorageError, match=r"journal-000001\.jsonl 第 2 行已损坏"):
        Store(tmp_path / "db", clock).open()


def test_full_disk_stores_nothing_and_recovers(store, monkeypatch):
    store.add_submission(record(), "chen")
    path = store._writer.path
    complete = lines_of(path)

    def no_space(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal.os, "pwrite", no_space)
    with pytest.raises(StorageError, match="记录未能保存：磁盘空间不足"):
        store.add_submission(record(), "chen")
    monkeypatch.undo()
    assert path.read_bytes() == complete  # cut back to the acknowledged line, zeros too
    assert len(store.find_submissions()) == 1
    # After space is freed the store carries on, with an intact history chain.
    store.add_submission(record(), "chen")
    assert len(store.find_submissions()) == 2
    chain = sorted(store.search("history"), key=lambda e: e["seq"])
    assert [e["seq"] for e in chain] == [1, 2]
    assert chain[1]["prev"] == chain[0]["hash"]


def test_unwritable_directory_gives_a_clear_error(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(journal.os, "open", read_only)
    with pytest.raises(StorageError, match="数据目录为只读"):
        Store(tmp_path / "db", clock).open()


def test_client_key_makes_a_retry_return_the_first_submission(store):
    first = store.add_submission(record(), "chen", client_key="k-1")
    again = store.add_submission(record(), "chen", client_key="k-1")
    assert again["number"] == first["number"]
    assert len(store.find_submissions()) == 1


def test_concurrent_writers_get_unique_numbers(store):
    errors = []

    def work():
        try:
            for _ in range(25):
                store.add_submission(record(), "chen")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = [d["number"] for d in store.find_submissions()]
    assert len(numbers) == 400 and len(set(numbers)) == 400


def test_background_compaction_keeps_every_commit(tmp_path):
    s = Store(tmp_path / "db", clock, compact_every=50).open()
    stop = threading.Event()
    written = []

    def writer():
        while not stop.is_set() and len(written) < 400:
            written.append(s.add_submission(record(), "chen")["number"])

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    crash(s)
    again = Store(tmp_path / "db", clock).open()
    assert sorted(d["number"] for d in again.find_submissions()) == sorted(written)
    assert (tmp_path / "db" / "qms.json").exists()
    assert len(list((tmp_path / "db").glob("journal-*.jsonl"))) <= 3
    again.close()


def snapshot_of(tmp_path, s: Store) -> tuple[int, int]:
    """The commit the snapshot covers and its size in bytes (once a running one is written)."""
    if s._compactor:
        s._compactor.join()
    path = tmp_path / "db" / "qms.json"
    if not path.exists():
        return 0, 0
    return json.loads(path.read_text(encoding="utf-8"))["_meta"]["1"]["commit"], path.stat().st_size


def test_snapshots_come_further_apart_as_the_data_grows(tmp_path):
    """A snapshot is written by the first commit that brings the journal to the size of the
    last snapshot (and at least `compact_every` commits): the interval grows with the data."""
    s = Store(tmp_path / "db", clock, compact_every=10).open()
    snapshots = [(0, 0)]  # (commit covered, bytes)
    for _ in range(80):
        writer = s._writer
        before = writer.size
        s.add_submission(record(), "chen")
        covered, size = snapshot_of(tmp_path, s)
        if covered != snapshots[-1][0]:
            # This commit brought the journal to the size of the last snapshot; the one
            # before it had not (the first snapshot: there was none).
            last_size = snapshots[-1][1]
            assert last_size <= writer.size and (before < last_size or last_size == 0)
            snapshots.append((covered, size))
    covered = [c for c, _ in snapshots]
    intervals = [b - a for a, b in itertools.pairwise(covered)]
    # The first: the minimum number of commits. Then about as many commits as the last
    # snapshot covers (the journal line of a document is about as long as its snapshot entry).
    assert intervals[0] == 10 and len(intervals) >= 4
    for previous, interval in zip(covered[1:-1], intervals[1:], strict=True):
        assert 0.8 * previous <= interval <= 1.25 * previous, (covered, intervals)
    s.close()


def test_a_journal_replayed_at_start_counts_towards_the_next_snapshot(tmp_path):
    s = Store(tmp_path / "db", clock, compact_every=10).open()
    for _ in range(6):
        s.add_submission(record(), "chen")
    crash(s)
    again = Store(tmp_path / "db", clock, compact_every=10).open()
    for _ in range(3):
        again.add_submission(record(), "chen")
    assert snapshot_of(tmp_path, again)[0] == 0
    again.add_submission(record(), "chen")  # the tenth commit a start would replay
    assert snapshot_of(tmp_path, again)[0] == 10
    again.close()


def test_history_records_who_changed_what(store):
    store.add_user(
        {"username": "chen", "role": "staff", "project": "CH", "password_hash": "h1"}, by="admin"
    )
    store.update_user("chen", {"role": "quality", "password_hash": "h2"}, by="admin")
    user_id = store.search("users")[0]["id"]
    history = store.history_of("users", user_id)
    assert [(e["action"], e["by"]) for e in history] == [("create", "admin"), ("update", "admin")]
    changes = history[1]["changes"]
    assert changes["role"] == ["staff", "quality"]
    assert changes["password_hash"] == ["***", "***"]
    assert "h2" not in json.dumps(history, ensure_ascii=False)
    assert history[1]["prev"] == history[0]["hash"] == entry_hash(history[0])
    # Each entry carries the digest of the record as it stood after the change.
    current = {k: v for k, v in store.search("users")[0].items() if k != "id"}
    assert history[1]["digest"] == hashlib.sha256(encode(current).encode("utf-8")).hexdigest()
    assert history[0]["changes"] == {}  # a new record's values are the record itself


def test_duplicate_username_is_refused(store):
    store.add_user({"username": "chen", "role": "staff"}, by="admin")
    with pytest.raises(Conflict, match="用户名 chen 已存在"):
        store.add_user({"username": "chen", "role": "staff"}, by="admin")


def test_sessions_expire_and_end(store):
    sid, _ = store.create_session("chen", hours=12)
    assert store.get_session(sid)["username"] == "chen"
    store.delete_session(sid)
    assert store.get_session(sid) is None
    sid, doc = store.create_session("chen", hours=0)
    assert store.get_session(sid) is None  # expired at creation


def test_tokens_are_stored_hashed_and_revocable(store):
    token, doc = store.create_token("chen", "巡检终端", by="admin")
    assert token not in json.dumps(store.tables, ensure_ascii=False)
    assert store.find_token(token)["username"] == "chen"
    store.revoke_token(doc["token_id"], by="admin")
    assert store.find_token(token) is None


def test_attachments_are_durable_files(store):
    doc = store.add_attachment(b"\x89PNG\r\n\x1a\nxx", "image/png", "现场.png", by="chen")
    meta, content = store.get_attachment(doc["attachment_id"])
    assert content == b"\x89PNG\r\n\x1a\nxx" and meta["content_type"] == "image/png"
    assert store.attachments_exist([doc["attachment_id"], "0" * 32]) == ["0" * 32]


def test_acknowledging_twice_keeps_one_record(store):
    first = store.acknowledge("chen", "QP-01", "A/1", "2026.1", "abc123")
    again = store.acknowledge("chen", "QP-01", "A/1", "2026.2", "def456")
    assert again == first and store.count("acknowledgements") == 1
    store.acknowledge("chen", "QP-01", "A/2", None, None)
    assert sorted(a["version"] for a in store.search("acknowledgements")) == ["A/1", "A/2"]


def test_one_readers_acknowledgements_come_from_the_index_as_a_scan_finds_them(store):
    for username, version in [("chen", "A/1"), ("wang", "A/1"), ("chen", "A/2"), ("wang", "A/2")]:
        store.acknowledge(username, "QP-01", version, None, None)
    every = store.search("acknowledgements")
    for username in ("chen", "wang", "nobody"):
        mine = store.search_acknowledgements(username)
        assert mine == [a for a in every if a["username"] == username]
    assert [a["version"] for a in store.search_acknowledgements("chen")] == ["A/1", "A/2"]


def test_record_history_lists_every_change_of_a_numbered_record(store):
    number = store.add_submission(record(), "chen")["number"]
    store.update("submissions", number, lambda d: {**d, "note": "补记"}, by="zhang", action="amend")
    history = store.record_history("submissions", number)
    assert [(e["action"], e["by"]) for e in history] == [("create", "chen"), ("amend", "zhang")]
    assert history[1]["changes"] == {"note": [None, "补记"]}
    assert store.record_history("submissions", "QR-10-03-20990101-0001") == []


def filled(tmp_path) -> list[str]:
    """A closed data directory with three records and a change; returns their numbers."""
    with Store(tmp_path / "db", clock) as s:
        numbers = [s.add_submission(record(), "chen")["number"] for _ in range(3)]
        s.update(
            "submissions", numbers[1], lambda d: {**d, "note": "补记"}, by="zhang", action="amend"
        )
    return numbers


def test_an_untouched_chain_verifies(tmp_path):
    filled(tmp_path)
    with Store(tmp_path / "db", clock) as s:
        result = s.verify()
        head = max(s.search("history"), key=lambda e: e["seq"])["hash"]
    assert result == {"ok": True, "entries": 4, "records": 3, "broken": None, "head": head}


def test_a_changed_history_entry_is_named(tmp_path):
    filled(tmp_path)
    path = tmp_path / "db" / "qms.json"
    data = json.loads(path.read_text("utf-8"))
    data["history"]["2"]["by"] = "wang"  # someone rewrites who made the record
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with Store(tmp_path / "db", clock) as s:
        result = s.verify()
    assert result["ok"] is False
    assert result["broken"]["seq"] == 2 and result["broken"]["table"] == "submissions"
    assert "内容被改动" in result["broken"]["reason"]


def test_a_deleted_history_entry_is_named(tmp_path):
    filled(tmp_path)
    path = tmp_path / "db" / "qms.json"
    data = json.loads(path.read_text("utf-8"))
    del data["history"]["3"]
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with Store(tmp_path / "db", clock) as s:
        broken = s.verify()["broken"]
    assert broken["seq"] == 3 and "序号不连续" in broken["reason"]


def test_a_record_changed_without_history_is_named(tmp_path):
    numbers = filled(tmp_path)
    path = tmp_path / "db" / "qms.json"
    data = json.loads(path.read_text("utf-8"))
    data["submissions"]["1"]["values"]["checker"] = "王五"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with Store(tmp_path / "db", clock) as s:
        broken = s.verify()["broken"]
    assert (broken["seq"], broken["record"]) == (1, "1")
    assert numbers[0] != numbers[1] and "记录被改动" in broken["reason"]


def test_a_changed_journal_line_is_named(tmp_path):
    """Tampering before compaction: the entry lives only in the journal."""
    s = Store(tmp_path / "db", clock).open()
    for _ in range(2):
        s.add_submission(record(), "chen")
    crash(s)
    (path,) = (tmp_path / "db").glob("journal-*.jsonl")
    lines = lines_of(path).decode("utf-8").splitlines()
    entry = json.loads(lines[1])
    for op in entry["ops"]:
        if op["t"] == "history":
            op["doc"]["at"] = "2026-11-20T08:00:00+08:00"  # back-dated
    lines[1] = json.dumps(entry, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with Store(tmp_path / "db", clock) as s:
        broken = s.verify()["broken"]
    assert broken["seq"] == 2 and "内容被改动" in broken["reason"]


def test_a_commit_completes_while_the_chain_is_being_verified(tmp_path, monkeypatch):
    """Verifying hashes every history entry and record (seconds on a large store): commits
    must not wait for it. The first hash verify computes starts a commit and waits for it."""
    filled(tmp_path)
    s = Store(tmp_path / "db", clock).open()
    committed = threading.Event()
    during: list[bool] = []
    real_hash = store_module.entry_hash

    def commit() -> None:
        s.add_submission(record(), "chen")
        committed.set()

    def hashing(entry: dict) -> str:
        if not during:
            during.append(False)  # the commit's own history entry is hashed as usual
            threading.Thread(target=commit).start()
            during[0] = committed.wait(timeout=10)
        return real_hash(entry)

    monkeypatch.setattr(store_module, "entry_hash", hashing)
    result = s.verify()
    assert during == [True]  # the commit finished while verify was hashing
    # Verify checked the data as it stood when it began, before that commit.
    head = next(e["hash"] for e in s.search("history") if e["seq"] == 4)
    assert result == {"ok": True, "entries": 4, "records": 3, "broken": None, "head": head}
    assert s.verify()["entries"] == 5
    s.close()


def test_dates_inside_a_month_filter_by_day(store):
    """The month index narrows a date range to whole months; bounds inside a month are
    compared day by day. Checked against a plain scan of every record."""
    dates = ["2026-10-31", "2026-11-01", "2026-11-04", "2026-11-05", "2026-11-12", "2026-11-20",
             "2026-11-21", "2026-11-30", "2026-12-01", None]  # fmt: skip
    for date in dates:
        doc = record(record_date=date)
        if date is None:
            del doc["record_date"]
        store.add_submission(doc, "chen")
    every = store.find_submissions()
    ranges = [("2026-11-05", "2026-11-20"), ("2026-11-05", None), (None, "2026-11-20"),
              ("2026-11-01", "2026-11-30"), ("2026-10-31", "2026-11-04"), ("2026-11-21", "2026-11-21")]  # fmt: skip
    for low, high in ranges:
        expected = [
            d["number"]
            for d in every
            if d.get("record_date")
            and (low is None or d["record_date"] >= low)
            and (high is None or d["record_date"] <= high)
        ]
        found = [d["number"] for d in store.find_submissions(date_from=low, date_to=high)]
        assert found == expected, (low, high)
    days = store.find_submissions(date_from="2026-11-05", date_to="2026-11-20")
    assert [d["record_date"] for d in days] == ["2026-11-20", "2026-11-12", "2026-11-05"]


# Commits from the event loop ---------------------------------------------------------


def test_commits_from_the_event_loop_share_one_write(store, monkeypatch):
    writes = []
    append = store._writer.append

    def counted(payload: bytes, count: int) -> None:
        writes.append(count)
        append(payload, count)

    monkeypatch.setattr(store._writer, "append", counted)

    async def twenty():
        return await asyncio.gather(
            *(store.add_submission_json(record(), "chen") for _ in range(20))
        )

    numbers = [doc["number"] for doc, _ in asyncio.run(twenty())]
    assert numbers == [f"QR-10-03-20261121-{n:04d}" for n in range(1, 21)]
    assert writes == [20]  # all twenty waited for the same fsync
    crash(store)
    with Store(store.data_dir, clock) as again:
        assert sorted(d["number"] for d in again.find_submissions()) == numbers
        assert again.verify()["ok"]


def test_a_submission_is_encoded_once_for_its_line_its_digest_and_the_answer(store):
    doc, text = asyncio.run(store.add_submission_json(record(), "chen", client_key="重试-1"))
    assert doc["client_key"] == "重试-1"
    assert text == encode({k: v for k, v in doc.items() if k != "client_key"})
    line = lines_of(store._writer.path).decode("utf-8").splitlines()[-1]
    assert f'"doc":{encode(doc)}}}' in line
    entry = next(op["doc"] for op in json.loads(line)["ops"] if op["t"] == "history")
    assert entry["digest"] == hashlib.sha256(encode(doc).encode("utf-8")).hexdigest()
    assert entry["hash"] == entry_hash(entry)
    # A retry with the same key answers the stored submission, encoded the same way.
    assert asyncio.run(store.add_submission_json(record(), "chen", client_key="重试-1")) == (
        doc,
        text,
    )


def test_commits_from_threads_and_the_event_loop_interleave(store):
    def from_a_thread():
        for _ in range(30):
            store.add_submission(record(), "wang")

    async def from_the_loop():
        for _ in range(30):
            await asyncio.gather(*(store.add_submission_json(record(), "chen") for _ in range(3)))

    threads = [threading.Thread(target=from_a_thread) for _ in range(3)]
    for t in threads:
        t.start()
    asyncio.run(from_the_loop())
    for t in threads:
        t.join()
    numbers = [d["number"] for d in store.find_submissions()]
    assert sorted(numbers) == [f"QR-10-03-20261121-{n:04d}" for n in range(1, 181)]
    assert store.verify()["ok"]
    crash(store)
    with Store(store.data_dir, clock) as again:
        assert again.count("submissions") == 180
        assert again.verify()["ok"]


def test_a_cancelled_wait_neither_drops_the_commit_nor_frees_its_key_early(store):
    async def cancel_while_writing():
        waiter = asyncio.create_task(store.add_submission_json(record(), "chen", client_key="k"))
        await asyncio.sleep(0)  # queued, waiting for its batch
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        # The commit went on to the disk before the cancellation was let through.
        assert store.count("submissions") == 1
        return await store.add_submission_json(record(), "chen", client_key="k")

    doc, _ = asyncio.run(cancel_while_writing())
    assert doc["number"] == "QR-10-03-20261121-0001"
    assert store.count("submissions") == 1


def test_a_full_disk_fails_an_event_loop_commit_and_stores_nothing(store, monkeypatch):
    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal.os, "pwrite", full)
    with pytest.raises(StorageError, match="磁盘空间不足"):
        asyncio.run(store.add_submission_json(record(), "chen", client_key="k"))
    monkeypatch.undo()
    assert store.count("submissions") == 0
    doc, _ = asyncio.run(store.add_submission_json(record(), "chen", client_key="k"))
    assert store.count("submissions") == 1 and store.verify()["ok"]


def test_a_value_json_cannot_hold_fails_its_own_commit_before_anything_is_written(store):
    size = store._writer.size
    with pytest.raises(TypeError):
        store.add_submission(record(values={"checker": {"陈晓东"}}), "chen", client_key="k")
    with pytest.raises(TypeError):
        store.add_user({"username": "li", "role": "staff", "teams": {"保洁"}}, "admin")
    assert store._writer.size == size
    assert store.add_submission(record(), "chen", client_key="k")["client_key"] == "k"
    store.add_user({"username": "li", "role": "staff"}, "admin")
    assert store.count("submissions") == 1 and store.count("users") == 1
    assert store.verify()["ok"]


def test_the_flusher_thread_stops_when_the_store_closes(tmp_path):
    def flushers():
        return {t for t in threading.enumerate() if t.name == "qms-flusher"}

    others = flushers()
    store = Store(tmp_path / "db", clock).open()
    assert flushers() == others  # started by the first commit from an event loop
    asyncio.run(store.add_submission_json(record(), "chen"))
    (flusher,) = flushers() - others
    asyncio.run(store.add_submission_json(record(), "chen"))
    assert flushers() - others == {flusher}  # one for the store's life, whatever the loop
    store.close()
    assert not flusher.is_alive()
    with Store(tmp_path / "db", clock) as again:
        doc, _ = asyncio.run(again.add_submission_json(record(), "chen"))
        assert doc["number"] == "QR-10-03-20261121-0003"
    assert flushers() == others


def test_a_failure_to_apply_fails_its_commits_and_the_flusher_goes_on(store, monkeypatch):
    apply = store._apply

    def broken(ops, index=True):
        if any(op["t"] == "submissions" and op["doc"]["values"]["checker"] == "坏" for op in ops):
            raise KeyError("checker")
        apply(ops, index)

    monkeypatch.setattr(store, "_apply", broken)
    outcomes = []

    async def two():
        for checker in ("坏", "陈晓东"):
            try:
                outcomes.append(
                    (await store.add_submission_json(record(values={"checker": checker}), "chen"))[
                        0
                    ]["number"]
                )
            except KeyError as exc:
                outcomes.append(exc)

    # In a thread of its own: were a waiter never answered, the test fails instead of hanging.
    worker = threading.Thread(target=asyncio.run, args=(two(),), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "a commit was never answered"
    assert [type(o) for o in outcomes] == [KeyError, str]
    assert outcomes[1] == "QR-10-03-20261121-0002"
    assert store.count("submissions") == 1
