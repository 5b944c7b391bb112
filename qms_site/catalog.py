"""The set of controlled documents: read from the docs tree and the form definitions.

Markdown documents live under the controlled folders of ``docs/`` and carry their
metadata as YAML front matter. Record forms (记录表格) live in ``data/forms/*.yml``;
each definition carries the same document-control metadata beside its fields, is
validated by `forms_server.definitions`, and is shown at ``records/<code>.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from forms_server.definitions import FormDef, load_dir, load_yaml
from qms_site.doccontrol import DOC_TYPES, Document, Problem, check_catalog, parse_document

FRONT_MATTER_FIELD = "front matter"


@dataclass
class Source:
    """One file's raw metadata and (for Markdown) its body."""

    path: str  # relative to the project, for messages
    src: str  # relative to the docs folder: the page that shows it
    meta: dict
    body: str = ""


@dataclass
class Catalog:
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Valid form definitions by record code.
    forms: dict[str, FormDef] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def get(self, code: str) -> Document | None:
        for doc in self.documents:
            if doc.code == code:
                return doc
        return None

    def by_src(self, src: str) -> Document | None:
        for doc in self.documents:
            if doc.src == src:
                return doc
        return None

    def grouped(self) -> dict[str, list[Document]]:
        """Documents by type name, in register order, each group sorted by code."""
        groups: dict[str, list[Document]] = {name: [] for name in DOC_TYPES.values()}
        for doc in sorted(self.documents, key=lambda d: d.code):
            groups[doc.type_name].append(doc)
        return groups


# Reading ---------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Return (YAML text or None, body) for a Markdown file with ``---`` front matter."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return None, text
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    return None, text


def read_markdown(
    path: Path, project_dir: Path, docs_dir: Path
) -> tuple[Source | None, list[Problem]]:
    rel = path.relative_to(project_dir).as_posix()
    src = path.relative_to(docs_dir).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Problem(rel, "编码", "文件不是 UTF-8 编码")]
    raw, body = split_front_matter(text)
    if raw is None:
        return None, [
            Problem(rel, FRONT_MATTER_FIELD, "受控文件缺少文件头信息（以 --- 开始和结束的 YAML）")
        ]
    meta, problems = _load_yaml(raw, rel)
    if meta is None:
        return None, problems
    return Source(rel, src, meta, body), problems


def _load_yaml(text: str, rel: str) -> tuple[dict | None, list[Problem]]:
    try:
        meta = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        return None, [Problem(rel, FRONT_MATTER_FIELD, f"YAML 语法错误{where}：{exc}")]
    if not isinstance(meta, dict):
        return None, [Problem(rel, FRONT_MATTER_FIELD, "文件头信息应为“字段： 值”的映射")]
    return meta, []


def markdown_files(docs_dir: Path, controlled_dirs: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for name in controlled_dirs:
        folder = docs_dir / name
        if folder.is_dir():
            files.extend(sorted(folder.rglob("*.md")))
    return files


def check_body(source: Source) -> list[Problem]:
    """The page title is generated from the metadata, so the body must not add its own."""
    in_fence = False
    for line in source.body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and line.startswith("# "):
            return [
                Problem(
                    source.path,
                    "正文",
                    f"正文不应包含一级标题“{line[2:].strip()}”，页面标题由 code 和 title 生成",
                )
            ]
    return []


# Building --------------------------------------------------------------------


def load(
    project_dir: Path,
    docs_dir: Path,
    controlled_dirs: Iterable[str],
    forms_dir: Path | None,
    today: dt.date,
    overdue_is_error: bool = False,
) -> Catalog:
    """Read every controlled document and run every document-control rule."""
    catalog = Catalog()
    sources: list[Source] = []
    for path in markdown_files(docs_dir, controlled_dirs):
        source, problems = read_markdown(path, project_dir, docs_dir)
        catalog.problems.extend(problems)
        if source:
            catalog.problems.extend(check_body(source))
            sources.append(source)
    for source in sources:
        doc, problems = parse_document(source.path, source.meta)
        catalog.problems.extend(problems)
        if doc is not None:
            doc.src = source.src
            if doc.type_code == "QR":
                catalog.problems.append(
                    Problem(source.path, "code", "记录表格应在 data/forms/ 中以表单定义维护")
                )
            catalog.documents.append(doc)

    if forms_dir is not None and forms_dir.is_dir():
        loaded = load_dir(forms_dir, project_dir)
        catalog.problems.extend(loaded.problems)
        catalog.documents.extend(loaded.documents)
        catalog.forms = loaded.forms

    catalog.problems.extend(check_catalog(catalog.documents, today, overdue_is_error))
    catalog.problems.extend(check_form_procedures(catalog))
    return catalog


def check_form_procedures(catalog: Catalog) -> list[Problem]:
    """A record form belongs to a procedure, and that procedure names it among its records."""
    problems: list[Problem] = []
    for form in catalog.forms.values():
        procedure = catalog.get(form.procedure)
        if procedure is None:
            problems.append(
                Problem(form.path, "procedure", f"所属程序文件 {form.procedure} 不存在")
            )
        elif form.code not in procedure.records:
            problems.append(
                Problem(
                    form.path, "procedure", f"{form.procedure} 的 records 中未列出本表 {form.code}"
                )
            )
    return problems
