"""The navigation bar: each role sees the entries it may use. Later domains add their entries here."""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role


@dataclass
class NavItem:
    label: str
    endpoint: str
    icon: str = ""


def nav_items(user) -> list[NavItem]:
    items: list[NavItem] = [NavItem(_l("工作台"), "main.index", "house")]
    if user.organization is not None:
        items.append(NavItem(_l("本组织"), "organizations.mine", "building"))
    if user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("创投活动"), "calls.index", "megaphone"))
    if user.has_role(Role.APPLICANT):
        items.append(NavItem(_l("征集公告"), "calls.public_list", "megaphone"))
    if user.organization is not None and user.has_role(Role.APPLICANT):
        items.append(NavItem(_l("我的申报"), "applications.mine", "file-earmark-text"))
    if user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("申报审查"), "applications.screening", "clipboard-check"))
    if user.has_role(Role.EXPERT):
        items.append(NavItem(_l("我的评审任务"), "reviews.tasks", "ui-checks"))
    if user.has_role(Role.EXPERT):
        items.append(NavItem(_l("品牌项目评审"), "brand.tasks", "star"))
    if user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("专家评审"), "reviews.calls", "person-badge"))
    if (user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None) or user.has_role(Role.ADMIN):
        items.append(NavItem(_l("立项公示"), "awards.index", "patch-check"))
    if user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE):
        items.append(NavItem(_l("社会组织"), "organizations.index", "people"))
    if user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("变更申请"), "organizations.change_requests", "pencil-square"))
    if user.has_role(Role.OFFICER, Role.FINANCE, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("资助协议"), "contracts.index", "file-earmark-check"))
    if user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("进度报告"), "assessments.reports", "journal-check"))
    if user.organization is not None and user.has_role(Role.APPLICANT):
        items.append(NavItem(_l("我的协议"), "contracts.mine", "file-earmark-check"))
        items.append(NavItem(_l("品牌项目"), "brand.mine", "trophy"))
    if user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("品牌项目"), "brand.index", "trophy"))
    if user.has_role(Role.EVALUATOR):
        items.append(NavItem(_l("我的评估任务"), "assessments.mine", "clipboard2-pulse"))
    if user.has_role(Role.FINANCE, Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("拨款"), "finance.queue", "cash-coin"))
        items.append(NavItem(_l("资金台账"), "finance.ledgers", "journal-richtext"))
    if user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None:
        items.append(NavItem(_l("统计"), "dashboard.index", "bar-chart-line"))
    if user.has_role(Role.OFFICER, Role.AUDITOR, Role.FINANCE, Role.APPLICANT):
        items.append(NavItem(_l("信息公开"), "disclosure.index", "globe2"))
    if (user.has_role(Role.OFFICER, Role.AUDITOR) and user.host_unit_id is not None) or user.has_role(Role.ADMIN):
        items.append(NavItem(_l("审计日志"), "core.audit_log", "journal-text"))
    if user.has_role(Role.ADMIN):
        items.append(NavItem(_l("用户管理"), "admin.users", "person-gear"))
        items.append(NavItem(_l("两步验证策略"), "admin.two_factor_policy", "shield-lock"))
        items.append(NavItem(_l("主办单位"), "admin.units", "diagram-3"))
        items.append(NavItem(_l("节假日"), "admin.holidays", "calendar3"))
        items.append(NavItem(_l("历史数据导入"), "history.index", "cloud-upload"))
    if user.has_role(Role.ADMIN):
        items.append(NavItem(_l("定时提醒"), "reminders.scheduler_status", "alarm"))
        items.append(NavItem(_l("发件箱"), "reminders.outbox", "envelope"))
        items.append(NavItem(_l("Webhook 推送"), "api_ui.webhooks", "broadcast"))
        items.append(NavItem(_l("短信发件箱"), "reminders.sms_outbox", "chat-square-text"))
        items.append(NavItem(_l("通知模板"), "reminders.notice_templates", "file-earmark-text"))
    return items


@dataclass
class NavGroup:
    key: str
    label: object
    icon: str
    items: list[NavItem]


# The menus by stage of the annual loop; every entry but 工作台 belongs to one (an entry not listed falls into 管理).
GROUPS = [
    ("apply", _l("征集与申报"), "megaphone"),
    ("review", _l("评审与立项"), "ui-checks"),
    ("contract", _l("协议与拨款"), "file-earmark-check"),
    ("stats", _l("统计与公开"), "bar-chart-line"),
    ("admin", _l("管理"), "gear"),
]
GROUP_OF = {
    "organizations.mine": "apply", "calls.index": "apply", "calls.public_list": "apply",
    "applications.mine": "apply", "applications.screening": "apply", "organizations.index": "apply",
    "organizations.change_requests": "apply",
    "reviews.tasks": "review", "brand.tasks": "review", "reviews.calls": "review", "awards.index": "review",
    "contracts.index": "contract", "contracts.mine": "contract", "assessments.reports": "contract", "assessments.mine": "contract",
    "finance.queue": "contract", "finance.ledgers": "contract",
    "brand.mine": "stats", "brand.index": "stats", "dashboard.index": "stats", "disclosure.index": "stats",
}


def nav_groups(user) -> list[NavGroup]:
    """The user's entries (nav_items) in menus by stage, empty menus left out."""
    items = [i for i in nav_items(user) if i.endpoint != "main.index"]
    groups = []
    for key, label, icon in GROUPS:
        mine = [i for i in items if GROUP_OF.get(i.endpoint, "admin") == key]
        if mine:
            groups.append(NavGroup(key, label, icon, mine))
    return groups


# Each entry has an icon of its own: a role that sees two entries must tell them apart at a glance
# (tests/test_app.py checks it for every role).


def href(item: NavItem) -> str:
    return url_for(item.endpoint)
