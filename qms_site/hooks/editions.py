"""MkDocs hook: published editions of the manual (mike).

* In an edition build (mike sets ``MIKE_DOCS_VERSION``), Material's version
  selector and its "old version" banner are switched on.
* Every build gets a 版本说明 page: what changed since the previous published
  edition (added, revised with old → new version, summary and approver,
  obsoleted). The previous edition's documents are read from the editions
  branch, where each edition keeps its ``qms-catalog.json``.
* Every build writes ``qms-catalog.json`` (edition, commit, documents and current
  versions): the next edition compares against it, and the forms server reads it
  to know which version of each document is current.

Which edition a build is (`qms_site.edition`) is decided once, by the doc-control hook.
"""

from __future__ import annotations

import json
from pathlib import Path

from mkdocs.structure.files import File, Files

from forms_server.acknowledgements import CATALOG_FILE
from qms_site import building, revisions
from qms_site import edition as edition_module

# Hooks -----------------------------------------------------------------------


def on_config(config):
    if edition_module.mike_edition():
        config.extra["version"] = {"provider": "mike", "default": "latest"}
    return config


def on_files(files: Files, config) -> Files:
    build = building.edition()
    previous = build.editions.before(build.edition)
    before = build.editions.catalog(previous) if previous else None
    documents = before.get("documents") if before else None
    changes = (
        revisions.edition_changes(documents, build.documents)
        if isinstance(documents, list)
        else None
    )
    content = revisions.release_notes_page(build.edition, previous, changes)
    if files.get_file_from_path("release-notes.md") is None:
        files.append(File.generated(config, "release-notes.md", content=content))
    return files


def on_post_build(config) -> None:
    build = building.edition()
    data = {"edition": build.edition, "commit": build.commit or None, "documents": build.documents}
    Path(config.site_dir, CATALOG_FILE).write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )
