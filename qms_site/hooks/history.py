"""MkDocs hook: revision history and diffs of every controlled document, the site-wide
change log and the review plan, generated from the metadata and the git history.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import yaml
from mkdocs.structure.files import File, Files

from forms_server.definitions import load_yaml
from qms_site import building, githistory, revisions
from qms_site.catalog import split_front_matter
from qms_site.redline import redline

log = logging.getLogger("mkdocs.hooks.history")

# Hooks -----------------------------------------------------------------------


def on_files(files: Files, config) -> Files:
    catalog = building.catalog()
    project = Path(config.config_file_path).resolve().parent
    history = githistory.load(project, [d.path for d in catalog.documents])
    if not history.complete:
        log.info(
            "没有完整的 git 历史（%s）：修订历史页面只列出文件控制信息中的修订记录。",
            "浅克隆" if history.shallow else "不在 git 仓库中",
        )
    history.fetch(
        (c.sha, d.path) for d in catalog.documents for c in history.commits.get(d.path, [])
    )
    for doc in catalog.documents:
        commits = history.commits.get(doc.path, [])
        texts = [(c, history.text_at(c.sha, doc.path)) for c in reversed(commits)]
        points = revisions.version_points([(c, t) for c, t in texts if t is not None], _version)
        _add(
            files,
            config,
            revisions.history_src(doc),
            revisions.history_page(doc, points, commits, history.complete),
        )
        for i, a in enumerate(points):
            for b in points[i + 1 :]:
                html, counts = redline(a.text, b.text)
                _add(
                    files,
                    config,
                    revisions.diff_src(doc, a.version, b.version),
                    revisions.diff_page(doc, a, b, html, counts),
                )
    _add(files, config, "changelog.md", revisions.changelog_page(catalog.documents))
    _add(files, config, "review.md", revisions.review_page(catalog.documents, dt.date.today()))
    return files


# Helpers ---------------------------------------------------------------------


def _add(files: Files, config, src: str, content: str) -> None:
    if files.get_file_from_path(src) is None:
        files.append(File.generated(config, src, content=content))


def _version(text: str) -> str | None:
    """The version a file declared: Markdown front matter or a form definition's YAML."""
    raw, _ = split_front_matter(text)
    try:
        meta = load_yaml(raw if raw is not None else text)
    except yaml.YAMLError:
        return None
    version = meta.get("version") if isinstance(meta, dict) else None
    return version.strip() if isinstance(version, str) else None
