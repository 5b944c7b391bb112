"""What every reader sees of a controlled document: header block, banners, revision
table and the register. Pure functions from `Document`s to Markdown/HTML strings.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
from collections.abc import Iterable

from forms_server.acknowledgements import READ_TYPES
from qms_site.doccontrol import DRAFT, EFFECTIVE, IN_REVIEW, OBSOLETE, Document

PRINT_NOTICE = "受控文件·打印件为非受控副本，以网站为准"

STATUS_CLASS = {DRAFT: "draft", IN_REVIEW: "review", EFFECTIVE: "effective", OBSOLETE: "obsolete"}


def display_status(doc: Document, today: dt.date) -> str:
    """The status a reader should see: 受控 documents not yet in force show 待生效."""
    return "待生效" if doc.is_pending(today) else doc.status


def link(target: Document, from_src: str, label: str | None = None) -> str:
    """A Markdown link from the page ``from_src`` to ``target``'s page."""
    rel = posixpath.relpath(target.src, posixpath.dirname(from_src) or ".")
    text = label if label is not None else f"{target.code} {target.title}"
    return f"[{_md_escape(text)}]({rel})"


def acknowledge_box(doc: Document, edition: str, commit: str) -> str:
    """Where the manual's script offers "我已阅读并理解" to a logged-in reader.

    It stays hidden when the page is opened without the forms server (a static
    copy), for drafts and obsolete documents, and for roles that do not confirm.
    """
    if doc.status != EFFECTIVE or doc.type_name not in READ_TYPES:
        return ""
    attrs = {"code": doc.code, "version": doc.version, "edition": edition, "commit": commit}
    data = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in attrs.items())
    return f'<div class="qms-ack" {data} data-search-exclude="true" hidden></div>\n'


def page_title(doc: Document) -> str:
    return f"{doc.code} {doc.title}"


def header(doc: Document, today: dt.date, lookup) -> str:
    """The document-control block shown at the top of a controlled page.

    ``lookup(code)`` returns the referenced `Document` or None.
    """
    status = display_status(doc, today)
    css = STATUS_CLASS.get(doc.status, "draft")
    if status == "待生效":
        css = "pending"
    rows = [
        ("文件编号", doc.code),
        ("版本", doc.version),
        ("状态", status),
        ("归口部门", doc.owner),
        ("生效日期", _date(doc.effective)),
        ("下次评审", _date(doc.review_due)),
        ("编制", doc.prepared_by),
        ("审核", doc.reviewed_by or "—"),
        ("批准", doc.approved_by or "—"),
    ]
    cells = "".join(
        f'<div class="qms-field"><dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd></div>'
        for k, v in rows
    )
    parts = [
        print_style(doc),
        f'<div class="qms-doc-header qms-status-{css}" data-search-exclude="true" markdown>',
        f'<dl class="qms-fields">{cells}</dl>',
    ]
    history = posixpath.relpath(f"history/{doc.code.lower()}.md", posixpath.dirname(doc.src) or ".")
    parts.append(f'<p class="qms-links" markdown>**修订历史：**[历次修订与版本对比]({history})</p>')
    for label, codes in (("引用文件", doc.references), ("相关记录", doc.records)):
        if codes:
            links = []
            for code in codes:
                target = lookup(code)
                links.append(link(target, doc.src) if target else code)
            parts.append(f'<p class="qms-links" markdown>**{label}：** {" · ".join(links)}</p>')
    parts.append("</div>")
    parts.append(banner(doc, today, lookup))
    if doc.status == OBSOLETE:
        parts.append('<div class="qms-watermark" aria-hidden="true">作废</div>')
    return "\n".join(p for p in parts if p) + "\n"


def banner(doc: Document, today: dt.date, lookup) -> str:
    """A status banner for anything a reader must not mistake for the rule in force."""
    if doc.status == DRAFT:
        return _admonition("danger", "草稿", "本文件为草稿，尚未审核批准，不得作为工作依据。")
    if doc.status == IN_REVIEW:
        return _admonition("warning", "审核中", "本文件正在审核，尚未批准生效，不得作为工作依据。")
    if doc.status == OBSOLETE:
        text = f"本文件已于 {_date(doc.withdrawn_on)} 作废：{doc.withdrawn_reason}。"
        if doc.superseded_by:
            target = lookup(doc.superseded_by)
            text += f"现行文件为 {link(target, doc.src) if target else doc.superseded_by}。"
        text += "仅供查阅，不得作为工作依据。"
        return _admonition("failure", "已作废", text)
    if doc.is_pending(today):
        return _admonition(
            "info",
            "待生效",
            f"本版本已批准，将于 {_date(doc.effective)} 起生效；此前仍执行上一版本。",
        )
    if doc.is_overdue(today):
        return _admonition(
            "warning",
            "评审逾期",
            f"本文件应于 {_date(doc.review_due)} 前完成定期评审，请归口部门（{doc.owner}）尽快组织评审。",
        )
    return ""


def revision_table(doc: Document) -> str:
    """The 修订记录 section closing every controlled page, newest first."""
    lines = [
        "",
        "## 修订记录",
        "",
        "| 版本 | 日期 | 修订内容 | 编制 | 批准 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rev in reversed(doc.revisions):
        lines.append(
            f"| {rev.version} | {rev.date} | {_cell(rev.summary)} | {_cell(rev.prepared_by or '—')} "
            f"| {_cell(rev.approved_by or '—')} |"
        )
    return "\n".join(lines) + "\n"


def register(groups: dict[str, list[Document]], from_src: str, today: dt.date) -> str:
    """The 受控文件清单: every document grouped by type; obsolete ones in an archive."""
    out: list[str] = []
    archive: list[Document] = []
    for type_name, docs in groups.items():
        current = [d for d in docs if d.status != OBSOLETE]
        archive.extend(d for d in docs if d.status == OBSOLETE)
        out += [f"## {type_name}", ""]
        if not current:
            out += ["（暂无）", ""]
            continue
        out += [
            "| 文件编号 | 文件名称 | 版本 | 状态 | 归口部门 | 生效日期 | 下次评审 |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for d in current:
            out.append(
                f"| {d.code} | {link(d, from_src, d.title)} | {d.version} | {display_status(d, today)} "
                f"| {_cell(d.owner)} | {_date(d.effective)} | {_date(d.review_due)} |"
            )
        out.append("")
    out += ["## 作废文件", ""]
    if not archive:
        out += ["（暂无）", ""]
    else:
        out += [
            "| 文件编号 | 文件名称 | 最后版本 | 作废日期 | 作废原因 | 替代文件 |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for d in sorted(archive, key=lambda d: d.code):
            out.append(
                f"| {d.code} | {link(d, from_src, d.title)} | {d.version} | {_date(d.withdrawn_on)} "
                f"| {_cell(d.withdrawn_reason)} | {d.superseded_by or '—'} |"
            )
        out.append("")
    return "\n".join(out)


def print_style(doc: Document) -> str:
    """Running header and footer on printed pages (CSS paged media margin boxes)."""
    head = _css_string(f"{doc.code} {doc.title}  版本 {doc.version}")
    notice = _css_string(PRINT_NOTICE)
    return (
        "<style>@page{"
        f"@top-left{{content:{head};font-size:8pt;}}"
        f"@top-right{{content:{notice};font-size:8pt;}}"
        "}</style>"
    )


def nav_entries(docs: Iterable[Document]) -> list[dict[str, str]]:
    return [{page_title(d): d.src} for d in sorted(docs, key=lambda d: d.code)]


# Helpers ---------------------------------------------------------------------


def _admonition(kind: str, title: str, text: str) -> str:
    return f'!!! {kind} "{title}"\n\n    {text}\n'


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _md_escape(text: str) -> str:
    return html.escape(text, quote=False).replace("[", "\\[").replace("]", "\\]")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ") + '"'
