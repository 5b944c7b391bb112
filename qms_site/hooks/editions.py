"""MkDocs hook: published editions of the manual (mike).

* In an edition build (mike sets ``MIKE_DOCS_VERSION``), Material's version
  selector and its "old version" banner are switched on.
* Every build gets a 版本说明 page: what changed since the previous published
  edition (added, revised with old → new version, summary and approver,
  obsoleted). The previous edition's documents are read from the editions
  branch, where each edition keeps its ``qms-catalog.json``.
* Every build writes ``qms-catalog.json`` (documents and current versions): the
  next edition compares against it, and the forms server reads it to know
  which version of each document is current.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mkdocs.structure.files import File, Files

from qms_site import catalog as catalog_module
from qms_site import githistory, revisions

EDITION_ENV = "MIKE_DOCS_VERSION"
CATALOG_FILE = "qms-catalog.json"

# Hooks -----------------------------------------------------------------------


def on_config(config):
    if os.environ.get(EDITION_ENV):
        config.extra["version"] = {"provider": "mike", "default": "latest"}
    return config


def on_files(files: Files, config) -> Files:
    catalog = catalog_module.published()
    edition = os.environ.get(EDITION_ENV) or None
    previous, before = _previous_edition(config, edition)
    current = revisions.catalog_json(catalog.documents)
    changes = revisions.edition_changes(before, current) if before is not None else None
    content = revisions.release_notes_page(edition, previous, changes)
    if files.get_file_from_path("release-notes.md") is None:
        files.append(File.generated(config, "release-notes.md", content=content))
    return files


def on_post_build(config) -> None:
    catalog = catalog_module.published()
    project = Path(config.config_file_path).resolve().parent
    data = {
        "edition": os.environ.get(EDITION_ENV) or None,
        "commit": githistory.head(project) or None,
        "documents": revisions.catalog_json(catalog.documents),
    }
    Path(config.site_dir, CATALOG_FILE).write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )


# Helpers ---------------------------------------------------------------------


def _previous_edition(config, edition: str | None) -> tuple[str | None, list[dict] | None]:
    """The edition before ``edition`` (or the newest, for an unpublished build) and its documents."""
    project = Path(config.config_file_path).resolve().parent
    branch = (config.extra.get("doc_control") or {}).get("editions_branch", "editions")
    raw = githistory.branch_file(project, branch, "versions.json")
    if not raw:
        return None, None
    try:
        versions = [v["version"] for v in json.loads(raw)]
    except (ValueError, KeyError, TypeError):
        return None, None
    if edition in versions:
        index = versions.index(edition)
        versions = versions[index + 1 :]
    if not versions:
        return None, None
    previous = versions[0]
    text = githistory.branch_file(project, branch, f"{previous}/{CATALOG_FILE}")
    try:
        return previous, json.loads(text)["documents"] if text else None
    except (ValueError, KeyError, TypeError):
        return previous, None
