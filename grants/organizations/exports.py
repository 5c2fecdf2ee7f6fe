"""Excel export of the organisation list (社会组织一览)."""
from __future__ import annotations

from grants.core.excel import list_workbook
from grants.core.timeutil import format_local, now

HEADERS = [("名称", 30), ("组织类型", 14), ("统一社会信用代码/备案编号", 24), ("登记管理机关", 20), ("法定代表人", 10),
           ("区县", 10), ("街道", 12), ("社区", 12), ("地址", 30), ("等级", 6), ("状态", 8), ("黑名单", 8),
           ("联系人", 10), ("联系电话", 14), ("认证时间", 18), ("注册时间", 18)]


def organizations_workbook(orgs) -> bytes:
    def rows():
        for o in orgs:
            yield [o.name, str(o.legal_form_label), o.uscc or o.filing_number or "", o.registration_authority,
                   o.legal_representative, o.district, o.street, o.community, o.address, o.rating or "",
                   str(o.status_label), "是" if o.blacklisted else "", o.contact_name, o.contact_phone,
                   format_local(o.verified_at, "%Y-%m-%d %H:%M") if o.verified_at else "",
                   format_local(o.created_at, "%Y-%m-%d %H:%M")]

    return list_workbook("社会组织", f"社会组织一览（导出时间 {format_local(now(), '%Y-%m-%d %H:%M')}）", HEADERS, rows())
