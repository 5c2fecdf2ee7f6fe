"""Excel export of a call's objections (公示异议一览)."""
from __future__ import annotations

from grants.core.excel import list_workbook
from grants.core.timeutil import format_local

HEADERS = [("回执号", 14), ("提交时间", 18), ("申报编号", 16), ("项目名称", 30), ("申报单位", 28), ("异议人", 12),
           ("联系方式", 18), ("异议内容", 50), ("状态", 10), ("处理理由", 40), ("处理人", 12), ("处理时间", 18)]


def objections_workbook(call, objections) -> bytes:
    def rows():
        for o in objections:
            a = o.application
            yield [o.receipt_no, format_local(o.filed_at, "%Y-%m-%d %H:%M"), a.number or "", a.display_name,
                   a.organization.name, o.objector_name, o.contact, o.content, str(o.status_label), o.handling_reason,
                   o.handled_by.display_name if o.handled_by else "",
                   format_local(o.handled_at, "%Y-%m-%d %H:%M") if o.handled_at else ""]

    return list_workbook("异议", f"{call.title_with_year} — 公示异议一览", HEADERS, rows())
