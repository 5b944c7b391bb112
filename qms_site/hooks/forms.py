"""MkDocs hook: one record page (记录表格) per form definition.

The definitions were loaded and validated with the catalog (doc_control hook,
listed first); this hook only adds the generated pages.
"""

from __future__ import annotations

from mkdocs.structure.files import File, Files

from qms_site import building
from qms_site.formpage import record_page

# Hooks -----------------------------------------------------------------------


def on_files(files: Files, config) -> Files:
    for form in building.catalog().forms.values():
        src = f"records/{form.code.lower()}.md"
        if files.get_file_from_path(src) is None:
            files.append(File.generated(config, src, content=_page(form)))
    return files


# Helpers ---------------------------------------------------------------------


def _page(form) -> str:
    # Generated text is final: switch macros off so a "{{" typed in a label is shown as written.
    return "---\nrender_macros: false\n---\n\n" + record_page(form)
