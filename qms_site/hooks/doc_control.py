"""MkDocs hook: enforce document control and show it on every controlled page.

The rules live in `qms_site.doccontrol` (plain Python); this hook only reads the
configuration, runs them once per build, fails the build with every problem
listed, and decorates pages with their header, banner and revision table.

Configuration (``mkdocs.yml``)::

    extra:
      doc_control:
        controlled_dirs: [manual, procedures, instructions]
        forms_dir: data/forms          # relative to mkdocs.yml
        overdue_review: warn           # or "error" (env QMS_OVERDUE_REVIEW)
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from mkdocs.exceptions import PluginError

from qms_site import catalog as catalog_module
from qms_site import render
from qms_site.doccontrol import OBSOLETE

# Overdue reviews are advisory unless the strict setting is on. They are logged
# outside the "mkdocs" logger so that `--strict` (which fails on any mkdocs
# warning) does not turn the advisory into an error behind the user's back.
log = logging.getLogger("qms.doc_control")
if not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    log.addHandler(_handler)
    log.propagate = False

OVERDUE_SETTINGS = ("warn", "error")
DEFAULT_SETTINGS = {
    "controlled_dirs": ["manual", "procedures", "instructions"],
    "forms_dir": "data/forms",
    "overdue_review": "warn",
}


# Hooks -----------------------------------------------------------------------


def on_config(config):
    settings = {**DEFAULT_SETTINGS, **(config.extra.get("doc_control") or {})}
    overdue = str(settings["overdue_review"]).strip().lower()
    if overdue not in OVERDUE_SETTINGS:
        raise PluginError(
            f"mkdocs.yml: extra.doc_control.overdue_review 应为 warn 或 error，实际为 {overdue!r}"
        )
    project_dir = Path(config.config_file_path).resolve().parent
    docs_dir = Path(config.docs_dir).resolve()
    forms_dir = (project_dir / settings["forms_dir"]).resolve() if settings["forms_dir"] else None

    catalog = catalog_module.load(
        project_dir=project_dir,
        docs_dir=docs_dir,
        controlled_dirs=settings["controlled_dirs"],
        forms_dir=forms_dir,
        today=dt.date.today(),
        overdue_is_error=overdue == "error",
    )
    for problem in catalog.warnings:
        log.warning(str(problem))
    if catalog.errors:
        lines = "\n".join(f"  - {p}" for p in catalog.errors)
        raise PluginError(f"文件控制检查未通过，共 {len(catalog.errors)} 个问题：\n{lines}")
    catalog_module.publish(catalog)

    if not config.nav:
        config.nav = _navigation(catalog, docs_dir, settings["controlled_dirs"])
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    catalog = catalog_module.published()
    doc = catalog.by_src(page.file.src_uri)
    if doc is None:
        return markdown
    today = dt.date.today()
    return (
        f"# {render.page_title(doc)}\n\n"
        + render.header(doc, today, catalog.get)
        + "\n"
        + markdown
        + "\n"
        + render.revision_table(doc)
    )


# Helpers ---------------------------------------------------------------------


def _navigation(catalog, docs_dir: Path, controlled_dirs) -> list:
    """Home, register, then each document type (obsolete documents leave the nav)."""
    nav: list = []
    for name in ("index.md", "register.md"):
        if (docs_dir / name).is_file():
            nav.append(name)
    for type_name, docs in catalog.grouped().items():
        current = [d for d in docs if d.status != OBSOLETE]
        if current:
            nav.append({type_name: render.nav_entries(current)})
    controlled = tuple(f"{d}/" for d in controlled_dirs)
    others = sorted(
        p.relative_to(docs_dir).as_posix()
        for p in docs_dir.rglob("*.md")
        if not p.relative_to(docs_dir).as_posix().startswith(controlled)
        and p.name not in ("index.md", "register.md")
    )
    if others:
        nav.append({"其他": others})
    return nav
