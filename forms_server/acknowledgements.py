"""Read-and-acknowledge (培训与确认): which documents are in force, and who has read them.

The manual's build writes ``qms-catalog.json`` next to the site (see
`qms_site.hooks.editions`): every document with its current version. A reader
confirms the version they read; a new revision of the document makes that
confirmation out of date without anyone touching it, because a confirmation
counts only while its version is the current one.

Everything here is plain functions over plain data; the views call them.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from forms_server.report_tables import Table
from qms_site.doccontrol import EFFECTIVE

#: Written next to the manual by every build (`qms_site.hooks.editions`), read here.
CATALOG_FILE = "qms-catalog.json"
#: Documents people read and confirm; record forms are filled in, not acknowledged.
READ_TYPES = ("质量手册", "程序文件", "作业指导书")
#: Roles expected to read the manual (auditors and administrators are not staff of the system).
READER_ROLES = ("staff", "quality")

CURRENT, OUTDATED, MISSING = "已确认", "旧版已确认", "未确认"


@dataclass(frozen=True)
class Document:
    code: str
    title: str
    version: str
    type: str
    src: str


@dataclass(frozen=True)
class Manual:
    """The published manual as the server sees it: edition, commit and documents in force."""

    edition: str | None
    commit: str | None
    documents: dict[str, dict]

    def in_force(self, today: dt.date) -> list[Document]:
        """Effective (受控) documents of the readable types whose effective date has come, by code."""
        found = []
        for code, d in sorted(self.documents.items()):
            effective = d.get("effective")
            if d.get("status") != EFFECTIVE or d.get("type") not in READ_TYPES:
                continue
            if not effective or effective > today.isoformat():
                continue
            found.append(Document(code, d["title"], d["version"], d["type"], d.get("src", "")))
        return found

    @property
    def label(self) -> str:
        """How pages and exports name this manual: its edition, else its commit ("" if unknown)."""
        if self.edition:
            return f"{self.edition} 版"
        if self.commit:
            return f"提交 {self.commit[:12]}"
        return ""


class ManualFile:
    """Reads ``qms-catalog.json`` and reads it again only when the site is rebuilt."""

    def __init__(self, site_dir: Path):
        self.path = Path(site_dir) / CATALOG_FILE
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._manual = Manual(None, None, {})

    def get(self) -> Manual:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return Manual(None, None, {})
        with self._lock:
            if stamp != self._stamp:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._manual = Manual(
                    data.get("edition"),
                    data.get("commit"),
                    {d["code"]: d for d in data.get("documents", [])},
                )
                self._stamp = stamp
            return self._manual


def state(acknowledged: dict[str, dict], doc: Document) -> tuple[str, dict | None]:
    """(已确认 / 旧版已确认 / 未确认, the newest acknowledgement) of one reader for ``doc``.

    ``acknowledged`` maps version → acknowledgement record for this reader and document.
    """
    if doc.version in acknowledged:
        return CURRENT, acknowledged[doc.version]
    if acknowledged:
        newest = max(acknowledged.values(), key=lambda a: a["at"])
        return OUTDATED, newest
    return MISSING, None


def by_reader(acks: list[dict]) -> dict[tuple[str, str], dict[str, dict]]:
    """(username, code) → version → acknowledgement."""
    index: dict[tuple[str, str], dict[str, dict]] = {}
    for a in acks:
        index.setdefault((a["username"], a["code"]), {})[a["version"]] = a
    return index


def readers(users: list[dict], project: str | None = None, team: str | None = None) -> list[dict]:
    """Active users expected to read the manual, optionally of one 管理处 or team."""
    return [
        u
        for u in users
        if u.get("active", True)
        and u["role"] in READER_ROLES
        and (not project or u.get("project") == project)
        and (not team or u.get("team") == team)
    ]


def matrix_for(manual: Manual, users: list[dict], acks: list[dict], today: dt.date,
               project: str = "", team: str = "", type_: str = "") -> dict:  # fmt: skip
    """The matrix of the documents in force (optionally of one type) for the readers among
    ``users`` (optionally of one 管理处 or team)."""
    documents = manual.in_force(today)
    if type_:
        documents = [d for d in documents if d.type == type_]
    return matrix(readers(users, project, team), documents, acks)


def matrix(users: list[dict], documents: list[Document], acks: list[dict]) -> dict:
    """Who has confirmed which document in force: rows per reader, totals per document."""
    index = by_reader(acks)
    rows = []
    totals = {d.code: {CURRENT: 0, OUTDATED: 0, MISSING: 0, "missing": []} for d in documents}
    for user in users:
        cells = {}
        for doc in documents:
            status, ack = state(index.get((user["username"], doc.code), {}), doc)
            cells[doc.code] = {
                "state": status,
                "version": ack["version"] if ack else None,
                "at": ack["at"] if ack else None,
                "edition": ack.get("edition") if ack else None,
                "commit": ack.get("commit") if ack else None,
            }
            totals[doc.code][status] += 1
            if status != CURRENT:
                totals[doc.code]["missing"].append(user.get("display_name") or user["username"])
        done = sum(1 for c in cells.values() if c["state"] == CURRENT)
        rows.append({"user": user, "cells": cells, "done": done, "total": len(documents)})
    return {"documents": documents, "rows": rows, "totals": totals}


def long_rows(result: dict, project_names: dict[str, str]) -> list[list]:
    """One line per reader and document: the table auditors take away (CSV / Excel)."""
    out = []
    for row in result["rows"]:
        user = row["user"]
        for doc in result["documents"]:
            cell = row["cells"][doc.code]
            out.append([
                user["username"], user.get("display_name") or "", project_names.get(user.get("project") or "", user.get("project") or ""),
                user.get("team") or "", doc.code, doc.title, doc.version, cell["state"], cell["version"] or "",
                (cell["at"] or "").replace("T", " ")[:16], cell["edition"] or "", (cell["commit"] or "")[:12],
            ])  # fmt: skip
    return out


LONG_HEADER = ["用户名", "姓名", "管理处", "班组/部门", "文件编号", "文件名称", "现行版本",
               "确认状态", "已确认版本", "确认时间", "阅读版本（手册版次）", "阅读版本（提交）"]  # fmt: skip


def matrix_table(result: dict, project_names: dict[str, str], manual: Manual) -> Table:
    """The matrix as it leaves the system (CSV, Excel, the evidence package)."""
    note = f"现行文件 {len(result['documents'])} 份"
    if manual.label:
        note = f"现行手册：{manual.label}；{note}"
    return Table("文件阅读确认矩阵", LONG_HEADER, long_rows(result, project_names), note=note,
                 widths=[10, 10, 14, 14, 12, 24, 8, 10, 10, 16, 12, 14])  # fmt: skip
