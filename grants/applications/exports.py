"""Excel export of a call's applications: one row per application, Chinese headers, amounts in yuan."""
from __future__ import annotations

from decimal import Decimal

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from grants.core.timeutil import format_local
from grants.core.excel import YUAN_FORMAT, new_workbook, workbook_bytes

HEADERS = [
    ("申报编号", 16), ("项目名称", 32), ("申报单位", 30), ("统一社会信用代码/备案编号", 24), ("组织类型", 14),
    ("所在区县", 10), ("所在街道", 14), ("项目类别", 14), ("状态", 12), ("申请资助金额（元）", 16),
    ("自筹配套（元）", 14), ("项目总预算（元）", 16), ("提交时间", 18), ("审查意见", 40),
]
MONEY_COLUMNS = {10, 11, 12}


def _yuan(fen: int | None) -> Decimal:
    # Decimal, not float: the cell holds exactly the fen amount divided by 100.
    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


def applications_workbook(call, applications) -> bytes:
    wb = new_workbook()
    ws = wb.active
    ws.title = "申报项目"
    title = call.title_with_year
    ws.append([f"{title} — 申报项目一览"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([h for h, _w in HEADERS])
    for col, (_h, width) in enumerate(HEADERS, start=1):
        cell = ws.cell(row=2, column=col)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE6F2")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width
    count = 0
    for a in applications:
        org = a.organization
        ws.append([
            a.number or "", a.project_name, org.name, org.uscc or org.filing_number or "", str(org.legal_form_label),
            org.district, org.street, a.category.name if a.category else "", str(a.status_label),
            _yuan(a.requested_fen), _yuan(a.own_funding_fen), _yuan(a.total_budget_fen),
            format_local(a.submitted_at, "%Y-%m-%d %H:%M:%S"), a.screening_reason,
        ])
        count += 1
        for col in MONEY_COLUMNS:
            ws.cell(row=ws.max_row, column=col).number_format = YUAN_FORMAT
    ws.freeze_panes = "C3"
    ws.auto_filter.ref = f"A2:{get_column_letter(len(HEADERS))}{count + 2}"
    return workbook_bytes(wb)
