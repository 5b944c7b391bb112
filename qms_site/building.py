"""The build in progress: what the doc-control hook decided once, for the other hooks
and the macros, which read it instead of deciding again.

The doc-control hook (listed first in ``mkdocs.yml``) reads and checks the documents
(`qms_site.catalog`) and decides which edition the build is (`qms_site.edition`), then
calls `publish`; everything after reads `catalog()` and `edition()`.
"""

from __future__ import annotations

from qms_site.catalog import Catalog
from qms_site.edition import Build

NOT_YET = "文件目录和手册版本尚未确定：doc_control 钩子必须在 mkdocs.yml 的 hooks 中排在第一个"

_catalog: Catalog | None = None
_edition: Build | None = None


def publish(catalog: Catalog, edition: Build) -> None:
    global _catalog, _edition
    _catalog, _edition = catalog, edition


def catalog() -> Catalog:
    if _catalog is None:
        raise RuntimeError(NOT_YET)
    return _catalog


def edition() -> Build:
    if _edition is None:
        raise RuntimeError(NOT_YET)
    return _edition
