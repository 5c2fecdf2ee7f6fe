"""Excel export of the contract list (资助协议一览): one row per contract, amounts in yuan."""
from __future__ import annotations

from grants.core.excel import list_workbook, yuan_cell
from grants.core.timeutil import format_local, now

HEADERS = [("协议编号", 18), ("创投活动", 26), ("项目名称", 30), ("乙方（社会组织）", 28), ("统一社会信用代码/备案号", 22),
           ("协议金额（元）", 14), ("已结清节点", 10), ("节点数", 8), ("状态", 10), ("执行期起", 12), ("执行期止", 12),
           ("乙方签署时间", 18), ("甲方会签时间", 18)]


def contracts_workbook(contracts) -> bytes:
    def rows():
        for c in contracts:
            yield [c.number, c.call.title_with_year, c.project_name, c.party_b_name, c.party_b_uscc,
                   yuan_cell(c.amount_fen), sum(1 for t in c.tranches if t.is_settled), len(c.tranches),
                   str(c.status_label), c.period_start_on.isoformat(), c.period_end_on.isoformat(),
                   format_local(c.signed_at, "%Y-%m-%d %H:%M") if c.signed_at else "",
                   format_local(c.countersigned_at, "%Y-%m-%d %H:%M") if c.countersigned_at else ""]

    return list_workbook("资助协议", f"资助协议一览（导出时间 {format_local(now(), '%Y-%m-%d %H:%M')}）", HEADERS, rows(),
                         money_columns=(6,))
