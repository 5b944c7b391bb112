"""Chinese punctuation in controlled documents: ASCII ,;:?!() beside Chinese become full-width.

Formal Chinese text uses full-width punctuation (U+FF0C ，, U+FF1B ；, U+FF1A ：,
U+FF1F ？, U+FF01 ！, U+FF08/U+FF09 （）). Authors who switch
input methods often leave ASCII marks behind; this tool finds and fixes them
without touching syntax:

* Markdown: only prose. Front matter is handled as YAML; fenced code blocks
  (including mermaid, whose brackets are syntax), inline code, HTML tags,
  macros ``{{ … }}``/``{% … %}``, link targets and URLs are left alone.
* YAML (front matter and form definitions): only the text of scalars, found by
  the YAML scanner, so flow separators such as ``[新编, 修订]`` stay ASCII.

    python -m qms_site.punctuation docs data/forms          # list files to change
    python -m qms_site.punctuation --fix docs data/forms    # change them
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

FULL = {
    ",": "\uff0c",
    ";": "\uff1b",
    ":": "\uff1a",
    "?": "\uff1f",
    "!": "\uff01",
    "(": "\uff08",
    ")": "\uff09",
}
PROTECTED = re.compile(
    r"`[^`]*`"  # inline code
    r"|\{\{.*?\}\}|\{%.*?%\}"  # macros
    r"|<[^<>]*>"  # HTML tags
    r"|\]\([^)]*\)"  # link targets
    r"|https?://\S+"  # bare URLs
)


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x3000 <= code <= 0x303F
        or ch in "“”‘’—…·"
    )


def fix_text(text: str) -> str:
    """Convert ASCII punctuation next to Chinese in one run of prose."""
    chars = list(text)
    opened: list[tuple[int, bool]] = []
    for i, ch in enumerate(chars):
        prev = chars[i - 1] if i else ""
        nxt = chars[i + 1] if i + 1 < len(chars) else ""
        near = (prev and is_cjk(prev)) or (nxt and is_cjk(nxt))
        if ch in ",;" and near:
            chars[i] = FULL[ch]
        elif ch == ":" and near and not (prev.isdigit() and nxt.isdigit()):
            chars[i] = FULL[ch]
        elif ch in "?!" and prev and is_cjk(prev):
            chars[i] = FULL[ch]
        elif ch == "(":
            convert = bool(near)
            opened.append((i, convert))
            if convert:
                chars[i] = FULL[ch]
        elif ch == ")" and opened:
            _, convert = opened.pop()
            if convert or (nxt and is_cjk(nxt)):
                chars[i] = FULL[ch]
    return "".join(chars)


def fix_prose_line(line: str) -> str:
    out, last = [], 0
    for match in PROTECTED.finditer(line):
        out.append(fix_text(line[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(fix_text(line[last:]))
    return "".join(out)


def fix_yaml(text: str) -> str:
    """Fix the text of every scalar; keys and flow syntax stay as they are."""
    spans = []
    for token in yaml.scan(text):
        if isinstance(token, yaml.ScalarToken) and any(is_cjk(c) for c in token.value):
            spans.append((token.start_mark.index, token.end_mark.index))
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(fix_text(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)


def fix_markdown(text: str) -> str:
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    index = 0
    if lines and lines[0].rstrip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
        if end is not None:
            out.append(lines[0])
            out.append(fix_yaml("".join(lines[1:end])))
            out.append(lines[end])
            index = end + 1
    fence = None
    for line in lines[index:]:
        stripped = line.lstrip()
        if fence:
            out.append(line)
            if stripped.startswith(fence):
                fence = None
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            out.append(line)
            continue
        out.append(fix_prose_line(line))
    return "".join(out)


def fix_file(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return fix_yaml(text) if path.suffix in (".yml", ".yaml") else fix_markdown(text)


def files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".md", ".yml", ".yaml"))
        else:
            found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qms_site.punctuation", description="中文标点规范化"
    )
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--fix", action="store_true", help="直接修改文件")
    args = parser.parse_args(argv)
    changed = 0
    for path in files(args.paths):
        before = path.read_text(encoding="utf-8")
        try:
            after = fix_file(path)
        except yaml.YAMLError as exc:
            print(f"跳过（YAML 有误，请先修正）\uff1a{path}\uff1a{exc}", file=sys.stderr)
            continue
        if after != before:
            changed += 1
            if args.fix:
                path.write_text(after, encoding="utf-8")
            print(f"{'已修改' if args.fix else '需修改'}\uff1a{path}")
    return 1 if changed and not args.fix else 0


if __name__ == "__main__":
    sys.exit(main())
