"""The audit log for people: Chinese names of actions and fields, before/after as a readable field list with
money formatted, and a link to each object. Used by the audit page, its Excel export and change requests."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from grants.core.money import Money

OBJECT_LABELS = {
    "organization": _l("社会组织"), "organization_change_request": _l("变更申请"), "user": _l("用户"),
    "host_unit": _l("主办单位"), "holiday": _l("节假日"), "call": _l("征集活动"), "call_document": _l("活动文件"),
    "application": _l("申报书"), "award": _l("立项"), "public_notice": _l("公示"), "objection": _l("异议"),
    "contract": _l("资助协议"), "tranche": _l("拨付节点"), "payment": _l("拨款"), "project_hold": _l("项目暂停拨付"),
    "progress_report": _l("项目报告"), "assessment": _l("评估"), "expert_profile": _l("专家"),
    "panel_member": _l("评审组成员"), "conflict": _l("回避"), "review_assignment": _l("评审任务"),
    "review": _l("专家评审"), "brand_selection": _l("品牌项目评选"), "brand_nomination": _l("品牌项目提名"),
    "brand_panel_member": _l("品牌评审组成员"), "brand_conflict": _l("品牌评审回避"), "brand_review": _l("品牌评审"),
    "outbox_mail": _l("邮件"), "reminder_rule": _l("提醒规则"), "call_reminder_setting": _l("活动提醒设置"),
    "holiday_year": _l("节假日年度"), "two_factor_policy": _l("两步验证策略"), "outbox_sms": _l("短信"),
    "notice_template": _l("通知模板"), "message": _l("留言"), "api_token": _l("API 令牌"),
    "api_service_account": _l("服务账号"), "webhook_endpoint": _l("Webhook 接收地址"),
    "webhook_delivery": _l("Webhook 推送"),
}

# Actions recorded by record() call sites (the workflows' transitions get theirs from their tables below).
ACTION_LABELS = {
    "two_factor.policy": _l("设置两步验证策略"), "user.enable_2fa": _l("开启两步验证"),
    "user.recovery_codes": _l("重新生成恢复码"), "user.use_recovery_code": _l("使用恢复码登录"),
    "user.disable_2fa": _l("关闭两步验证"), "user.reset_2fa": _l("重置两步验证"),
    "user.change_contacts": _l("修改联系方式"), "user.reset_requested": _l("申请找回密码"),
    "user.reset_password_self": _l("通过验证码重置密码"), "user.end_other_sessions": _l("退出其他设备"),
    "api.call": _l("API 调用"), "api_token.create": _l("创建 API 令牌"), "api_token.revoke": _l("撤销 API 令牌"),
    "api_service_account.create": _l("创建服务账号"), "webhook.create": _l("登记 Webhook 接收地址"),
    "webhook.retry": _l("重新推送 Webhook"), "application.duplicate_decision": _l("重复申报认定"),
    "application.delete_draft": _l("删除草稿"), "award.set_allocation": _l("设置资金来源分摊"),
    "award.reset_allocation": _l("恢复建议分摊"), "holiday_year.complete": _l("确认全年节假日已录入"),
    "holiday_year.reopen": _l("撤回全年节假日确认"), "history.import": _l("历史数据导入"),
    "message.post": _l("发送留言"), "host_unit.set_uscc": _l("设置主办单位信用代码"),
    "sms.resend": _l("重发短信"), "notice_template.save": _l("修改通知模板"),
    "notice_template.reset": _l("恢复默认通知模板"),
    "user.create": _l("创建账号"), "user.update": _l("修改账号"), "user.login": _l("登录"),
    "user.lock": _l("账号锁定"), "user.unlock": _l("解除锁定"), "user.change_password": _l("修改密码"),
    "user.reset_password": _l("重置密码"), "holiday.set": _l("设置节假日"), "holiday.delete": _l("删除节假日"),
    "host_unit.create": _l("新增主办单位"),
    "organization.register": _l("组织注册"), "organization.update": _l("修改组织信息"),
    "organization.reverify": _l("退回重新认证"), "organization.blacklist": _l("列入异常/失信名单"),
    "organization.unblacklist": _l("移出异常/失信名单"), "organization.invite": _l("邀请成员"),
    "organization.join": _l("成员加入"), "organization.member_admin": _l("设置组织管理员"),
    "organization.change_request": _l("提交变更申请"), "organization.change_approve": _l("批准变更申请"),
    "organization.change_reject": _l("驳回变更申请"),
    "call.create": _l("创建征集活动"), "call.update": _l("修改征集活动"), "call.copy": _l("复制往年活动"),
    "call.document_add": _l("上传活动文件"), "call.document_remove": _l("删除活动文件"),
    "application.create": _l("创建申报书"), "application.save_draft": _l("保存申报书草稿"),
    "application.attach": _l("上传申报附件"), "application.detach": _l("删除申报附件"),
    "expert.create": _l("新增专家"), "expert.update": _l("修改专家信息"),
    "panel.invite": _l("邀请进入评审组"), "panel.remove": _l("移出评审组"), "panel.demo": _l("演示评审组"),
    "conflict.auto": _l("自动回避检查"), "conflict.declare": _l("专家声明回避"), "conflict.officer": _l("主管登记回避"),
    "review.assign": _l("分配评审"), "review.auto_assign": _l("自动分配评审"), "review.unassign": _l("撤回评审任务"),
    "review.submit": _l("提交评分"), "review.reopen": _l("退回评分"), "review.shortlist": _l("确定路演名单"),
    "award.propose": _l("拟定立项名单"), "award.adjust": _l("调整立项金额"), "award.exclude": _l("移出立项名单"),
    "award.include": _l("加入立项名单"), "award.approve": _l("审批立项名单"), "award.reopen": _l("退回立项名单"),
    "award.cancel": _l("取消立项"), "award.promote": _l("递补立项"),
    "notice.publish": _l("发布公示"), "notice.finalize": _l("公示期满确定立项"),
    "objection.file": _l("提出异议"), "objection.reject": _l("异议不成立"), "objection.uphold": _l("异议成立"),
    "contract.create": _l("生成资助协议"), "contract.edit": _l("修改资助协议"), "contract.flag_reclaim": _l("标记追回"),
    "report.start": _l("开始填写报告"), "report.submit": _l("提交报告"), "report.return": _l("退回报告"),
    "report.accept": _l("受理报告并指派评估"), "assessment.submit": _l("提交评估"), "assessment.rubric": _l("设置评估指标"),
    "tranche.rectify_deadline": _l("设置整改期限"),
    "tranche.chase_report": _l("催交进度报告"),
    "payment.request": _l("系统生成拨款申请"), "payment.reclaim": _l("登记追回"),
    "project_hold.place": _l("项目整体暂停拨付"), "project_hold.lift": _l("解除项目暂停"),
    "reminder.call_setting": _l("修改活动提醒设置"), "reminder.call_setting_reset": _l("恢复活动提醒默认设置"),
    "reminder.platform_rule": _l("修改平台提醒规则"), "mail.resend": _l("重发邮件"),
    "brand_selection.create": _l("创建品牌项目评选"), "brand_selection.update": _l("修改品牌项目评选"),
    "brand_nomination.nominate": _l("提名品牌项目"), "brand_nomination.put_forward": _l("自荐品牌项目"),
    "brand_nomination.accept": _l("接受自荐"), "brand_nomination.decline": _l("不接受自荐"),
    "brand_panel.invite": _l("邀请品牌评审专家"), "brand_panel.remove": _l("移出品牌评审组"),
    "brand_conflict.auto": _l("品牌评审自动回避"), "brand_conflict.declare": _l("品牌评审声明回避"),
    "brand_review.submit": _l("提交品牌评分"),
}

FIELD_LABELS = {
    "status": _l("状态"), "reason": _l("原因"), "note": _l("意见"), "comment": _l("意见"), "name": _l("名称"),
    "title": _l("标题"), "year": _l("年度"), "legal_form": _l("组织类型"), "uscc": _l("统一社会信用代码"),
    "filing_number": _l("备案编号"), "filing_office": _l("备案街道（乡镇）"), "registered_on": _l("登记/备案日期"),
    "registration_authority": _l("登记管理机关"), "host_unit_id": _l("所属主办单位"),
    "legal_representative": _l("法定代表人（负责人）"), "rating": _l("评估等级"), "annual_inspection": _l("年检结果"),
    "district": _l("所在区县"), "street": _l("所在街道"), "community": _l("所在社区"), "address": _l("详细地址"),
    "business_scope": _l("业务范围"), "contact_name": _l("联系人"), "contact_phone": _l("联系电话"),
    "contact_email": _l("联系邮箱"), "bank_account_name": _l("开户名称"), "bank_name": _l("开户银行"),
    "bank_account_number": _l("银行账号"), "blacklisted": _l("列入名单"), "username": _l("用户名"),
    "roles": _l("角色"), "display_name": _l("姓名"), "mobile": _l("手机号"), "active": _l("启用"),
    "locked_until": _l("锁定至"), "specialties": _l("专业领域"), "employer": _l("工作单位"), "phone": _l("电话"),
    "affiliated_organization_id": _l("关联社会组织"), "expert_id": _l("专家"), "evaluator_id": _l("评估人员"),
    "application_id": _l("申报书"), "call_id": _l("征集活动"), "organization_id": _l("社会组织"),
    "contract_id": _l("资助协议"), "tranche_id": _l("拨付节点"), "stage": _l("评审环节"), "amount_fen": _l("金额"),
    "withheld_fen": _l("暂扣金额"), "reclaimed_fen": _l("已追回金额"), "payment_pct": _l("拨付比例"),
    "score": _l("得分"), "total": _l("总分"), "round": _l("轮次"), "number": _l("编号"), "file": _l("文件"),
    "invitee": _l("被邀请人"), "user": _l("用户"), "user_id": _l("用户"), "is_admin": _l("管理员"),
    "starts_on": _l("开始日期"), "ends_on": _l("结束日期"), "rectify_due_on": _l("整改期限"), "has_conflict": _l("存在回避"),
    "previous_call_id": _l("往年活动"), "document_id": _l("文件"), "awards": _l("立项名单"), "size": _l("名额"),
    "n": _l("每份评审人数"), "created": _l("新建数量"), "enabled": _l("启用"), "rule": _l("规则"),
    "demo": _l("演示数据"), "parent_id": _l("上级单位"), "level": _l("层级"), "experts": _l("专家"),
    "needs_second_approval": _l("需要复核"), "bank_reference": _l("银行流水号"), "released_on": _l("支付日期"),
    "payable_fen": _l("应拨金额"), "basis": _l("依据"), "triggered_by": _l("触发人"), "grade": _l("等级"),
    "total_score": _l("总分"), "passed": _l("通过"), "hold_reason": _l("暂停原因"), "lift_reason": _l("解除原因"),
    "version": _l("版本"), "signer_name": _l("签署人"), "value": _l("内容"),
}

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_RESOLVED: dict[str, dict[str, dict[str, str]]] = {}


def _labels() -> dict[str, dict[str, str]]:
    """Every label translated once per language (a lazy string costs a translation look-up each time it is
    shown, and a page of 50 rows shows hundreds)."""
    from flask_babel import get_locale

    key = str(get_locale() or "zh_CN")
    if key not in _RESOLVED:
        actions = {a: str(label) for a, label in ACTION_LABELS.items()}
        objects = {o: str(label) for o, label in OBJECT_LABELS.items()}
        for name, workflow in _workflows().items():
            for verb in workflow.action_labels:
                actions.setdefault(f"{name}.{verb}", f"{objects.get(name, name)}：{workflow.action_label(verb)}")
        states: dict[str, str] = {}
        for workflow in _workflows().values():
            for state, label in workflow.state_labels.items():
                states.setdefault(str(state), str(label))
        _RESOLVED[key] = {"actions": actions, "objects": objects, "states": states,
                          "fields": {f: str(label) for f, label in FIELD_LABELS.items()}}
    return _RESOLVED[key]


def action_label(action: str) -> str:
    """The Chinese name of an audited action: its own entry, else its workflow's label for the transition."""
    return _labels()["actions"].get(action, action)


def all_action_choices() -> list[tuple[str, str]]:
    """Every known action with its Chinese name, for the audit page's picker."""
    return sorted(_labels()["actions"].items(), key=lambda kv: kv[0])


def _workflows() -> dict:
    from grants.applications.states import APPLICATION_WORKFLOW
    from grants.brand.states import SELECTION_WORKFLOW
    from grants.calls.states import CALL_WORKFLOW
    from grants.contracts.states import CONTRACT_WORKFLOW, TRANCHE_WORKFLOW
    from grants.finance.states import PAYMENT_WORKFLOW
    from grants.organizations.states import ORG_WORKFLOW

    return {w.name: w for w in (APPLICATION_WORKFLOW, SELECTION_WORKFLOW, CALL_WORKFLOW, CONTRACT_WORKFLOW,
                                TRANCHE_WORKFLOW, PAYMENT_WORKFLOW, ORG_WORKFLOW)}


def object_label(object_type: str) -> str:
    return _labels()["objects"].get(object_type, object_type)


_OBJECT_LINKS = {
    "organization": ("organizations.detail", "org_id"),
    "organization_change_request": ("organizations.change_request", "request_id"),
    "call": ("calls.detail", "call_id"),
    "application": ("applications.detail", "application_id"),
    "contract": ("contracts.detail", "contract_id"),
    "payment": ("finance.payment", "payment_id"),
    "expert_profile": ("reviews.expert_edit", "profile_id"),
    "brand_selection": ("brand.detail", "selection_id"),
    "user": ("admin.user_edit", "user_id"),
}


def object_link(object_type: str, object_id: str) -> str | None:
    """The page of the audited object, where it has one (the page itself checks who may see it)."""
    target = _OBJECT_LINKS.get(object_type)
    if target is None or not str(object_id).isdigit():
        return None
    try:
        return url_for(target[0], **{target[1]: int(object_id)})
    except BuildError:
        return None


def unescape(value: str) -> str:
    """Rows stored before JSON kept Chinese as it is may hold "\\u7ecf…" text: show it as the characters."""
    if "\\u" not in value:
        return value
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def field_label(key: str) -> str:
    return _labels()["fields"].get(key, key)


def format_value(key: str, value: Any) -> str:
    """One value as a person reads it: money in yuan, booleans as 是/否, lists joined, dates as dates."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key.endswith("_fen") and isinstance(value, int):
        return Money(value).format()
    if key == "status" and isinstance(value, str):
        return _labels()["states"].get(value, value)
    if key == "payment_pct" and isinstance(value, (int, float)):
        return f"{value}%"
    if key == "rating" and isinstance(value, int):
        return f"{value}A" if value else "未评估"
    if key == "legal_form":
        from grants.organizations.models import LEGAL_FORM_LABELS

        return str(LEGAL_FORM_LABELS.get(value, value))
    if key == "host_unit_id" and isinstance(value, int):
        from grants.extensions import db
        from grants.organizations.models import HostUnit

        unit = db.session.get(HostUnit, value)
        return unit.name if unit else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "、".join(format_value(key, v) if not isinstance(v, list) else "/".join(map(str, v)) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{field_label(k)}：{format_value(k, v)}" for k, v in value.items())
    return unescape(str(value))


def field_rows(before: Any, after: Any) -> list[dict]:
    """before/after as rows (field, before, after, changed), in the order the fields were recorded."""
    before = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    rows = []
    for key in keys:
        b, a = before.get(key), after.get(key)
        rows.append({"key": key, "label": field_label(key),
                     "before": format_value(key, b) if key in before else "",
                     "after": format_value(key, a) if key in after else "",
                     "changed": key in before and key in after and b != a})
    return rows
