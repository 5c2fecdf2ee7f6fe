"""Excel downloads (openpyxl): the one workbook class and the one response helper for every export.

Every export builds its workbook with `new_workbook()`: its sheets clean each value written through
`append()` or `cell(value=...)`. openpyxl refuses control characters (IllegalCharacterError — one project
name pasted from Word with a vertical tab made a whole call's export a 500), and text that starts like a
formula (=, +, -, @) would be evaluated by Excel when opened or edited (formula injection): it gets a
leading apostrophe, so it shows as typed and never runs.
"""
from __future__ import annotations

import io
import re
from urllib.parse import quote

from flask import current_app
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = '#,##0.00'


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Text that is only a signed number or amount ('-5', '-¥1,200.00') is no formula: left as it is.
_SIGNED_NUMBER_RE = re.compile(r"^[+-]¥?[0-9][0-9,]*(\.[0-9]+)?%?$")


def safe_value(value):
    """A value as written into a cell: illegal characters removed, formula-looking text neutralised."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(_FORMULA_START) and not _SIGNED_NUMBER_RE.match(value):
        value = "'" + value
    return value


class SafeWorksheet(Worksheet):
    def append(self, iterable):
        if isinstance(iterable, dict):
            iterable = {k: safe_value(v) for k, v in iterable.items()}
        else:
            iterable = [safe_value(v) for v in iterable]
        return super().append(iterable)

    def cell(self, row, column, value=None):
        return super().cell(row, column, safe_value(value))


class SafeWorkbook(Workbook):
    """A Workbook whose sheets are SafeWorksheets (the first one too)."""

    def __init__(self):
        super().__init__()
        del self._sheets[0]
        self._sheets.append(SafeWorksheet(self, title="Sheet"))

    def create_sheet(self, title=None, index=None):
        if self.read_only:  # pragma: no cover - exports never read
            return super().create_sheet(title, index)
        ws = SafeWorksheet(parent=self, title=title)
        self._add_sheet(sheet=ws, index=index)
        return ws


def new_workbook() -> SafeWorkbook:
    """The workbook every export starts from."""
    return SafeWorkbook()


def workbook_bytes(wb: Workbook) -> bytes:
    if not isinstance(wb, SafeWorkbook):
        raise TypeError("exports build their workbook with grants.core.excel.new_workbook()")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(data: bytes, filename: str):
    response = current_app.response_class(data, mimetype=XLSX_MIMETYPE)
    # RFC 5987 so Chinese file names survive in every browser.
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def yuan_cell(fen: int | None):
    """An amount in fen as the number of yuan a cell holds: a Decimal with exactly two places, never a float."""
    from decimal import Decimal

    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


def list_workbook(sheet_title: str, title: str, headers: list[tuple[str, int]], rows,
                  money_columns: tuple[int, ...] = ()) -> bytes:
    """A staff list as a workbook: a title line, bold headers with widths and a filter, then one row per item
    (`rows` may be a generator, read once); `money_columns` (1-based) hold yuan_cell() values shown as 0.00."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = new_workbook()
    ws = wb.active
    ws.title = sheet_title
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([h for h, _w in headers])
    for col, (_h, width) in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=col)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F2")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    count = 0
    for row in rows:
        ws.append(list(row))
        count += 1
        for col in money_columns:
            ws.cell(row=ws.max_row, column=col).number_format = YUAN_FORMAT
    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:{get_column_letter(len(headers))}{count + 2}"
    return workbook_bytes(wb)
