"""Which published edition a build of the manual is: decided once per build, shared by the hooks.

* mike's build (``make release``) names the edition it publishes in ``MIKE_DOCS_VERSION``.
* Any other build (``make build``, ``make serve``) is a published edition when it
  builds exactly what was published: the newest edition on the editions branch
  whose ``qms-catalog.json`` has this build's commit (HEAD) and documents, with no
  uncommitted change to what the site is built from. Otherwise it is an
  unpublished revision (no edition).

A reader's confirmation on a page records this edition and commit, and
``qms-catalog.json`` tells the forms server the same.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from forms_server.acknowledgements import CATALOG_FILE
from qms_site import githistory, revisions
from qms_site.doccontrol import Document

EDITION_ENV = "MIKE_DOCS_VERSION"
#: What the site is built from (the paths `make release` requires to be committed).
SOURCES = ("docs", "data/forms", "data/qms.yml", "mkdocs.yml")


def mike_edition() -> str | None:
    """The edition mike is building and publishing; None in any other build."""
    return os.environ.get(EDITION_ENV) or None


@dataclass
class Editions:
    """The editions on the editions branch: names newest first, each one's catalog read once."""

    project: Path
    branch: str
    versions: list[str] = field(default_factory=list)
    _catalogs: dict[str, dict | None] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, project: Path, branch: str) -> Editions:
        raw = githistory.branch_file(project, branch, "versions.json")
        try:
            versions = [v["version"] for v in json.loads(raw)] if raw else []
        except (ValueError, KeyError, TypeError):
            versions = []
        return cls(project, branch, versions)

    def catalog(self, version: str) -> dict | None:
        """The ``qms-catalog.json`` an edition was published with (None if unreadable)."""
        if version not in self._catalogs:
            text = githistory.branch_file(self.project, self.branch, f"{version}/{CATALOG_FILE}")
            try:
                data = json.loads(text) if text else None
            except ValueError:
                data = None
            self._catalogs[version] = data if isinstance(data, dict) else None
        return self._catalogs[version]

    def before(self, edition: str | None) -> str | None:
        """The edition published before ``edition`` (for an unpublished build: the newest)."""
        versions = self.versions
        if edition in versions:
            versions = versions[versions.index(edition) + 1 :]
        return versions[0] if versions else None


@dataclass
class Build:
    edition: str | None  # the published edition this build is, None for an unpublished revision
    commit: str  # HEAD ("" outside a git repository)
    documents: list[dict]  # `revisions.catalog_json` of this build
    editions: Editions


def decide(project: Path, branch: str, documents: list[Document]) -> Build:
    commit = githistory.head(project)
    editions = Editions.read(project, branch)
    current = revisions.catalog_json(documents)
    edition = mike_edition()
    if edition is None and commit:
        edition = _same_as_published(project, editions, commit, current)
    return Build(edition, commit, current, editions)


def _same_as_published(
    project: Path, editions: Editions, commit: str, documents: list[dict]
) -> str | None:
    for version in editions.versions:
        data = editions.catalog(version)
        if data and data.get("commit") == commit and data.get("documents") == documents:
            changed = githistory.status(project, SOURCES)
            return version if changed == "" else None
    return None
