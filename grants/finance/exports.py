"""Excel export of a call's ledger (资金台账): a summary sheet per funding source and a sheet of entries,
amounts in yuan with two decimals (Decimal cells, never floats)."""
from __future__ import annotations

from decimal import Decimal

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from grants.core.timeutil import format_local, now
from grants.core.excel import YUAN_FORMAT, new_workbook, workbook_bytes

HEAD_FILL = PatternFill("solid", fgColor="DDE6F2")


def yuan(fen: int | None) -> Decimal:
    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


def _header(ws, row: int, headers: list[tuple[str, int]]) -> None:
    for col, (title, width) in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=col, value=title)
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width


def ledger_workbook(ledger) -> bytes:
    call = ledger.call
    wb = new_workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([f"{call.title} — 资金台账（按资金来源）"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"导出时间：{format_local(now(), '%Y-%m-%d %H:%M')}（金额单位：元）"])
    headers = [("资金来源", 22), ("预算（元）", 16), ("已承诺（元）", 16), ("已拨付（元）", 16),
               ("评估扣减（元）", 16), ("已追回（元）", 16), ("待拨付（元）", 16), ("资金结余（元）", 16)]
    _header(ws, 3, headers)
    rows = [*ledger.sources, ledger.total]
    for line in rows:
        ws.append([line.label, yuan(line.budget_fen), yuan(line.committed_fen), yuan(line.paid_fen),
                   yuan(line.withheld_fen), yuan(line.reclaimed_fen), yuan(line.remaining_fen),
                   yuan(line.balance_fen)])
        for col in range(2, len(headers) + 1):
            ws.cell(row=ws.max_row, column=col).number_format = YUAN_FORMAT
    for col in range(1, len(headers) + 1):
        ws.cell(row=ws.max_row, column=col).font = Font(bold=True)
    ws.freeze_panes = "B4"

    ws2 = wb.create_sheet("明细")
    sources = ledger.sources
    headers2 = [("类型", 10), ("日期", 12), ("协议编号", 18), ("社会组织", 28), ("项目", 28), ("说明", 30),
                ("金额（元）", 16)] + [(f"{s.label}（元）", 16) for s in sources]
    _header(ws2, 1, headers2)
    for e in ledger.entries:
        ws2.append([str(e.kind_label), e.on.isoformat() if e.on else "", e.contract_number, e.organization_name,
                    e.project_name, e.description, yuan(e.amount_fen)]
                   + [yuan(e.by_source.get(s.source_id, 0)) for s in sources])
        for col in range(7, len(headers2) + 1):
            ws2.cell(row=ws2.max_row, column=col).number_format = YUAN_FORMAT
    ws2.freeze_panes = "A2"
    ws2.auto_filter.ref = f"A1:{get_column_letter(len(headers2))}{len(ledger.entries) + 1}"
    return workbook_bytes(wb)


PAYMENT_HEADERS = [("申请时间", 18), ("创投活动", 26), ("社会组织", 28), ("项目", 28), ("协议编号", 18),
                   ("拨付节点", 14), ("金额（元）", 14), ("状态", 10), ("银行流水号", 20), ("支付日期", 12),
                   ("已追回（元）", 14), ("暂停/退回原因", 30)]


def payments_workbook(payments) -> bytes:
    """The payment queue as filtered (拨款列表): one row per payment, amounts in yuan."""
    from grants.core.excel import list_workbook, yuan_cell
    from grants.finance.models import PAYMENT_STATUS_LABELS

    def rows():
        for p in payments:
            c = p.contract
            yield [format_local(p.requested_at, "%Y-%m-%d %H:%M"), p.call.title_with_year, c.party_b_name,
                   c.project_name, c.number, p.tranche.name, yuan_cell(p.amount_fen),
                   str(PAYMENT_STATUS_LABELS.get(p.status, p.status)), p.bank_reference or "",
                   p.released_on.isoformat() if p.released_on else "", yuan_cell(p.reclaimed_fen),
                   p.hold_reason or p.returned_reason or ""]

    return list_workbook("拨款", f"拨款列表（导出时间 {format_local(now(), '%Y-%m-%d %H:%M')}）", PAYMENT_HEADERS, rows(),
                         money_columns=(7, 11))
