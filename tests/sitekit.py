"""Helpers to build small, real sites in a temporary directory.

A temporary project gets a copy of the real mkdocs.yml and data/qms.yml, links to
the real site-building package and assets, and the documents a test writes. It is
built with the real engine in a subprocess, exactly as `make build` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROPERDOCS = Path(sys.executable).parent / "properdocs"

FOLDERS = {"QM": "manual", "QP": "procedures", "WI": "instructions"}


def front_matter(code: str, /, **fields) -> dict:
    """Valid metadata for ``code``; keyword arguments override or (with None) remove fields."""
    meta = {
        "code": code,
        "title": f"测试文件{code}",
        "version": "A/0",
        "status": "受控",
        "owner": "品质管理部",
        "prepared_by": "张慧敏",
        "reviewed_by": "李明华",
        "approved_by": "王建国",
        "effective": "2026-03-01",
        "review_due": "2099-03-01",
        "references": [],
        "records": [],
        "revisions": [
            {"version": "A/0", "date": "2026-02-20", "summary": "首次发布", "approved_by": "王建国"}
        ],
    }
    for key, value in fields.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


def markdown(meta: dict, body: str = "## 1 目的\n\n测试正文。\n") -> str:
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n" + body


def form(code: str, /, procedure: str = "QP-01", **fields) -> str:
    meta = front_matter(code, **fields)
    for key in ("references", "records"):
        meta.pop(key, None)
    meta["procedure"] = procedure
    meta["fields"] = [{"key": "note", "label": "说明", "type": "text"}]
    return yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)


def doc_path(code: str) -> str:
    return f"docs/{FOLDERS[code.split('-')[0]]}/{code.lower()}.md"


@dataclass
class Build:
    returncode: int
    output: str
    site: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def page(self, src: str) -> str:
        """The HTML of the page built from ``src`` (docs-relative .md path)."""
        stem = src.removesuffix(".md")
        path = self.site / ("index.html" if stem == "index" else f"{stem}/index.html")
        return path.read_text(encoding="utf-8")


class Project:
    """A temporary project with a valid minimal document set."""

    def __init__(self, root: Path):
        self.root = root
        (root / "docs").mkdir(parents=True)
        (root / "data" / "forms").mkdir(parents=True)
        os.symlink(ROOT / "qms_site", root / "qms_site")
        os.symlink(ROOT / "docs" / "assets", root / "docs" / "assets")
        (root / "mkdocs.yml").write_text(
            (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), encoding="utf-8"
        )
        (root / "data" / "qms.yml").write_text(
            (ROOT / "data" / "qms.yml").read_text(encoding="utf-8"), encoding="utf-8"
        )
        self.write("docs/index.md", "# 首页\n\n测试站点。\n")
        self.write("docs/register.md", "# 受控文件清单\n\n{{ document_register() }}\n")
        self.add("QM-01")
        self.add("QP-01", references=["QM-01"], records=["QR-01-01"])
        self.write("data/forms/QR-01-01.yml", form("QR-01-01"))

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def add(self, doc_code: str, /, body: str = "## 1 目的\n\n测试正文。\n", **fields) -> str:
        """Write document ``doc_code`` at its usual path; ``fields`` override its metadata."""
        rel = doc_path(doc_code)
        self.write(rel, markdown(front_matter(doc_code, **fields), body))
        return rel

    def build(self, env: dict[str, str] | None = None) -> Build:
        site = self.root / "site"
        result = subprocess.run(
            [str(PROPERDOCS), "build", "--strict", "-f", "mkdocs.yml", "--site-dir", str(site)],
            cwd=self.root,
            env={**os.environ, "QMS_OVERDUE_REVIEW": "warn", **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Build(result.returncode, result.stdout + result.stderr, site)
