"""Pages for auditors: revision history, diffs, change log, review plan, edition notes.

Pure functions from documents (and what git says about them) to Markdown; the
hooks in ``qms_site/hooks/history.py`` and ``editions.py`` only wire them in.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import posixpath
from dataclasses import dataclass

from qms_site import render
from qms_site.doccontrol import DOC_TYPES, OBSOLETE, Document, version_key
from qms_site.githistory import Commit

REVIEW_WINDOW_DAYS = 30


@dataclass(frozen=True)
class VersionPoint:
    """A version of a document as it stood in git: the last commit that had it."""

    version: str
    commit: Commit
    text: str


def slug(doc: Document) -> str:
    return doc.code.lower()


def history_src(doc: Document) -> str:
    return f"history/{slug(doc)}.md"


def diff_src(doc: Document, a: str, b: str) -> str:
    return f"history/{slug(doc)}-{a.replace('/', '').lower()}-{b.replace('/', '').lower()}.md"


def version_points(
    commits_oldest_first: list[tuple[Commit, str]], parse_version
) -> list[VersionPoint]:
    """The final text of each version, in version order (a version's last commit wins)."""
    last: dict[str, VersionPoint] = {}
    for commit, text in commits_oldest_first:
        version = parse_version(text)
        if version:
            last[version] = VersionPoint(version, commit, text)
    return sorted(last.values(), key=lambda p: _safe_key(p.version))


def _safe_key(version: str) -> tuple:
    try:
        return (0, *version_key(version))
    except ValueError:
        return (1, version, 0)


def _link(src_from: str, src_to: str, text: str) -> str:
    rel = posixpath.relpath(src_to, posixpath.dirname(src_from) or ".")
    return f"[{html.escape(text, quote=False)}]({rel})"


def _front(title: str) -> str:
    # Generated pages: no macros inside (a "{{" in a summary is shown as written).
    return f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nrender_macros: false\n---\n\n"


def history_page(
    doc: Document, points: list[VersionPoint], commits: list[Commit], complete: bool
) -> str:
    src = history_src(doc)
    out = [_front(f"{doc.code} 修订历史"), f"# {doc.code} {html.escape(doc.title)} · 修订历史\n",
           f"现行版本 **{doc.version}**({doc.status})。返回{_link(src, doc.src, '文件正文')}。\n"]  # fmt: skip
    out += [
        "## 修订记录\n",
        "| 版本 | 日期 | 修订内容 | 编制 | 批准 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rev in reversed(doc.revisions):
        out.append(f"| {rev.version} | {rev.date} | {render._cell(rev.summary)} | {render._cell(rev.prepared_by or '—')} "
                   f"| {render._cell(rev.approved_by or '—')} |")  # fmt: skip
    out.append("")
    out.append("## 版本对比\n")
    if not complete:
        out.append('!!! warning "没有完整的修订历史"\n\n    构建网站时没有完整的 git 历史（例如浅克隆），各版本原文无法取得。'
                   "在仓库中运行 `git fetch --unshallow` 后重新构建即可。\n")  # fmt: skip
    if len(points) < 2:
        out.append("本文件在版本库中只有一个版本，暂无版本对比。\n")
    else:
        out.append("任选两个版本查看逐字对比（删除的文字标为删除线，新增的文字加下划线）：\n")
        for i, a in enumerate(points):
            for b in points[i + 1 :]:
                out.append(
                    f"- {_link(src, diff_src(doc, a.version, b.version), f'{a.version} → {b.version}')}"
                )
        out.append("")
    out += [
        "## 版本库中的提交\n",
        "| 日期 | 版本 | 提交说明 | 提交人 | 提交 |",
        "| --- | --- | --- | --- | --- |",
    ]
    at_commit = {p.commit.sha: p.version for p in points}
    for c in commits:
        out.append(
            f"| {c.date[:10]} | {at_commit.get(c.sha, '')} | {render._cell(c.subject)} | {render._cell(c.author)} | `{c.sha[:8]}` |"
        )
    if not commits:
        out.append("| — | — | 无提交记录 | — | — |")
    return "\n".join(out) + "\n"


def diff_page(
    doc: Document, a: VersionPoint, b: VersionPoint, redline_html: str, counts: dict[str, int]
) -> str:
    src = diff_src(doc, a.version, b.version)
    return "\n".join([
        _front(f"{doc.code} {a.version} → {b.version}"),
        f"# {doc.code} {html.escape(doc.title)}\uff1a{a.version} → {b.version}\n",
        f"| | 旧版本 | 新版本 |\n| --- | --- | --- |\n| 版本 | {a.version} | {b.version} |\n"
        f"| 提交日期 | {a.commit.date[:10]} | {b.commit.date[:10]} |\n| 提交 | `{a.commit.sha[:8]}` | `{b.commit.sha[:8]}` |\n",
        f"新增 {counts['added']} 行，删除 {counts['removed']} 行，修改 {counts['changed']} 行。"
        f"{_link(src, history_src(doc), '返回修订历史')}\n",
        '<div class="qms-diff" markdown="0">',
        redline_html,
        "</div>\n",
    ])  # fmt: skip


def changelog_page(documents: list[Document]) -> str:
    """Every revision of every document, newest first; filter by type and department."""
    entries = sorted(
        ((rev, doc) for doc in documents for rev in doc.revisions),
        key=lambda e: (e[0].date, e[1].code, _safe_key(e[0].version)),
        reverse=True,
    )
    owners = sorted({d.owner for d in documents})
    types = [t for t in DOC_TYPES.values() if any(d.type_name == t for d in documents)]
    out = [_front("修订历史"), "# 修订历史\n", "全部受控文件的历次修订，最新的在前。\n",
           '<div class="qms-filters" data-search-exclude="true">',
           '<label>类型 <select data-filter="type"><option value="">全部</option>'
           + "".join(f"<option>{t}</option>" for t in types) + "</select></label> ",
           '<label>部门 <select data-filter="owner"><option value="">全部</option>'
           + "".join(f"<option>{html.escape(o)}</option>" for o in owners) + "</select></label>",
           "</div>\n",
           '<table class="qms-changelog" data-filtered="true">',
           "<thead><tr><th>日期</th><th>文件</th><th>类型</th><th>归口部门</th><th>版本</th><th>修订内容</th><th>批准</th></tr></thead><tbody>"]  # fmt: skip
    for rev, doc in entries:
        out.append(
            f'<tr data-type="{doc.type_name}" data-owner="{html.escape(doc.owner)}"><td>{rev.date}</td>'
            f'<td><a href="../history/{slug(doc)}/">{doc.code} {html.escape(doc.title)}</a></td><td>{doc.type_name}</td>'
            f"<td>{html.escape(doc.owner)}</td><td>{rev.version}</td><td>{html.escape(rev.summary)}</td>"
            f"<td>{html.escape(rev.approved_by or '—')}</td></tr>"
        )
    out.append("</tbody></table>\n")
    return "\n".join(out)


def review_page(documents: list[Document], today: dt.date) -> str:
    """Documents overdue for their periodic review, and those due within 30 days."""
    live = [d for d in documents if d.status != OBSOLETE and d.review_due]
    overdue = sorted((d for d in live if d.review_due < today), key=lambda d: d.review_due)
    soon = sorted((d for d in live if today <= d.review_due <= today + dt.timedelta(days=REVIEW_WINDOW_DAYS)),
                  key=lambda d: d.review_due)  # fmt: skip
    out = [_front("文件评审计划"), "# 文件评审计划\n",
           f"按 QP-01，受控文件每年至少评审一次。本页在网站发布时生成（统计日 {today}）。\n"]  # fmt: skip
    for title, docs, empty in (("已逾期", overdue, "没有逾期未评审的文件。"),
                               (f"{REVIEW_WINDOW_DAYS} 天内到期", soon, f"{REVIEW_WINDOW_DAYS} 天内没有到期的文件。")):  # fmt: skip
        out += [f"## {title}\n"]
        if not docs:
            out += [f"{empty}\n"]
            continue
        out += [
            "| 文件 | 版本 | 归口部门 | 下次评审日期 | 距今 |",
            "| --- | --- | --- | --- | --- |",
        ]
        for d in docs:
            days = (d.review_due - today).days
            when = f"逾期 {-days} 天" if days < 0 else f"{days} 天后"
            out.append(f"| {_link('review.md', d.src, f'{d.code} {d.title}')} | {d.version} | {render._cell(d.owner)} "
                       f"| {d.review_due} | {when} |")  # fmt: skip
        out.append("")
    return "\n".join(out)


# Editions -----------------------------------------------------------------------


def catalog_json(documents: list[Document]) -> list[dict]:
    """The documents of a build, kept with each edition to compare editions later."""
    return [
        {
            "code": d.code, "title": d.title, "version": d.version, "status": d.status, "owner": d.owner,
            "type": d.type_name, "src": d.src,
            "effective": d.effective.isoformat() if d.effective else None,
            "review_due": d.review_due.isoformat() if d.review_due else None,
            "withdrawn_on": d.withdrawn_on.isoformat() if d.withdrawn_on else None,
            "withdrawn_reason": d.withdrawn_reason, "superseded_by": d.superseded_by,
            "revisions": [{"version": r.version, "date": r.date.isoformat(), "summary": r.summary,
                           "approved_by": r.approved_by, "prepared_by": r.prepared_by} for r in d.revisions],
        }
        for d in sorted(documents, key=lambda d: d.code)
    ]  # fmt: skip


def edition_changes(previous: list[dict], current: list[dict]) -> dict[str, list[dict]]:
    """What changed from one edition to the next: added, revised, obsoleted, removed documents."""
    before = {d["code"]: d for d in previous}
    after = {d["code"]: d for d in current}
    changes: dict[str, list[dict]] = {"added": [], "revised": [], "obsoleted": [], "removed": []}
    for code, doc in sorted(after.items()):
        old = before.get(code)
        if old is None:
            changes["added"].append(doc)
        elif doc["status"] == OBSOLETE and old["status"] != OBSOLETE:
            changes["obsoleted"].append(doc)
        elif doc["version"] != old["version"]:
            new_revisions = [
                r for r in doc["revisions"] if _safe_key(r["version"]) > _safe_key(old["version"])
            ]
            changes["revised"].append(
                {**doc, "old_version": old["version"], "changes": new_revisions}
            )
    changes["removed"] = [before[c] for c in sorted(set(before) - set(after))]
    return changes


def _parenthesized(text: str | None) -> str:
    return f"\uff08{text}\uff09" if text else ""


def release_notes_page(
    edition: str | None, previous: str | None, changes: dict[str, list[dict]] | None
) -> str:
    name = f"版本 {edition}" if edition else "尚未发布的修订"
    out = [_front("版本说明"), f"# 版本说明：{name}\n"]
    if edition is None:
        out.append(
            f"本页列出当前文件与最近发布的版本{_parenthesized(previous)}相比的变化，发布新版本后即成为该版本的版本说明。\n"
        )
    if changes is None:
        out.append(
            "这是第一个发布的版本，全部受控文件首次发布。\n" if edition else "尚未发布任何版本。\n"
        )
        return "\n".join(out)
    out.append(f"与上一版本 **{previous}** 相比：新增 {len(changes['added'])} 份，修订 {len(changes['revised'])} 份，"
               f"作废 {len(changes['obsoleted'])} 份。\n")  # fmt: skip
    sections = [
        ("新增文件", "added"),
        ("修订文件", "revised"),
        ("作废文件", "obsoleted"),
        ("移除文件", "removed"),
    ]
    for title, key in sections:
        docs = changes[key]
        if not docs:
            continue
        out.append(f"## {title}\n")
        if key == "revised":
            out += ["| 文件 | 版本 | 修订内容 | 批准 |", "| --- | --- | --- | --- |"]
            for d in docs:
                summary = (
                    "\uff1b".join(f"{r['version']} {r['summary']}" for r in d["changes"]) or "—"
                )
                approvers = (
                    "、".join(
                        dict.fromkeys(r["approved_by"] for r in d["changes"] if r["approved_by"])
                    )
                    or "—"
                )
                out.append(f"| {_link('release-notes.md', d['src'], d['code'] + ' ' + d['title'])} | {d['old_version']} → {d['version']} "
                           f"| {render._cell(summary)} | {render._cell(approvers)} |")  # fmt: skip
        elif key == "obsoleted":
            out += [
                "| 文件 | 最后版本 | 作废日期 | 原因 | 替代文件 |",
                "| --- | --- | --- | --- | --- |",
            ]
            for d in docs:
                out.append(f"| {_link('release-notes.md', d['src'], d['code'] + ' ' + d['title'])} | {d['version']} "
                           f"| {d['withdrawn_on'] or '—'} | {render._cell(d['withdrawn_reason'] or '—')} | {d['superseded_by'] or '—'} |")  # fmt: skip
        else:
            out += ["| 文件 | 版本 | 生效日期 |", "| --- | --- | --- |"]
            for d in docs:
                label = f"{d['code']} {d['title']}"
                cell = (
                    _link("release-notes.md", d["src"], label)
                    if key == "added"
                    else render._cell(label)
                )
                out.append(f"| {cell} | {d['version']} | {d['effective'] or '—'} |")
        out.append("")
    return "\n".join(out)
