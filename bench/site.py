"""Building the manual: our hooks and macros vs the same pages built without them.

* ours: ``properdocs build --strict -f mkdocs.yml``, exactly what ``make build`` runs
  (document-control checks, record pages, revision histories and redline diffs from
  git, change log, review plan, edition notes, macros);
* baseline: the same pages built by the same engine, theme, search plugin and
  Markdown extensions with ``hooks:`` and the ``macros`` plugin removed. "The same
  pages": the pages our hooks generate are captured once from a real build and
  written out as ordinary Markdown files beside a copy of ``docs/``, and the
  navigation the hook builds is written into the configuration. Macro calls stay
  in the text as written (``{{ … }}``), unrendered.

Builds alternate (ours, baseline, ours, …) so that noise hits both alike; the
figures are medians. Target: ours within 1.5× of the baseline. Also reported:
the gzipped size of the search index and of a typical page's first load (its
HTML and every stylesheet and script it references).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

from forms_server.settings import PROJECT_DIR

PROPERDOCS = Path(sys.executable).parent / "properdocs"
#: The hooks and macros of this checkout, whichever checkout the virtualenv was installed from.
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
#: Typical controlled documents (text, tables, header), with and without a flowchart: only
#: pages with a diagram load mermaid.
PAGES = {
    "有流程图的程序文件": "procedures/qp-10/index.html",
    "无流程图的程序文件": "procedures/qp-11/index.html",
}


# The baseline's pages -------------------------------------------------------------


def dump(out: Path) -> None:
    """Run the real configuration up to its ``files`` event; write every Markdown page the
    hooks generated into ``out``/docs and the navigation into ``out``/nav.json.

    (Run in its own process: ``python -m bench.site OUT``.)"""
    import properdocs.replacement  # noqa: F401 - mkdocs.* imports (the theme's, our hooks') go to properdocs
    from properdocs.config.base import load_config
    from properdocs.plugins import BasePlugin, event_priority

    class Captured(Exception):
        pass

    class Capture(BasePlugin):
        @event_priority(-1000)  # after every hook
        def on_files(self, files, config):
            for f in files:
                if f.generated_by is not None and f.src_uri.endswith(".md"):
                    target = out / "docs" / f.src_uri
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(f.content_string, encoding="utf-8")
            (out / "nav.json").write_text(json.dumps(config.nav, ensure_ascii=False), "utf-8")
            raise Captured

    config = load_config(str(PROJECT_DIR / "mkdocs.yml"), strict=True)
    config.plugins["bench-capture"] = Capture()
    from properdocs.commands.build import build

    try:
        build(config)
    except Captured:
        return
    raise SystemExit("没有捕获到生成的页面")


def baseline_config(root: Path) -> Path:
    """mkdocs.yml without hooks and macros, over ``root``/docs, with the captured nav."""
    text = (PROJECT_DIR / "mkdocs.yml").read_text(encoding="utf-8")
    lines, out, skipping = text.splitlines(), [], None
    for line in lines:
        if skipping == "hooks" and (line.startswith(" ") or not line.strip()):
            continue
        if skipping == "macros" and (line.startswith("      ") or not line.strip()):
            continue
        skipping = None
        if line.startswith("hooks:"):
            skipping = "hooks"
            continue
        if line.strip() == "- macros:":
            skipping = "macros"
            continue
        out.append(line)
    text = "\n".join(out) + "\n"
    text = re.sub(r"(?m)^docs_dir: .*$", f"docs_dir: {root / 'docs'}", text)
    text = text.replace("custom_dir: qms_site/", f"custom_dir: {PROJECT_DIR / 'qms_site'}/")
    text = text.replace(
        "jieba_dict_user: qms_site/", f"jieba_dict_user: {PROJECT_DIR / 'qms_site'}/"
    )
    assert (
        "hooks:" not in text
        and "macros" not in text.split("plugins:")[1].split("markdown_extensions")[0]
    )
    text += "nav: " + (root / "nav.json").read_text(encoding="utf-8") + "\n"
    path = root / "mkdocs-plain.yml"
    path.write_text(text, encoding="utf-8")
    return path


def prepare(root: Path) -> Path:
    shutil.copytree(PROJECT_DIR / "docs", root / "docs")
    done = subprocess.run([sys.executable, "-m", "bench.site", str(root)], cwd=PROJECT_DIR, env=ENV,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"捕获生成的页面失败：{done.stderr[-3000:]}")
    return baseline_config(root)


# Measuring ----------------------------------------------------------------------------


def build(config: Path, site: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [str(PROPERDOCS), "build", "--strict", "-f", str(config), "--site-dir", str(site)],
        cwd=PROJECT_DIR, env=ENV, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"构建失败（{config.name}）：{done.stderr[-3000:]}")
    return elapsed


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def first_load(site: Path, page: str) -> tuple[int, int, int]:
    """Gzipped bytes of ``page`` and of the stylesheets and scripts it references, and their count."""
    html = (site / page).read_bytes()
    refs = re.findall(rb'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    refs += re.findall(rb'<script[^>]+src="([^"]+)"', html)
    assets = 0
    for ref in dict.fromkeys(r.decode() for r in refs):
        if ref.startswith(("http:", "https:", "//")):
            continue
        path = urljoin("/" + page, ref.split("?")[0].split("#")[0])
        assets += gz((site / path.lstrip("/")).read_bytes())
    return gz(html), assets, len(refs)


def main(quick: bool = False) -> None:
    rounds = 1 if quick else 3
    root = Path(tempfile.mkdtemp(prefix="qms-bench-site-"))
    try:
        plain = prepare(root)
        pages = sum(1 for _ in (root / "docs").rglob("*.md"))
        print(
            f"\n## 手册构建：properdocs build --strict（{pages} 个页面，其中 "
            f"{sum(1 for _ in (PROJECT_DIR / 'docs').rglob('*.md'))} 个在 docs/ 中；"
            f"交替构建 {rounds} 轮，取中位数）"
        )
        times: dict[str, list[float]] = {"ours": [], "plain": []}
        for r in range(rounds):
            for name in ("ours", "plain") if r % 2 == 0 else ("plain", "ours"):
                config = PROJECT_DIR / "mkdocs.yml" if name == "ours" else plain
                times[name].append(build(config, root / f"site-{name}"))
        site = root / "site-ours"
        index = (site / "search" / "search_index.json").read_bytes()
        loads = {label: first_load(site, page) for label, page in PAGES.items()}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ours, plain_s = statistics.median(times["ours"]), statistics.median(times["plain"])
    print(f"{'构建':<28} | {'中位数 s':>8} | {'比值':>6}")
    print(f"{'本系统（钩子 + 宏）':<22} | {ours:>8.2f} | {ours / plain_s:>6.2f}")
    print(f"{'同样的页面，无钩子、无宏':<21} | {plain_s:>8.2f} | {1:>6.2f}")
    print(
        f"目标：构建时间不超过无钩子构建的 1.5 倍 —— {ours / plain_s:.2f} 倍："
        f"{'达到' if ours / plain_s <= 1.5 else '未达到'}"
    )
    print(
        f"搜索索引 search/search_index.json：{len(index) / 1024:.0f} KB，gzip 后 {gz(index) / 1024:.0f} KB"
    )
    for label, (html, assets, count) in loads.items():
        print(
            f"{label}首次打开（{PAGES[label]}，HTML + 引用的 {count} 个 CSS/JS，gzip 后）："
            f"{(html + assets) / 1024:.0f} KB（HTML {html / 1024:.0f} KB）"
        )


if __name__ == "__main__":
    dump(Path(sys.argv[1]))
