"""mkdocs-macros module: the macros authors may call in any page.

* ``{{ document_register() }}`` — the 受控文件清单, grouped by type.
* ``{{ ref("QP-12") }}`` — a link to a controlled document showing its code and
  current title; an unknown code fails the build.
* ``{{ qms.company.name }}``, ``{{ qms.objectives }}`` and the rest of ``data/qms.yml``.

The macros plugin runs in strict mode (``on_undefined: strict``,
``on_error_fail: true``): an unknown variable or a failing macro stops the build.
"""

from __future__ import annotations

import datetime as dt

from qms_site import building, render

SYMBOLS = {">=": "≥", ">": ">", "<": "<", "<=": "≤"}


def define_env(env) -> None:
    def current_src() -> str:
        return env.page.file.src_uri

    @env.macro
    def document_register() -> str:
        """受控文件清单: every controlled document, grouped by type, with an archive."""
        return render.register(building.catalog().grouped(), current_src(), dt.date.today())

    @env.macro
    def target(objective: dict) -> str:
        """A quality objective's target as people write it: ≥ 90%, < 1%, 100%, 0 起."""
        value = f"{objective['target']}{objective.get('unit', '')}"
        comparison = objective["comparison"]
        if (comparison, objective["target"]) in ((">=", 100), ("<=", 0)):
            return value
        return f"{SYMBOLS[comparison]} {value}"

    @env.macro
    def ref(code: str, label: str | None = None) -> str:
        """Link to the controlled document ``code``.

        On a controlled page the code must also be declared in its ``references``
        or ``records``, so that the metadata lists every document the page relies on.
        """
        catalog = building.catalog()
        doc = catalog.get(code)
        if doc is None:
            raise ValueError(f"ref(): 文件编号 {code} 不存在（页面 {current_src()}）")
        page_doc = catalog.by_src(current_src())
        declared = {page_doc.code, *page_doc.references, *page_doc.records} if page_doc else set()
        if page_doc and code not in declared:
            raise ValueError(
                f"{page_doc.path}: references: 正文引用了 {code}，但 references/records 中未列出"
            )
        return render.link(doc, current_src(), label)
