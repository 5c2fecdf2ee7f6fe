"""Excel downloads (openpyxl): one response helper for every export."""
from __future__ import annotations

import io
from urllib.parse import quote

from flask import current_app
from openpyxl import Workbook

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = '#,##0.00'


def workbook_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(data: bytes, filename: str):
    response = current_app.response_class(data, mimetype=XLSX_MIMETYPE)
    # RFC 5987 so Chinese file names survive in every browser.
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
