"""The store: TinyDB as the query engine over data that is durable on disk.

The only module that imports tinydb. Handlers call business verbs
(`add_submission`, `find_submissions`, `create_session`, …), never queries.

Why not TinyDB's own write path: ``Table._update_table`` rebuilds the whole
table on every insert (and ``JSONStorage`` then rewrites the whole file), so the
cost of one insert grows with the database. Here every change is a *commit*: a
journal line appended and fsync'd (see `forms_server.journal`), then applied to
the in-memory tables, which are laid out exactly as TinyDB stores them
(``{table: {"id": document}}``). TinyDB reads them through `LiveStorage` for
every query. Concurrent commits share one fsync (group commit). Submissions,
the busiest writes, commit from the event loop (`add_submission_json`): the
loop encodes them, one long-lived flusher thread writes whatever commits are
waiting at that moment with one fsync, so the loop never waits for the disk and a
busy server makes one trip to a thread per batch rather than per request. A snapshot in
plain TinyDB JSON format is written in the background when the journal grows,
and on clean shutdown, so ``TinyDB("qms.json")`` opens the data directly.

Every change to a business record also appends an entry to the ``history``
table in the same commit: who, when, what changed (old and new values), and a
hash chaining it to the previous entry so that tampering can be detected.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import hashlib
import json
import logging
import operator
import queue
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from forms_server import journal
from forms_server.journal import StorageError

log = logging.getLogger("qms.store")

ZERO_HASH = "0" * 64
#: Tables whose records carry a human-readable number PREFIX-YYYYMMDD-NNNN.
NUMBERED = ("submissions", "notices", "reinspections")
#: Tables whose changes are business records, kept in the history with a hash chain.
AUDITED = {
    "submissions",
    "users",
    "tokens",
    "complaints",
    "notices",
    "reinspections",
    "acknowledgements",
}
#: Values never copied into the history in clear.
SECRET_FIELDS = {"password_hash", "token_hash"}


class Conflict(Exception):
    """A business rule refuses the change (shown to the user, HTTP 409)."""


class LiveStorage(Storage):
    """TinyDB storage over the store's in-memory tables (read-only for TinyDB)."""

    def __init__(self, tables: dict[str, dict]):
        self.tables = tables

    def read(self) -> dict[str, dict]:
        return self.tables

    def write(self, data) -> None:  # pragma: no cover - guarded by design
        raise RuntimeError("写入必须通过 Store 的业务方法完成")


class RWLock:
    """Many readers or one writer (writers are short: applying a committed change)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    def read(self):
        return _Guard(self._acquire_read, self._release_read)

    def write(self):
        return _Guard(self._acquire_write, self._release_write)

    def _acquire_read(self) -> None:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1

    def _release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def _acquire_write(self) -> None:
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True

    def _release_write(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()


class _Guard:
    def __init__(self, enter: Callable, leave: Callable):
        self._enter, self._leave = enter, leave

    def __enter__(self):
        self._enter()

    def __exit__(self, *exc):
        self._leave()


@dataclass
class Change:
    """One write inside a commit: upsert ``doc`` (or delete) at ``table``/``doc_id``."""

    table: str
    doc_id: str
    doc: dict | None  # None: delete
    by: str = ""
    action: str = ""
    text: str | None = None  # `encode(doc)`: made by `_enqueue` unless the caller made it


@dataclass
class _Pending:
    number: int
    changes: list[Change]
    ops: list[dict] = field(default_factory=list)
    done: bool = False
    error: Exception | None = None
    #: Set by `_commit_async`: resolved on its event loop once the commit is done.
    future: asyncio.Future | None = None


@dataclass
class Store:
    data_dir: Path
    clock: Callable[[], dt.datetime]
    #: A new snapshot is written once the journal (every file a start would replay) holds at
    #: least this many commits and as many bytes as the last snapshot times `compact_ratio`:
    #: writing a snapshot encodes every document, so with a fixed interval each commit would
    #: pay for more and more of them as the data grows (at 100 000 records and every 20 000
    #: commits, five documents per commit); in proportion, it pays for about as many bytes as
    #: it wrote. A start reads the snapshot and at most about `compact_ratio` times as much
    #: journal.
    compact_every: int = 20_000
    compact_ratio: float = 1.0
    #: Commits between two moves of the surviving objects out of the garbage collector's
    #: generations (see `_freeze`).
    freeze_every: int = 500
    tables: dict[str, dict] = field(default_factory=dict)

    # Lifecycle ---------------------------------------------------------------

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self._lock_fd: int | None = None
        self._rw = RWLock()
        self._queue_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._mutate_lock = threading.RLock()
        self._alloc_lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._flusher: threading.Thread | None = None  # writes the event loop's commits
        self._flush_wanted: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._next_commit = 1
        self._applied = 0
        self._writer: journal.JournalWriter | None = None
        self._compacting = threading.Lock()
        self._snapshot_bytes = 0  # size of the snapshot last read or written
        # Commits and bytes of the journal files a start replayed: replayed again at the next
        # start, until a snapshot covers them (the writer counts those of its own file).
        self._older_commits = self._older_bytes = 0
        self._compactor: threading.Thread | None = None
        self._compactor_lock = threading.Lock()
        self._db = TinyDB(storage=LiveStorage, tables=self.tables)  # type: ignore[arg-type]
        self._next_id: dict[str, int] = {}
        self._indexes: dict[tuple[str, str], dict[object, str]] = {}
        self._groups: dict[tuple[str, str], dict[object, set[str]]] = {}
        self._counters: dict[str, int] = {}
        self._reserved: set[str] = set()
        self._last_hash = ZERO_HASH
        self._history_seq = 0
        self._frozen_at = 0
        self._freezing = threading.Lock()

    def open(self) -> Store:
        """Take ownership of the data directory and load it."""
        self._lock_fd = journal.lock_directory(self.data_dir)
        try:
            (self.data_dir / "attachments").mkdir(exist_ok=True)
            self._load()
        except Exception:
            journal.unlock_directory(self._lock_fd)
            self._lock_fd = None
            raise
        return self

    def close(self, compact: bool = True) -> None:
        """Fold the journal into the snapshot (so plain TinyDB sees everything) and release."""
        if self._lock_fd is None:
            return
        self._stop_flusher()
        if self._compactor:
            self._compactor.join()
        try:
            if compact and self._writer and (self._writer.lines or self._older_commits):
                self.compact()
        finally:
            if self._writer:
                self._writer.close()
                self._writer = None
            journal.unlock_directory(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def _load(self) -> None:
        snapshot = journal.read_snapshot(self.data_dir)
        meta = (snapshot.pop("_meta", {}) or {}).get("1", {})
        covered = int(meta.get("commit", 0))
        self.tables.clear()
        self.tables.update(
            {name: dict(docs) for name, docs in snapshot.items() if isinstance(docs, dict)}
        )
        self._snapshot_bytes = journal.snapshot_size(self.data_dir)
        last = covered
        files = journal.journal_files(self.data_dir)
        for _, path in files:
            for entry, size in journal.read_journal(path):
                self._older_commits += 1
                self._older_bytes += size
                number = int(entry["n"])
                if number <= covered:
                    continue
                self._apply(entry["ops"], index=False)
                last = number
        self._next_commit = last + 1
        self._applied = last
        index = files[-1][0] + 1 if files else 1
        self._writer = journal.JournalWriter(self.data_dir, index)
        self._rebuild_derived()
        self._freeze()

    # Commits -----------------------------------------------------------------

    def _enqueue(self, changes: list[Change], future: asyncio.Future | None = None) -> _Pending:
        """Queue a commit for the next batch. Its documents are encoded here, by the caller
        and outside the flush lock: one that cannot be (a value JSON does not have) fails
        this commit only, and before anything is written."""
        for change in changes:
            if change.text is None:
                change.text = encode(change.doc)
        with self._queue_lock:
            pending = _Pending(self._next_commit, changes, future=future)
            self._next_commit += 1
            self._pending.append(pending)
        return pending

    def _commit(self, changes: list[Change]) -> None:
        """Make ``changes`` durable, then visible. Returns only after fsync."""
        pending = self._enqueue(changes)
        with self._flush_lock:
            if not pending.done:
                _wake(self._flush())
        self._committed(pending)

    async def _commit_async(self, changes: list[Change]) -> None:
        """`_commit` for a handler on the event loop, without a thread of its own per commit:
        the commits that arrive while one batch is written are written together by the next,
        by one long-lived flusher thread (the loop itself never waits for the disk)."""
        loop = asyncio.get_running_loop()
        pending = self._enqueue(changes, loop.create_future())
        if self._flusher is None:
            self._start_flusher()
        # Asked once the handlers the loop is running now have queued their commits too, so
        # that those arriving together are written together.
        loop.call_soon(self._flush_wanted.put, True)
        try:
            await asyncio.shield(pending.future)
        except asyncio.CancelledError:
            # As a worker thread would: the commit is not abandoned, so neither is the wait.
            await asyncio.shield(pending.future)
            raise
        self._committed(pending)

    def _start_flusher(self) -> None:
        with self._queue_lock:
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_when_wanted, name="qms-flusher", daemon=True
                )
                self._flusher.start()

    def _flush_when_wanted(self) -> None:
        """The flusher thread: one flush per wake-up, however many commits asked meanwhile;
        a False asks it to stop (`close`, after a last flush)."""
        wanted = self._flush_wanted
        while True:
            go = wanted.get()
            while not wanted.empty():
                go = wanted.get_nowait() and go
            try:
                _wake(self._flush_locked())
            except Exception:  # the thread must go on: every later commit would wait for it
                log.exception("写盘线程出错")
            if not go:
                return

    def _stop_flusher(self) -> None:
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            self._flush_wanted.put(False)
            flusher.join()

    def _flush_locked(self) -> list[_Pending]:
        with self._flush_lock:
            return self._flush()

    def _committed(self, pending: _Pending) -> None:
        """After a commit's batch is done: its error, else the upkeep a commit may trigger."""
        if pending.error:
            raise pending.error
        if self._compaction_due():
            self._compact_in_background()
        if self._applied - self._frozen_at >= self.freeze_every:
            self._freeze()

    def _compaction_due(self) -> bool:
        """The rule of `compact_every` and `compact_ratio`."""
        writer = self._writer
        if writer is None:
            return False
        commits = self._older_commits + writer.lines
        size = self._older_bytes + writer.size
        return commits >= self.compact_every and size >= self._snapshot_bytes * self.compact_ratio

    def _freeze(self) -> None:
        """Collect garbage, then move every surviving object out of the collector's
        generations. Stored documents live as long as the process and hold no cycles:
        left in the oldest generation, each full collection would walk all of them, and
        the writes that trigger one would wait for as long as the data is large. Done on
        load and every `freeze_every` commits, so the collector only ever walks the
        objects of the last few hundred commits (a pause of a few milliseconds).

        The cost: whatever other requests hold at that moment is frozen too, and a frozen
        object that later becomes cyclic garbage is never collected (reference counting
        still frees the rest). Measured: 3 000 API submissions, 8 at a time, a third refused
        by validation, a freeze every 50 commits; afterwards `gc.unfreeze(); gc.collect()`
        found no cyclic garbage. Rerun that check if request handling changes a lot."""
        if not self._freezing.acquire(blocking=False):
            return  # another thread is doing it
        try:
            gc.collect()
            gc.freeze()
            self._frozen_at = self._applied
        finally:
            self._freezing.release()

    def _flush(self) -> list[_Pending]:
        """Write every queued commit with one fsync (group commit), then apply them; returns
        them, done (their waiters to `_wake`).

        Runs under the flush lock, so commits reach the journal, the history
        chain and memory in the order of their numbers.
        """
        with self._queue_lock:
            batch, self._pending = self._pending, []
        if not batch:
            return batch
        try:
            lines = []
            for p in batch:
                p.ops = [{"t": c.table, "id": c.doc_id, "doc": c.doc} for c in p.changes]
                # Each document is encoded once (by `_enqueue`): the same text goes into the
                # line and its digest.
                parts = [op_line(c.table, c.doc_id, c.text) for c in p.changes]
                for op, text in self._history_ops(p.changes):
                    p.ops.append(op)
                    parts.append(op_line(op["t"], op["id"], text))
                lines.append(f'{{"n":{p.number},"ops":[{",".join(parts)}]}}')
            assert self._writer is not None
            self._writer.append(("\n".join(lines) + "\n").encode("utf-8"), len(batch))
        except Exception as exc:  # StorageError; anything else must not leave a waiter waiting
            # Nothing of this batch is on disk or in memory; the history chain
            # continues from the last durable entry.
            self._rebuild_chain_state()
            for p in batch:
                p.error, p.done = exc, True
            return batch
        with self._rw.write():
            try:
                for p in batch:
                    self._apply(p.ops)
                    p.done = True
            except Exception as exc:  # a bug: durable, so a restart replays it; say so to all
                log.exception("提交 %d 已写入日志，但未能载入内存；重启服务后生效", p.number)
                for p in batch:
                    if not p.done:
                        p.error, p.done = exc, True
            self._applied = batch[-1].number
        return batch

    def _apply(self, ops: Iterable[dict], index: bool = True) -> None:
        for op in ops:
            table = self.tables.setdefault(op["t"], {})
            doc_id, doc = str(op["id"]), op["doc"]
            old = table.get(doc_id)
            if doc is None:
                table.pop(doc_id, None)
            else:
                table[doc_id] = doc
            if index:
                self._index_change(op["t"], doc_id, old, doc)

    # History -----------------------------------------------------------------

    def _history_ops(self, changes: list[Change]) -> list[tuple[dict, str]]:
        """History entries for audited changes: who, when, old → new values, and the digest
        of the resulting document, chained by hash to the previous entry. Each as an op and
        the entry's JSON: its canonical text (hashed), then its hash."""
        ops = []
        for change in changes:
            if change.table not in AUDITED:
                continue
            old = self.tables.get(change.table, {}).get(change.doc_id)
            # A new record's values are the record itself (its digest is kept); an
            # update or delete keeps every changed field's old and new value.
            diff = {} if old is None else _diff(old, change.doc)
            if not diff and old is not None:
                continue
            self._history_seq += 1
            entry = {
                "seq": self._history_seq,
                "at": self.now_iso(),
                "by": change.by,
                "table": change.table,
                "record": change.doc_id,
                "action": change.action
                or ("create" if old is None else "delete" if change.doc is None else "update"),
                "changes": diff,
                "digest": None if change.doc is None else sha256_hex(change.text),
                "prev": self._last_hash,
            }
            canonical = canonical_json(entry)
            entry["hash"] = self._last_hash = sha256_hex(canonical)
            text = f'{canonical[:-1]},"hash":"{entry["hash"]}"}}'
            ops.append(({"t": "history", "id": str(self._history_seq), "doc": entry}, text))
        return ops

    def _rebuild_chain_state(self) -> None:
        history = self.tables.get("history", {})
        if history:
            last = max(history.values(), key=lambda e: e["seq"])
            self._history_seq, self._last_hash = last["seq"], last["hash"]
        else:
            self._history_seq, self._last_hash = 0, ZERO_HASH

    # Derived state -------------------------------------------------------------

    INDEXED = {
        "submissions": ("number", "client_key"),
        "complaints": ("number",),
        "notices": ("number",),
        "reinspections": ("number",),
        "users": ("username",),
        "sessions": ("sid_hash",),
        "tokens": ("token_hash",),
        "attachments": ("attachment_id",),
    }

    #: Non-unique indexes: documents grouped by a key computed from them (管理处, form, the
    #: month of a date, a status). Reads that filter on these keys take the matching ids
    #: from here instead of scanning the table; TinyDB evaluates the remaining filters.
    GROUPED: ClassVar[dict[str, dict[str, Callable[[dict], object]]]] = {
        "submissions": {
            "record_month": lambda d: (d.get("record_date") or "")[:7],
            "project": lambda d: d.get("project"),
            "form": lambda d: d.get("form"),
        },
        "notices": {
            "project": lambda d: d.get("project"),
            "issued_month": lambda d: (d.get("issued_on") or "")[:7],
            "due_month": lambda d: (d.get("deadline") or "")[:7],
            "status": lambda d: d.get("status"),
            "source_form": lambda d: d.get("source_form"),
        },
        "acknowledgements": {"username": lambda d: d.get("username")},
    }

    def _rebuild_derived(self) -> None:
        self._indexes.clear()
        self._groups.clear()
        self._next_id.clear()
        for name, docs in self.tables.items():
            self._next_id[name] = max((int(k) for k in docs), default=0) + 1
            for doc_id, doc in docs.items():
                self._index_change(name, doc_id, None, doc)
        self._counters.clear()
        for table in NUMBERED:
            for doc in self.tables.get(table, {}).values():
                prefix, _, seq = doc["number"].rpartition("-")
                if seq.isdigit():
                    self._counters[prefix] = max(self._counters.get(prefix, 0), int(seq))
        self._rebuild_chain_state()

    def _index_change(self, table: str, doc_id: str, old: dict | None, new: dict | None) -> None:
        if table == "submissions":
            owners = self._indexes.setdefault(("attachments", "project"), {})
            for attachment_id in (old or {}).get("attachments", ()):
                owners.pop(attachment_id, None)
            for attachment_id in (new or {}).get("attachments", ()):
                owners[attachment_id] = new.get("project")
        for key in self.INDEXED.get(table, ()):
            index = self._indexes.setdefault((table, key), {})
            if old is not None and old.get(key) is not None:
                index.pop(old[key], None)
            if new is not None and new.get(key) is not None:
                index[new[key]] = doc_id
        for name, key_of in self.GROUPED.get(table, {}).items():
            groups = self._groups.setdefault((table, name), {})
            if old is not None:
                members = groups.get(key_of(old))
                if members is not None:
                    members.discard(doc_id)
                    if not members:
                        del groups[key_of(old)]
            if new is not None:
                groups.setdefault(key_of(new), set()).add(doc_id)

    def _new_id(self, table: str) -> str:
        with self._alloc_lock:
            number = self._next_id.get(table, 1)
            self._next_id[table] = number + 1
            return str(number)

    def _by_key(self, table: str, key: str, value: object) -> dict | None:
        with self._rw.read():
            doc_id = self._indexes.get((table, key), {}).get(value)
            return _copy(self.tables[table][doc_id]) if doc_id is not None else None

    # Time ----------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock()

    def now_iso(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    # Generic reads ---------------------------------------------------------------

    def search(self, table: str, condition=None) -> list[dict]:
        """Documents of ``table`` matching a TinyDB condition built by this module."""
        with self._rw.read():
            t = self._db.table(table, cache_size=0)
            docs = t.all() if condition is None else t.search(condition)
            return [dict(d, id=str(d.doc_id)) for d in docs]

    def _select(self, table: str, filters: list[list[tuple[str, Callable]]], condition=None
                ) -> list[tuple[str, dict]]:  # fmt: skip
        """(id, stored document) of each document of ``table`` that every filter selects and
        the TinyDB ``condition`` (the filters no index answers; None: none) matches. A filter
        is a list of (grouped index, wanted key) alternatives: it selects the documents of the
        groups whose key is wanted. Call under the read lock; never change the documents."""
        docs = self.tables.get(table, {})
        selections = []
        for alternatives in filters:
            groups, everything = [], True
            for name, wanted in alternatives:
                for key, members in self._groups.get((table, name), {}).items():
                    if wanted(key):
                        groups.append(members)
                    else:
                        everything = False
            if not everything:  # a filter that selects every group filters nothing
                selections.append(groups)
        ids: Iterable[str] = docs
        if selections:
            # Set operations, narrowest selection first: each step costs at most the size
            # of what is left, never the size of the table.
            selections.sort(key=lambda groups: sum(len(g) for g in groups))
            first, *others = selections
            left = first[0] if len(first) == 1 else set().union(*first)
            for groups in others:
                left = set().union(*(left & g for g in groups))
            ids = left
        if condition is None:
            return [(doc_id, docs[doc_id]) for doc_id in ids]
        return [(doc_id, docs[doc_id]) for doc_id in ids if condition(docs[doc_id])]

    def count(self, table: str) -> int:
        with self._rw.read():
            return len(self.tables.get(table, {}))

    # Submissions -----------------------------------------------------------------

    def _number(self, prefix: str, day: dt.date) -> str:
        """The next PREFIX-YYYYMMDD-NNNN number (call with the allocation lock held)."""
        key = f"{prefix}-{day:%Y%m%d}"
        sequence = self._counters.get(key, 0) + 1
        self._counters[key] = sequence
        return f"{key}-{sequence:04d}"

    def add_submission(
        self,
        record: dict,
        by: str,
        client_key: str | None = None,
        derive: Callable[[dict], list[tuple[str, str | None, dict]]] | None = None,
    ) -> dict:
        """Store a validated, scored submission; assign its record number.

        ``record`` holds form, form_version, project, record_date, values and
        score. ``client_key`` makes a retried submission return the first one
        instead of storing it twice. ``derive(doc)`` returns the records the
        submission starts — (table, number prefix or None, document) — which are
        committed together with it, or not at all.
        """
        doc, _, changes = self._submission(record, by, client_key, derive)
        if changes:
            try:
                self._commit(changes)
            finally:
                self._release(client_key)
        return doc

    async def add_submission_json(
        self,
        record: dict,
        by: str,
        client_key: str | None = None,
        derive: Callable[[dict], list[tuple[str, str | None, dict]]] | None = None,
    ) -> tuple[dict, str]:
        """`add_submission` on the event loop (see `_commit_async`), and the JSON of the
        stored document without its client_key (as the API answers): the one encoding of the
        document, which the journal line and the history digest also use."""
        doc, public, changes = self._submission(record, by, client_key, derive)
        if changes:
            try:
                await self._commit_async(changes)
            finally:
                self._release(client_key)
        return doc, public

    def _submission(self, record, by, client_key, derive) -> tuple[dict, str, list[Change]]:
        """The document, its public JSON and the changes to commit (none when ``client_key``
        names a stored submission, returned instead). Reserves ``client_key`` until
        `_release`."""
        now = self.now()
        with self._alloc_lock:
            if client_key:
                existing = self._indexes.get(("submissions", "client_key"), {}).get(client_key)
                if existing is not None:
                    doc = _copy(self.tables["submissions"][existing])
                    return doc, encode({k: v for k, v in doc.items() if k != "client_key"}), []
                if client_key in self._reserved:
                    raise Conflict("相同的提交正在处理中，请勿重复提交")
                self._reserved.add(client_key)
            number = self._number(record["form"], now.date())
            doc_id = str(self._next_id.get("submissions", 1))
            self._next_id["submissions"] = int(doc_id) + 1
        try:
            doc = {
                **record,
                "number": number,
                "submitted_by": by,
                "submitted_at": now.isoformat(timespec="seconds"),
            }
            public = encode(doc)
            # The key comes last, so the document's encoding is the public one with it added.
            doc["client_key"] = client_key
            text = f"{public[:-1]},{_ENCODE('client_key')}:{_ENCODE(client_key)}}}"
            changes = [Change("submissions", doc_id, doc, by=by, action="create", text=text)]
            for table, prefix, derived in derive(doc) if derive else ():
                with self._alloc_lock:
                    if prefix:
                        derived = {**derived, "number": self._number(prefix, now.date())}
                    derived_id = str(self._next_id.get(table, 1))
                    self._next_id[table] = int(derived_id) + 1
                changes.append(Change(table, derived_id, derived, by=by, action="create"))
        except BaseException:
            self._release(client_key)
            raise
        return doc, public, changes

    def _release(self, client_key: str | None) -> None:
        if client_key:
            with self._alloc_lock:
                self._reserved.discard(client_key)

    def derived_of(self, number: str) -> dict[str, list[dict]]:
        """Records a submission started: its complaint and its 整改通知书."""
        q = Query()
        return {
            "complaints": self.search("complaints", q.number == number),
            "notices": sorted(
                self.search("notices", q.source == number), key=lambda n: n["number"]
            ),
            "reinspections": sorted(
                self.search("reinspections", q.source == number), key=lambda r: r["number"]
            ),
        }

    def get_submission(self, number: str) -> dict | None:
        return self._by_key("submissions", "number", number)

    def find_submissions(
        self,
        form: str | None = None,
        projects: Iterable[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        submitted_by: str | None = None,
    ) -> list[dict]:
        """Submissions matching every given filter, newest first. ``projects=None``: all projects."""
        q = Query()
        filters: list[list[tuple[str, Callable]]] = []
        conditions = []
        if form:
            filters.append([("form", lambda f: f == form)])
        if projects is not None:
            filters.append([("project", set(projects).__contains__)])
        if date_from or date_to:
            # The months of the range; TinyDB compares the dates unless it is whole months.
            low, high = (date_from or "")[:7], (date_to or "\uffff")[:7]
            filters.append([("record_month", lambda m: bool(m) and low <= m <= high)])
            if date_from and date_from != f"{low}-01":
                conditions.append(q.record_date >= date_from)
            if date_to and date_to < f"{high}-31":
                conditions.append(q.record_date <= date_to)
        if submitted_by:
            conditions.append(q.submitted_by == submitted_by)
        condition = None
        for c in conditions:
            condition = c if condition is None else condition & c
        if filters:
            with self._rw.read():
                found = [
                    dict(doc, id=i) for i, doc in self._select("submissions", filters, condition)
                ]
        else:
            found = self.search("submissions", condition)
        found.sort(key=lambda d: (d["submitted_at"], int(d["id"])), reverse=True)
        return found

    # Attachments -------------------------------------------------------------------

    def add_attachment(self, content: bytes, content_type: str, name: str, by: str) -> dict:
        """Write the file durably, then record it. Returns the attachment record."""
        attachment_id = secrets.token_hex(16)
        folder = self.data_dir / "attachments" / attachment_id[:2]
        path = folder / attachment_id
        try:
            folder.mkdir(exist_ok=True)
            with path.open("wb") as f:
                f.write(content)
                f.flush()
                journal.os.fsync(f.fileno())
            journal.fsync_dir(folder)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise StorageError(f"照片未能保存：{journal._reason(exc)}") from exc
        doc = {
            "attachment_id": attachment_id,
            "content_type": content_type,
            "name": name[:100],
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "uploaded_by": by,
            "uploaded_at": self.now_iso(),
        }
        self._commit([Change("attachments", self._new_id("attachments"), doc, by=by)])
        return doc

    def get_attachment(self, attachment_id: str) -> tuple[dict, bytes] | None:
        doc = self._by_key("attachments", "attachment_id", attachment_id)
        if doc is None:
            return None
        path = self.data_dir / "attachments" / attachment_id[:2] / attachment_id
        return doc, path.read_bytes()

    def attachment_owner(self, attachment_id: str) -> str | None:
        """The 管理处 of the submission that refers to this attachment, if any."""
        with self._rw.read():
            return self._indexes.get(("attachments", "project"), {}).get(attachment_id)

    def attachments_exist(self, ids: Iterable[str]) -> list[str]:
        """The ids among ``ids`` that were never uploaded."""
        with self._rw.read():
            index = self._indexes.get(("attachments", "attachment_id"), {})
            return [i for i in ids if i not in index]

    # Users, sessions, tokens ---------------------------------------------------------

    def add_user(self, user: dict, by: str) -> dict:
        with self._mutate_lock:
            if self._by_key("users", "username", user["username"]):
                raise Conflict(f"用户名 {user['username']} 已存在")
            doc = {**user, "created_at": self.now_iso()}
            self._commit([Change("users", self._new_id("users"), doc, by=by, action="create")])
            return doc

    def update_user(self, username: str, changes: dict, by: str) -> dict:
        with self._mutate_lock:
            with self._rw.read():
                doc_id = self._indexes.get(("users", "username"), {}).get(username)
                current = self.tables["users"][doc_id] if doc_id else None
            if current is None:
                raise Conflict(f"用户 {username} 不存在")
            doc = {**current, **changes, "updated_at": self.now_iso()}
            self._commit([Change("users", doc_id, doc, by=by)])
            return _copy(doc)

    def get_user(self, username: str) -> dict | None:
        return self._by_key("users", "username", username)

    def list_users(self) -> list[dict]:
        return sorted(self.search("users"), key=lambda u: u["username"])

    def create_session(self, username: str, hours: int) -> tuple[str, dict]:
        sid = secrets.token_urlsafe(32)
        now = self.now()
        doc = {
            "sid_hash": hash_secret(sid),
            "username": username,
            "csrf": secrets.token_urlsafe(32),
            "created_at": now.isoformat(timespec="seconds"),
            "expires_at": (now + dt.timedelta(hours=hours)).isoformat(timespec="seconds"),
        }
        self._commit([Change("sessions", self._new_id("sessions"), doc)])
        return sid, doc

    def get_session(self, sid: str) -> dict | None:
        doc = self._by_key("sessions", "sid_hash", hash_secret(sid))
        if doc is None or doc["expires_at"] <= self.now_iso():
            return None
        return doc

    def delete_session(self, sid: str) -> None:
        with self._rw.read():
            doc_id = self._indexes.get(("sessions", "sid_hash"), {}).get(hash_secret(sid))
        if doc_id is not None:
            self._commit([Change("sessions", doc_id, None)])

    def delete_sessions_of(self, username: str) -> None:
        """End every session of a user (password reset, deactivation)."""
        q = Query()
        ids = [d["id"] for d in self.search("sessions", q.username == username)]
        if ids:
            self._commit([Change("sessions", i, None) for i in ids])

    def create_token(self, username: str, name: str, by: str) -> tuple[str, dict]:
        token = "qms_" + secrets.token_urlsafe(32)
        doc = {
            "token_hash": hash_secret(token),
            "token_id": secrets.token_hex(4),
            "username": username,
            "name": name,
            "created_at": self.now_iso(),
            "revoked": False,
        }
        self._commit([Change("tokens", self._new_id("tokens"), doc, by=by, action="create")])
        return token, doc

    def find_token(self, token: str) -> dict | None:
        doc = self._by_key("tokens", "token_hash", hash_secret(token))
        return None if doc is None or doc["revoked"] else doc

    def list_tokens(self, username: str | None = None) -> list[dict]:
        q = Query()
        docs = self.search("tokens", None if username is None else q.username == username)
        return sorted(docs, key=lambda d: d["created_at"])

    def revoke_token(self, token_id: str, by: str) -> dict:
        with self._mutate_lock:
            q = Query()
            found = self.search("tokens", q.token_id == token_id)
            if not found:
                raise Conflict(f"令牌 {token_id} 不存在")
            doc = {k: v for k, v in found[0].items() if k != "id"}
            doc["revoked"] = True
            self._commit([Change("tokens", found[0]["id"], doc, by=by, action="revoke")])
            return doc

    # Complaints, notices, re-inspections ----------------------------------------------

    def get(self, table: str, number: str) -> dict | None:
        """A complaint, notice or re-inspection by its number."""
        return self._by_key(table, "number", number)

    def find(self, table: str, projects: Iterable[str] | None = None, **equals) -> list[dict]:
        """Records of ``table`` in ``projects`` (None: all) whose fields equal ``equals``."""
        q = Query()
        condition = None
        if projects is not None:
            allowed = set(projects)
            condition = q.project.test(lambda p: p in allowed)
        for key, value in equals.items():
            c = q[key] == value
            condition = c if condition is None else condition & c
        return sorted(self.search(table, condition), key=lambda d: d["number"], reverse=True)

    def report_submissions(
        self, projects: Iterable[str] | None, months: Iterable[str]
    ) -> list[Mapping[str, object]]:
        """Submissions of ``projects`` (None: all) dated in one of ``months`` (YYYY-MM), newest
        first like `find_submissions`; read-only views, as `report_notices` explains."""
        filters: list[list[tuple[str, Callable]]] = [[("record_month", set(months).__contains__)]]
        if projects is not None:
            filters.append([("project", set(projects).__contains__)])
        with self._rw.read():
            found = self._select("submissions", filters)
        found.sort(key=lambda f: (f[1]["submitted_at"], int(f[0])), reverse=True)
        return [MappingProxyType(doc) for _, doc in found]

    def report_notices(
        self, projects: Iterable[str] | None, selections: list[dict]
    ) -> list[Mapping[str, object]]:
        """整改通知书 of ``projects`` (None: all) that any of ``selections`` selects, newest
        number first. A selection narrows by any of "months" (issued or due in one of these
        YYYY-MM), "forms" (started by one of these) and "status".

        For reports, which read tens of thousands of notices and change none: read-only
        views of the stored documents (the store replaces a document on change, never edits
        it), not copies, and without the storage id.
        """
        base = [] if projects is None else [[("project", set(projects).__contains__)]]
        chosen: dict[str, dict] = {}
        with self._rw.read():
            for selection in selections:
                filters = list(base)
                if selection.get("months") is not None:
                    wanted = set(selection["months"]).__contains__
                    filters.append([("issued_month", wanted), ("due_month", wanted)])
                if selection.get("forms") is not None:
                    filters.append([("source_form", set(selection["forms"]).__contains__)])
                if selection.get("status") is not None:
                    status = selection["status"]
                    filters.append([("status", lambda s, status=status: s == status)])
                chosen.update(self._select("notices", filters))
        found = sorted(chosen.values(), key=operator.itemgetter("number"), reverse=True)
        return [MappingProxyType(doc) for doc in found]

    def update(
        self, table: str, number: str, change: Callable[[dict], dict], by: str, action: str
    ) -> dict:
        """Read-decide-write one record atomically: ``change(current)`` returns the new record
        (or raises to refuse); no other change to the store happens in between."""
        with self._mutate_lock:
            with self._rw.read():
                doc_id = self._indexes.get((table, "number"), {}).get(number)
                current = _copy(self.tables[table][doc_id]) if doc_id is not None else None
            if current is None:
                raise Conflict(f"{number} 不存在")
            new = change(current)
            new.pop("id", None)
            self._commit([Change(table, doc_id, new, by=by, action=action)])
            return new

    def reinspect(
        self,
        source: str,
        decide: Callable[[list[dict]], tuple[list[dict], list[dict], dict]],
        by: str,
    ) -> dict:
        """Re-inspect the open notices of inspection ``source`` in one commit.

        ``decide(open_notices)`` returns (updated notices, re-issued notices, the
        re-inspection record); the store numbers the re-inspection and the
        re-issued notices and links them all both ways.
        """
        with self._mutate_lock:
            q = Query()
            open_notices = sorted(
                self.search("notices", (q.source == source) & (q.status == "待整改")),
                key=lambda n: n["number"],
            )
            updated, reissued, record = decide(
                [{k: v for k, v in n.items() if k != "id"} for n in open_notices]
            )
            ids = {n["number"]: n["id"] for n in open_notices}
            changes: list[Change] = []
            with self._alloc_lock:
                today = self.now().date()
                record = {
                    **record,
                    "number": self._number("FC", today),
                    "source": source,
                    "by": by,
                    "at": self.now_iso(),
                }
                numbered = [{**n, "number": self._number("QR-10-20", today)} for n in reissued]
                record_id = str(self._next_id.get("reinspections", 1))
                self._next_id["reinspections"] = int(record_id) + 1
                new_ids = []
                for _ in numbered:
                    new_ids.append(str(self._next_id.get("notices", 1)))
                    self._next_id["notices"] = int(new_ids[-1]) + 1
            successor = {n["previous"]: n["number"] for n in numbered}
            record["notices"] = [n["number"] for n in updated]
            record["reissued"] = [n["number"] for n in numbered]
            for notice in updated:
                notice = {
                    **notice,
                    "reinspection": record["number"],
                    "next": successor.get(notice["number"]),
                }
                changes.append(
                    Change("notices", ids[notice["number"]], notice, by=by, action="reinspect")
                )
            for doc_id, notice in zip(new_ids, numbered, strict=True):
                changes.append(Change("notices", doc_id, notice, by=by, action="reissue"))
            changes.append(Change("reinspections", record_id, record, by=by, action="create"))
            self._commit(changes)
            return record

    # Read-and-acknowledge ---------------------------------------------------------------

    def acknowledge(
        self, username: str, code: str, version: str, edition: str | None, commit: str | None
    ) -> dict:
        """Record that ``username`` read ``code`` at ``version``; a second click changes nothing."""
        with self._mutate_lock:
            with self._rw.read():
                for _, done in self._acknowledgements_of(username):
                    if done["code"] == code and done["version"] == version:
                        return dict(done)
            doc = {"username": username, "code": code, "version": version, "edition": edition, "commit": commit,
                   "at": self.now_iso()}  # fmt: skip
            self._commit(
                [
                    Change(
                        "acknowledgements",
                        self._new_id("acknowledgements"),
                        doc,
                        by=username,
                        action="create",
                    )
                ]
            )
            return doc

    def search_acknowledgements(self, username: str | None = None) -> list[dict]:
        """Every confirmation, or one reader's, oldest first."""
        if username is None:
            return self.search("acknowledgements")
        with self._rw.read():
            return [dict(doc, id=doc_id) for doc_id, doc in self._acknowledgements_of(username)]

    def _acknowledgements_of(self, username: str) -> list[tuple[str, dict]]:
        """(id, stored document) of ``username``'s confirmations, oldest first, by the grouped
        index. Call under the read lock; never change the documents."""
        docs = self.tables.get("acknowledgements", {})
        ids = self._groups.get(("acknowledgements", "username"), {}).get(username, ())
        return sorted(((doc_id, docs[doc_id]) for doc_id in ids), key=lambda pair: int(pair[0]))

    # History ---------------------------------------------------------------------------

    def record_history(self, table: str, number: str) -> list[dict]:
        """Every change of the record numbered ``number``, oldest first."""
        with self._rw.read():
            doc_id = self._indexes.get((table, "number"), {}).get(number)
        return [] if doc_id is None else self.history_of(table, doc_id)

    def verify(self) -> dict:
        """Check the history chain and that every record matches its last history entry.

        Returns {"ok", "entries", "records", "broken": None or {"seq", "table", "record", "at",
        "reason"}} and, when intact, "head": the hash of the newest entry. Noting the head (the
        evidence export prints it) lets a later check prove that the chain was not rewritten
        from an earlier point on.
        """
        # Under the lock only references are taken: a commit replaces a stored document or
        # adds a history entry, never changes one in place, so what was taken stays as it
        # was at this moment. The hashing, which takes seconds on a large store, runs after,
        # while commits go on.
        with self._rw.read():
            entries = list(self.tables.get("history", {}).values())
            records = {table: dict(self.tables.get(table, {})) for table in AUDITED}
        entries.sort(key=lambda e: e.get("seq", 0))
        previous = ZERO_HASH
        last: dict[tuple[str, str], dict] = {}
        for number, entry in enumerate(entries, start=1):
            problem = None
            if entry.get("seq") != number:
                problem = f"序号不连续：应为第 {number} 条，记为第 {entry.get('seq')} 条"
            elif entry.get("prev") != previous:
                problem = "与上一条历史记录的链接（prev）不符：其前的记录被改动、删除或插入"
            elif entry_hash(entry) != entry.get("hash"):
                problem = "内容被改动：重新计算的哈希与记录的哈希不符"
            if problem:
                return {"ok": False, "entries": len(entries), "records": 0,
                        "broken": {"seq": number, "table": entry.get("table"), "record": entry.get("record"),
                                   "at": entry.get("at"), "reason": problem}}  # fmt: skip
            previous = entry["hash"]
            last[(entry["table"], entry["record"])] = entry
        checked = 0
        for (table, record), entry in sorted(last.items(), key=lambda kv: kv[1]["seq"]):
            doc = records.get(table, {}).get(record)
            digest = None if doc is None else sha256_hex(encode(doc))
            checked += 1
            if digest != entry.get("digest"):
                return {"ok": False, "entries": len(entries), "records": checked,
                        "broken": {"seq": entry["seq"], "table": table, "record": record, "at": entry["at"],
                                   "reason": f"记录（{table} 第 {record} 号）的当前内容与其最后一条变更历史不符：记录被改动"}}  # fmt: skip
        return {"ok": True, "entries": len(entries), "records": checked, "broken": None,
                "head": previous}  # fmt: skip

    def record_numbers(self) -> dict[tuple[str, str], str]:
        """(table, storage id) → the name people know a record by: its number, username or token id."""
        keys = {"users": "username", "tokens": "token_id"}
        with self._rw.read():
            return {
                (table, doc_id): str(doc.get(keys.get(table, "number"), doc_id))
                for table, docs in self.tables.items()
                if table in AUDITED
                for doc_id, doc in docs.items()
            }

    def history_of(self, table: str, doc_id: str) -> list[dict]:
        q = Query()
        found = self.search("history", (q.table == table) & (q.record == doc_id))
        return sorted(found, key=lambda e: e["seq"])

    def submission_id(self, number: str) -> str | None:
        with self._rw.read():
            return self._indexes.get(("submissions", "number"), {}).get(number)

    # Compaction ------------------------------------------------------------------------

    def compact(self) -> None:
        """Write a new snapshot covering every commit so far and drop the old journals."""
        with self._compacting:
            with self._flush_lock, self._rw.write():
                assert self._writer is not None
                # Only applied commits: queued ones go to the new journal file.
                covered = self._applied
                tables = {name: dict(docs) for name, docs in self.tables.items()}
                old_index = self._writer.index
                self._writer.close()
                self._writer = journal.JournalWriter(self.data_dir, old_index + 1)
                self._older_commits = self._older_bytes = 0
            journal.write_snapshot(self.data_dir, tables, {"commit": covered, "format": 1})
            self._snapshot_bytes = journal.snapshot_size(self.data_dir)
            for index, path in journal.journal_files(self.data_dir):
                if index <= old_index:
                    path.unlink()
            journal.fsync_dir(self.data_dir)

    def _compact_in_background(self) -> None:
        def run() -> None:
            try:
                self.compact()
            except StorageError as exc:
                log.error("后台快照失败（数据仍完整保存在日志中）：%s", exc)

        # Checked and started under one lock: two committing threads must not both start one
        # (the second would replace the first in `_compactor`, and `close` would not wait for it).
        with self._compactor_lock:
            if self._compacting.locked() or (self._compactor and self._compactor.is_alive()):
                return
            self._compactor = threading.Thread(target=run, name="qms-compact", daemon=True)
            self._compactor.start()


# Helpers ---------------------------------------------------------------------------


def _wake(batch: list[_Pending]) -> None:
    """Resolve the futures of a batch's async commits: directly on their own event loop,
    from any other thread through it (once per loop)."""
    waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
    for p in batch:
        if p.future is not None:
            waiting.setdefault(p.future.get_loop(), []).append(p.future)
    if not waiting:  # commits of threads only, the usual case off the API
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:  # a worker thread
        running = None
    for loop, futures in waiting.items():
        if loop is running:
            _resolve(futures)
        else:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, futures)


def _resolve(futures: list[asyncio.Future]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


def _copy(value):
    """A deep copy of a stored JSON value (dicts, lists and scalars), much faster than
    `copy.deepcopy`, which handles every kind of object."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def encode(doc: dict | None) -> str:
    """The one JSON encoding of a document: journal lines and history digests use it."""
    return "null" if doc is None else _ENCODE(doc)


def canonical_json(value: dict) -> str:
    """Keys sorted at every level: the text a history entry's hash is computed over."""
    return _CANONICAL(value)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def op_line(table: str, doc_id: str, text: str) -> str:
    return f'{{"t":{json.dumps(table)},"id":{json.dumps(doc_id)},"doc":{text}}}'


def hash_secret(value: str) -> str:
    """Session ids and API tokens are stored hashed; the clear value exists only on the client."""
    return sha256_hex(value)


def entry_hash(entry: dict) -> str:
    """sha256 of the entry's canonical JSON, without its own hash and storage id."""
    return sha256_hex(canonical_json({k: v for k, v in entry.items() if k not in ("hash", "id")}))


def _diff(old: dict | None, new: dict | None) -> dict:
    old, new = old or {}, new or {}
    changes = {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in SECRET_FIELDS:
                changes[key] = ["***" if key in old else None, "***" if key in new else None]
            else:
                changes[key] = [old.get(key), new.get(key)]
    return changes
