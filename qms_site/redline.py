"""Redline between two revisions of a document, readable for Chinese text.

Lines are compared first; lines that changed are then compared character by
character, so that a changed number or word inside a long Chinese sentence is
marked on its own (Chinese has no spaces to split words on). Unchanged runs
are folded, keeping a little context around each change.
"""

from __future__ import annotations

import difflib
from html import escape

CONTEXT = 2


def inline(old: str, new: str) -> str:
    """One changed line: characters removed in <del>, added in <ins>."""
    out = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            out.append(escape(old[a1:a2]))
        if tag in ("delete", "replace"):
            out.append(f"<del>{escape(old[a1:a2])}</del>")
        if tag in ("insert", "replace"):
            out.append(f"<ins>{escape(new[b1:b2])}</ins>")
    return "".join(out)


def redline(old_text: str, new_text: str) -> tuple[str, dict[str, int]]:
    """HTML of the differences, and counts of lines added, removed and changed."""
    old, new = old_text.splitlines(), new_text.splitlines()
    counts = {"added": 0, "removed": 0, "changed": 0}
    rows: list[tuple[str, int | None, int | None, str]] = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            for k in range(a2 - a1):
                rows.append(("same", a1 + k + 1, b1 + k + 1, escape(old[a1 + k])))
            continue
        pairs = min(a2 - a1, b2 - b1) if tag == "replace" else 0
        for k in range(pairs):
            rows.append(("chg", a1 + k + 1, b1 + k + 1, inline(old[a1 + k], new[b1 + k])))
            counts["changed"] += 1
        for k in range(a1 + pairs, a2):
            rows.append(("del", k + 1, None, f"<del>{escape(old[k])}</del>"))
            counts["removed"] += 1
        for k in range(b1 + pairs, b2):
            rows.append(("ins", None, k + 1, f"<ins>{escape(new[k])}</ins>"))
            counts["added"] += 1
    keep = set()
    for i, row in enumerate(rows):
        if row[0] != "same":
            keep.update(range(max(0, i - CONTEXT), min(len(rows), i + CONTEXT + 1)))
    html, skipped = ['<div class="qms-redline">'], False
    for i, (kind, a, b, text) in enumerate(rows):
        if i not in keep:
            if not skipped:
                html.append('<div class="qms-rl-fold">⋯</div>')
            skipped = True
            continue
        skipped = False
        number = b if b is not None else a
        html.append(
            f'<div class="qms-rl-{kind}"><span class="qms-rl-no">{number}</span>{text or "&nbsp;"}</div>'
        )
    if not keep:
        html.append('<div class="qms-rl-fold">两个版本的文本相同。</div>')
    html.append("</div>")
    return "\n".join(html), counts
