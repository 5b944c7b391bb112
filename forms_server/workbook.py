"""Excel workbooks of the reports, laid out like the paper tables (title, header, borders, print setup)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from forms_server.export import cell
from forms_server.report_tables import Table

THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="E0F2F1")


def workbook(tables: list[Table], company_name: str) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, book.sheetnames))
        columns = len(table.headers)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=columns)
        sheet.cell(1, 1, table.title).font = Font(size=14, bold=True)
        sheet.cell(1, 1).alignment = Alignment(horizontal="center")
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=columns)
        sheet.cell(2, 1, f"{company_name}  {table.note}".strip()).alignment = Alignment(
            horizontal="right"
        )
        for col, header in enumerate(table.headers, start=1):
            c = sheet.cell(3, col, header)
            c.font, c.fill, c.border = Font(bold=True), HEAD_FILL, BOX
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r, row in enumerate(table.rows, start=4):
            for col, value in enumerate(row, start=1):
                c = sheet.cell(r, col, value if isinstance(value, int | float) else cell(value))
                c.border = BOX
                c.alignment = Alignment(vertical="top", wrap_text=True)
        sign = 5 + len(table.rows)
        sheet.cell(sign, 1, "填表人：            审核：            日期：")
        for col, width in enumerate(table.widths or [14] * columns, start=1):
            sheet.column_dimensions[get_column_letter(col)].width = width
        sheet.print_title_rows = "3:3"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.oddFooter.center.text = "第 &P 页 共 &N 页"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(title: str, taken: list[str]) -> str:
    """Sheet names: at most 31 characters, no []:*?/\\, unique."""
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")
    name = name.split(" ", 1)[-1][:31] or "表"
    base, n = name, 2
    while name in taken:
        name = f"{base[:28]}({n})"
        n += 1
    return name
