"""Notices: what the platform tells people when something happens to their work (an outcome) or when
work passes to them (a hand-off). Each notice is a kind in the notification registry (kinds.py), so a
user's preferences apply to it (in-app always; e-mail and SMS per kind).

A notice kind carries its default wording as small templates (title, body, and a short SMS text, since
Chinese SMS must match a pre-registered template with parameters) and documents the variables they may
use. Templates are rendered in a sandboxed Jinja environment: admins may edit them (templates.py), and a
template that fails falls back to the default wording, never blocking delivery.

Services send notices with `send_notice(kind, users, link=..., **variables)` right after the state
change they report; the caller's commit delivers them together with the change.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from jinja2.sandbox import SandboxedEnvironment

from grants.extensions import db
from grants.reminders.kinds import register_kind

APPLICANT = "applicant"
STAFF = "staff"

# Autoescape off: notices are plain text (the inbox escapes on display, mail and SMS are text).
_ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class NoticeKind:
    key: str
    label: object
    description: object
    audience: str
    title: object
    body: object
    sms: object
    variables: dict = field(default_factory=dict)


NOTICES: dict[str, NoticeKind] = {}

# Variables most notices share; each kind lists the ones it offers.
V_PROJECT = {"project": _l("项目名称"), "organization": _l("申报组织名称"), "call": _l("创投活动名称")}
V_NUMBER = {"number": _l("申报编号")}
V_REASON = {"reason": _l("原因或说明")}
V_CONTRACT = {"project": _l("项目名称"), "organization": _l("乙方组织名称"), "contract_number": _l("协议编号")}


def notice_kind(key: str, label, description, *, audience: str, title, body, sms, variables: dict) -> NoticeKind:
    """Register a notice kind (and its preference entry in the kinds registry)."""
    kind = NoticeKind(key, label, description, audience, title, body, sms, dict(variables))
    NOTICES[key] = kind
    register_kind(key, label, description, sms_default=audience == APPLICANT)
    return kind


# --- applicants: the outcome of each step ------------------------------------------------------------

APPLICATION_RECEIVED = notice_kind(
    "application_received", _l("申报回执"), _l("申报书提交成功后的回执，含申报编号。"), audience=APPLICANT,
    title=_l("申报已受理：{{ project }}"),
    body=_l("“{{ call }}”的申报书已提交成功。申报编号：{{ number }}，提交时间：{{ submitted_at }}。"
            "形式审查结果将另行通知。"),
    sms=_l("您的申报“{{ project }}”已提交，编号{{ number }}。"),
    variables={**V_PROJECT, **V_NUMBER, "submitted_at": _l("提交时间")})
SCREENING_PASSED = notice_kind(
    "screening_passed", _l("形式审查通过"), _l("申报书通过形式审查，进入专家评审。"), audience=APPLICANT,
    title=_l("形式审查通过：{{ project }}"),
    body=_l("申报编号 {{ number }} 已通过形式审查，将进入专家评审。"),
    sms=_l("您的申报{{ number }}已通过形式审查。"),
    variables={**V_PROJECT, **V_NUMBER})
SCREENING_RETURNED = notice_kind(
    "screening_returned", _l("申报书退回修改"), _l("形式审查退回修改，含原因和重新提交的截止时间。"), audience=APPLICANT,
    title=_l("申报书被退回修改：{{ project }}"),
    body=_l("退回原因：{{ reason }}\n请在 {{ deadline }} 前修改后重新提交。"),
    sms=_l("您的申报{{ number }}被退回修改，请于{{ deadline }}前重新提交。"),
    variables={**V_PROJECT, **V_NUMBER, **V_REASON, "deadline": _l("重新提交截止时间")})
SCREENING_INELIGIBLE = notice_kind(
    "screening_ineligible", _l("形式审查未通过"), _l("申报书未通过形式审查，含原因。"), audience=APPLICANT,
    title=_l("形式审查未通过：{{ project }}"),
    body=_l("申报编号 {{ number }} 未通过形式审查。原因：{{ reason }}"),
    sms=_l("您的申报{{ number }}未通过形式审查，详情请登录平台查看。"),
    variables={**V_PROJECT, **V_NUMBER, **V_REASON})
REVIEW_FINISHED = notice_kind(
    "review_finished", _l("专家评审完成"), _l("申报书的专家评审已全部完成。"), audience=APPLICANT,
    title=_l("专家评审已完成：{{ project }}"),
    body=_l("申报编号 {{ number }} 的专家评审已完成，资助结果将在公示时公布。"),
    sms=_l("您的申报{{ number }}专家评审已完成。"),
    variables={**V_PROJECT, **V_NUMBER})
SHORTLISTED = notice_kind(
    "shortlisted", _l("入围路演"), _l("申报书入围路演答辩。"), audience=APPLICANT,
    title=_l("入围路演答辩：{{ project }}"),
    body=_l("申报编号 {{ number }} 已入围“{{ call }}”的路演答辩，项目主管将另行通知答辩安排。"),
    sms=_l("您的申报{{ number }}已入围路演答辩。"),
    variables={**V_PROJECT, **V_NUMBER})
AWARD_PROPOSED = notice_kind(
    "award_proposed", _l("拟资助公示"), _l("项目列入拟资助名单并公示，含金额、调整理由和公示链接。"), audience=APPLICANT,
    title=_l("拟资助：{{ project }} 拟获资助 {{ amount }}"),
    body=_l("“{{ call }}”拟资助名单已公示。申请金额 {{ requested }}，拟资助金额 {{ amount }}。"
            "{% if reason %}调整理由：{{ reason }}。{% endif %}公示期 {{ notice_from }} 至 {{ notice_to }}，"
            "公示页面：{{ notice_url }}"),
    sms=_l("您的项目“{{ project }}”拟获资助{{ amount }}，公示至{{ notice_to }}。"),
    variables={**V_PROJECT, **V_NUMBER, "amount": _l("拟资助金额"), "requested": _l("申请金额"),
               "reason": _l("金额调整理由（未调整时为空）"), "notice_from": _l("公示开始日期"),
               "notice_to": _l("公示结束日期"), "notice_url": _l("公示页面地址")})
AWARD_CONFIRMED = notice_kind(
    "award_confirmed", _l("立项通知"), _l("公示期满，项目确认立项。"), audience=APPLICANT,
    title=_l("立项通知：“{{ project }}”获得资助 {{ amount }}"),
    body=_l("“{{ call }}”公示期满，项目已确认立项，请留意资助协议的签订。"),
    sms=_l("您的项目“{{ project }}”已确认立项，资助{{ amount }}。"),
    variables={**V_PROJECT, "amount": _l("资助金额")})
NOT_FUNDED = notice_kind(
    "not_funded", _l("未获资助"), _l("项目未获资助，可查看评审得分和专家意见。"), audience=APPLICANT,
    title=_l("评审结果：“{{ project }}”未获资助"),
    body=_l("感谢参与“{{ call }}”。您可以查看评审得分和专家意见。"),
    sms=_l("您的申报“{{ project }}”未获资助，评审意见请登录平台查看。"),
    variables={**V_PROJECT, **V_NUMBER})
AWARD_CANCELLED = notice_kind(
    "award_cancelled", _l("资助取消"), _l("公示期间异议成立，拟资助被取消。"), audience=APPLICANT,
    title=_l("拟资助已取消：{{ project }}"),
    body=_l("公示期间收到的异议经核实成立，原拟资助已取消。理由：{{ reason }}"),
    sms=_l("您的项目“{{ project }}”拟资助已取消，详情请登录平台查看。"),
    variables={**V_PROJECT, **V_REASON})
CONTRACT_ISSUED = notice_kind(
    "contract_issued", _l("协议待签署"), _l("资助协议已下发，等待组织签署。"), audience=APPLICANT,
    title=_l("资助协议待签署：{{ project }}"),
    body=_l("协议 {{ contract_number }} 已下发，资助金额 {{ amount }}，请组织管理员阅读后签署。"),
    sms=_l("资助协议{{ contract_number }}已下发，请登录平台签署。"),
    variables={**V_CONTRACT, "amount": _l("协议金额")})
SIGNATURE_REJECTED = notice_kind(
    "signature_rejected", _l("签署被退回"), _l("协议签署被退回，需要重新签署。"), audience=APPLICANT,
    title=_l("协议签署被退回：{{ project }}"),
    body=_l("协议 {{ contract_number }} 的签署被退回，请重新签署。原因：{{ reason }}"),
    sms=_l("协议{{ contract_number }}签署被退回，请重新签署。"),
    variables={**V_CONTRACT, **V_REASON})
CONTRACT_ACTIVE = notice_kind(
    "contract_active", _l("协议生效"), _l("甲方会签，资助协议生效。"), audience=APPLICANT,
    title=_l("资助协议已生效：{{ project }}"),
    body=_l("甲方已会签协议 {{ contract_number }}，首期款进入拨付流程。"),
    sms=_l("协议{{ contract_number }}已生效，首期款进入拨付流程。"),
    variables=V_CONTRACT)
REPORT_ACCEPTED = notice_kind(
    "report_accepted", _l("报告已受理"), _l("进度报告通过审核，进入评估。"), audience=APPLICANT,
    title=_l("{{ report }}已受理：{{ project }}"),
    body=_l("{{ report }}已通过审核，进入评估。"),
    sms=_l("项目“{{ project }}”的{{ report }}已受理。"),
    variables={**V_CONTRACT, "report": _l("报告名称（中期报告/结项报告）")})
REPORT_RETURNED = notice_kind(
    "report_returned", _l("报告被退回"), _l("进度报告被退回修改，含原因。"), audience=APPLICANT,
    title=_l("报告被退回：{{ report }}"),
    body=_l("项目“{{ project }}”的{{ report }}被退回，请修改后重新提交。说明：{{ reason }}"),
    sms=_l("项目“{{ project }}”的{{ report }}被退回，请修改后重新提交。"),
    variables={**V_CONTRACT, **V_REASON, "report": _l("报告名称")})
ASSESSMENT_RESULT = notice_kind(
    "assessment_result", _l("评估结果"), _l("评估完成：等级、得分和拨付比例。"), audience=APPLICANT,
    title=_l("评估结果：{{ project }}"),
    body=_l("{{ tranche }}评估得分 {{ score }}，等级“{{ grade }}”，拨付比例 {{ ratio }}%，本期可拨付 {{ amount }}。"
            "{% if withheld %}不予拨付 {{ withheld }}。{% endif %}"),
    sms=_l("项目“{{ project }}”评估等级{{ grade }}，拨付比例{{ ratio }}%。"),
    variables={**V_CONTRACT, "tranche": _l("拨付节点名称"), "score": _l("评估得分"), "grade": _l("评估等级"),
               "ratio": _l("拨付比例（%）"), "amount": _l("本期可拨付金额"), "withheld": _l("不予拨付金额（无时为空）")})
RECTIFICATION = notice_kind(
    "rectification", _l("整改通知"), _l("评估未达标，需要在期限内整改。"), audience=APPLICANT,
    title=_l("整改通知：{{ project }}"),
    body=_l("{{ tranche }}评估未达到拨付要求，请于 {{ deadline }} 前完成整改并重新提交报告。{% if reason %}说明：{{ reason }}{% endif %}"),
    sms=_l("项目“{{ project }}”需整改，请于{{ deadline }}前重新提交报告。"),
    variables={**V_CONTRACT, **V_REASON, "tranche": _l("拨付节点名称"), "deadline": _l("整改期限")})
PAYMENT_RELEASED = notice_kind(
    "payment_released", _l("拨款到账通知"), _l("财务已支付一笔拨款，含金额和日期。"), audience=APPLICANT,
    title=_l("拨款已支付：{{ project }} {{ amount }}"),
    body=_l("{{ tranche }} {{ amount }} 已于 {{ date }} 支付至贵组织账户。"),
    sms=_l("项目“{{ project }}”{{ tranche }}{{ amount }}已于{{ date }}支付。"),
    variables={**V_CONTRACT, "tranche": _l("拨付节点名称"), "amount": _l("支付金额"), "date": _l("支付日期")})
PAYMENT_HELD = notice_kind(
    "payment_held", _l("暂停拨付"), _l("一笔拨款被暂停支付，含原因。"), audience=APPLICANT,
    title=_l("拨款暂停：{{ project }}"),
    body=_l("{{ tranche }} {{ amount }} 暂停拨付。原因：{{ reason }}"),
    sms=_l("项目“{{ project }}”{{ tranche }}暂停拨付，详情请登录平台查看。"),
    variables={**V_CONTRACT, **V_REASON, "tranche": _l("拨付节点名称"), "amount": _l("金额")})
TRANCHE_WITHHELD = notice_kind(
    "tranche_withheld", _l("不予拨付"), _l("一期资金不予拨付，含金额和原因。"), audience=APPLICANT,
    title=_l("不予拨付：{{ project }} {{ tranche }}"),
    body=_l("{{ tranche }} {{ amount }} 不予拨付。原因：{{ reason }}"),
    sms=_l("项目“{{ project }}”{{ tranche }}{{ amount }}不予拨付。"),
    variables={**V_CONTRACT, **V_REASON, "tranche": _l("拨付节点名称"), "amount": _l("不予拨付金额")})
PAYMENT_RECLAIMED = notice_kind(
    "payment_reclaimed", _l("资金追回"), _l("已拨资金被登记追回，含金额和原因。"), audience=APPLICANT,
    title=_l("资金追回：{{ project }} {{ amount }}"),
    body=_l("{{ tranche }}已支付的资金中 {{ amount }} 被登记追回。原因：{{ reason }}"),
    sms=_l("项目“{{ project }}”被追回资金{{ amount }}，详情请登录平台查看。"),
    variables={**V_CONTRACT, **V_REASON, "tranche": _l("拨付节点名称"), "amount": _l("追回金额")})

ORGANIZATION_STATUS = notice_kind(
    "organization_status", _l("组织认证结果"), _l("组织通过认证、不予认证、被暂停或恢复。"), audience=APPLICANT,
    title=_l("组织状态：{{ organization }} {{ status }}"),
    body=_l("贵组织的状态已更新为“{{ status }}”。{% if reason %}原因：{{ reason }}{% endif %}"),
    sms=_l("“{{ organization }}”状态已更新为{{ status }}。"),
    variables={"organization": _l("组织名称"), "status": _l("新的状态"), **V_REASON})
CALL_CLOSED = notice_kind(
    "call_closed", _l("申报截止"), _l("创投活动申报截止，进入评审。"), audience=APPLICANT,
    title=_l("申报已截止：{{ call }}"),
    body=_l("“{{ call }}”已截止申报并进入评审。贵组织的申报书 {{ numbers }} 将按程序审查和评审。"),
    sms=_l("“{{ call }}”已截止申报，进入评审。"),
    variables={"call": _l("创投活动名称"), "numbers": _l("本组织的申报编号")})

MESSAGE_TO_ORGANIZATION = notice_kind(
    "message_to_organization", _l("新消息（项目主管）"), _l("项目主管在申报书或资助协议的往来消息中给您留言。"),
    audience=APPLICANT,
    title=_l("新消息：{{ subject }}"),
    body=_l("{{ author }}：{{ preview }}"),
    sms=_l("您有一条关于“{{ subject }}”的新消息，请登录平台查看。"),
    variables={"subject": _l("申报书或协议"), "author": _l("留言人"), "preview": _l("消息开头")})
BRAND_WINNER = notice_kind(
    "brand_winner", _l("获评品牌项目"), _l("项目在品牌项目评选中入选。"), audience=APPLICANT,
    title=_l("您的项目获评{{ selection }}"),
    body=_l("“{{ project }}”在“{{ selection }}”中入选。"),
    sms=_l("您的项目“{{ project }}”获评{{ selection }}。"),
    variables={"selection": _l("评选名称"), "project": _l("项目名称")})

# --- staff: work that passes to them ---------------------------------------------------------------------

ORG_TO_VERIFY = notice_kind(
    "org_to_verify", _l("新组织待认证"), _l("新注册或身份信息变更的组织等待认证。"), audience=STAFF,
    title=_l("新组织待认证：{{ organization }}"),
    body=_l("{{ organization }}（{{ legal_form }}）已提交注册信息，请核对后认证。"),
    sms=_l("新组织“{{ organization }}”待认证。"),
    variables={"organization": _l("组织名称"), "legal_form": _l("组织类型")})
ORG_CHANGE_REQUESTED = notice_kind(
    "org_change_requested", _l("登记信息变更待审核"), _l("已认证组织申请变更登记信息（类型、代码、日期、评估等级、法定代表人等）。"),
    audience=STAFF,
    title=_l("变更申请待审核：{{ organization }}"),
    body=_l("{{ organization }}申请变更已认证的登记信息，请核对变更前后内容及证明材料后审核。"),
    sms=_l("“{{ organization }}”的登记信息变更待审核。"),
    variables={"organization": _l("组织名称")})
ORG_CHANGE_DECIDED = notice_kind(
    "org_change_decided", _l("登记信息变更结果"), _l("民政部门批准或驳回组织的登记信息变更申请。"), audience=APPLICANT,
    title=_l("变更申请已{{ outcome }}：{{ organization }}"),
    body=_l("贵组织的登记信息变更申请已{{ outcome }}。{% if note %}说明：{{ note }}{% endif %}"),
    sms=_l("“{{ organization }}”的变更申请已{{ outcome }}。"),
    variables={"organization": _l("组织名称"), "outcome": _l("批准或驳回"), "note": _l("审核说明")})
APPLICATION_RESUBMITTED = notice_kind(
    "application_resubmitted", _l("退回后重新提交"), _l("退回修改的申报书已重新提交，等待再次审查。"), audience=STAFF,
    title=_l("申报书已重新提交：{{ project }}"),
    body=_l("{{ organization }}已修改并重新提交申报书 {{ number }}，请再次进行形式审查。"),
    sms=_l("申报{{ number }}已重新提交，待审查。"),
    variables={**V_PROJECT, **V_NUMBER})
CONFLICT_DECLARED = notice_kind(
    "conflict_declared", _l("专家声明回避"), _l("评审专家声明利益冲突，需要另行安排专家。"), audience=STAFF,
    title=_l("专家声明回避：{{ project }}"),
    body=_l("专家 {{ expert }} 对申报书 {{ number }} 声明回避，请另行安排专家。{% if reason %}说明：{{ reason }}{% endif %}"),
    sms=_l("专家{{ expert }}对申报{{ number }}声明回避，请另行安排。"),
    variables={**V_PROJECT, **V_NUMBER, **V_REASON, "expert": _l("专家姓名")})
OBJECTION_RECEIVED = notice_kind(
    "objection_received", _l("收到公示异议"), _l("公示期间收到异议，需要核实处理。"), audience=STAFF,
    title=_l("收到公示异议：“{{ project }}”"),
    body=_l("“{{ call }}”公示期间收到一条异议，请在公示期内核实处理。"),
    sms=_l("“{{ project }}”收到公示异议，请核实处理。"),
    variables=V_PROJECT)
AWARD_PLAN_APPROVAL = notice_kind(
    "award_plan_approval", _l("资助方案待审批"), _l("拟资助方案已拟定，等待另一位项目主管审批。"), audience=STAFF,
    title=_l("资助方案待审批：{{ call }}"),
    body=_l("{{ proposer }} 拟定了“{{ call }}”的资助方案（{{ count }} 个项目，合计 {{ total }}），请审批。"),
    sms=_l("“{{ call }}”资助方案待您审批。"),
    variables={"call": _l("创投活动名称"), "proposer": _l("拟定人"), "count": _l("项目数"), "total": _l("资助合计")})
CONTRACT_SIGNED = notice_kind(
    "contract_signed", _l("乙方已签署"), _l("组织已签署协议，等待甲方会签。"), audience=STAFF,
    title=_l("乙方已签署协议：{{ project }}"),
    body=_l("{{ organization }} 已签署协议 {{ contract_number }}，请会签。"),
    sms=_l("协议{{ contract_number }}乙方已签署，请会签。"),
    variables=V_CONTRACT)
REPORT_SUBMITTED = notice_kind(
    "report_submitted", _l("报告已提交"), _l("组织提交了进度报告，等待审核。"), audience=STAFF,
    title=_l("{{ report }}已提交：{{ project }}"),
    body=_l("{{ organization }} 提交了{{ report }}，请审核并安排评估。"),
    sms=_l("“{{ project }}”的{{ report }}已提交，待审核。"),
    variables={**V_CONTRACT, "report": _l("报告名称")})
ASSESSMENT_ASSIGNED = notice_kind(
    "assessment_assigned", _l("新的评估任务"), _l("一份报告等待您评估。"), audience=STAFF,
    title=_l("新的评估任务：{{ project }}"),
    body=_l("{{ report }}已受理，请完成评估。"),
    sms=_l("您有新的评估任务：{{ project }}。"),
    variables={**V_CONTRACT, "report": _l("报告名称")})
PAYMENT_REQUESTED = notice_kind(
    "payment_requested", _l("拨款待审核"), _l("新的拨款申请等待财务审核。"), audience=STAFF,
    title=_l("拨款待审核：{{ project }} {{ amount }}"),
    body=_l("{{ organization }} 的{{ tranche }} {{ amount }} 已申请拨付，请审核。"),
    sms=_l("拨款{{ amount }}（{{ project }}）待审核。"),
    variables={**V_CONTRACT, "tranche": _l("拨付节点名称"), "amount": _l("金额")})
PAYMENT_APPROVED = notice_kind(
    "payment_approved", _l("拨款待支付"), _l("拨款已审核通过，等待另一位财务人员支付。"), audience=STAFF,
    title=_l("拨款待支付：{{ project }} {{ amount }}"),
    body=_l("{{ organization }} 的{{ tranche }} {{ amount }} 已审核通过，请由另一位财务人员确认支付。"),
    sms=_l("拨款{{ amount }}（{{ project }}）已审核，待支付。"),
    variables={**V_CONTRACT, "tranche": _l("拨付节点名称"), "amount": _l("金额")})
PAYMENT_RETURNED = notice_kind(
    "payment_returned", _l("拨款被财务退回"), _l("财务退回了一笔拨款申请，含原因。"), audience=STAFF,
    title=_l("拨款被退回：{{ project }}"),
    body=_l("{{ tranche }} {{ amount }} 被财务退回。原因：{{ reason }}"),
    sms=_l("拨款{{ amount }}（{{ project }}）被财务退回。"),
    variables={**V_CONTRACT, **V_REASON, "tranche": _l("拨付节点名称"), "amount": _l("金额")})
RECLAIM_FLAGGED = notice_kind(
    "reclaim_flagged", _l("建议追回"), _l("结项评估未通过，已拨资金建议追回。"), audience=STAFF,
    title=_l("建议追回已拨资金：{{ project }}"),
    body=_l("协议 {{ contract_number }}（{{ organization }}）：{{ reason }}。请核对已支付的拨款并登记追回。"),
    sms=_l("协议{{ contract_number }}建议追回已拨资金。"),
    variables={**V_CONTRACT, **V_REASON})
REVIEW_ASSIGNED = notice_kind(
    "review_assigned", _l("新的评审任务"), _l("您被分配了新的评审任务。"), audience=STAFF,
    title=_l("您有 {{ count }} 个新的评审任务：{{ call }}"),
    body=_l("请先声明是否存在利益冲突，再完成评分。评审截止：{{ deadline }}。"),
    sms=_l("您有{{ count }}个新的评审任务（{{ call }}）。"),
    variables={"call": _l("创投活动名称"), "count": _l("任务数"), "deadline": _l("评审截止时间")})
REVIEW_RETURNED = notice_kind(
    "review_returned", _l("评分被退回"), _l("项目主管退回了您的评分。"), audience=STAFF,
    title=_l("评分被退回，请修改后重新提交：{{ number }}"),
    body=_l("{{ reason }}"),
    sms=_l("您对{{ number }}的评分被退回，请修改后重新提交。"),
    variables={**V_NUMBER, **V_REASON})

BRAND_SELF_NOMINATED = notice_kind(
    "brand_self_nominated", _l("品牌项目自荐待确认"), _l("组织自荐项目参加品牌项目评选，等待项目主管采纳。"),
    audience=STAFF,
    title=_l("品牌项目自荐待确认：{{ project }}"),
    body=_l("{{ organization }} 自荐项目“{{ project }}”参加“{{ selection }}”，请在评选页面采纳或不予采纳。"),
    sms=_l("“{{ project }}”自荐参加{{ selection }}，待确认。"),
    variables={"selection": _l("评选名称"), "project": _l("项目名称"), "organization": _l("组织名称")})
BRAND_REVIEW_ASSIGNED = notice_kind(
    "brand_review_assigned", _l("品牌项目评审任务"), _l("品牌项目评选开始评分。"), audience=STAFF,
    title=_l("品牌项目评审任务：{{ selection }}"),
    body=_l("请在 {{ deadline }} 前完成评分。"),
    sms=_l("您有品牌项目评审任务（{{ selection }}），请于{{ deadline }}前完成。"),
    variables={"selection": _l("评选名称"), "deadline": _l("评分截止时间")})

MESSAGE_TO_STAFF = notice_kind(
    "message_to_staff", _l("新消息（申报组织）"), _l("申报组织在申报书或资助协议的往来消息中留言。"), audience=STAFF,
    title=_l("新消息：{{ subject }}"),
    body=_l("{{ author }}：{{ preview }}"),
    sms=_l("“{{ subject }}”有一条组织留言，请登录平台查看。"),
    variables={"subject": _l("申报书或协议"), "author": _l("留言人"), "preview": _l("消息开头")})


# --- recipients -------------------------------------------------------------------------------

def organization_people(org_id: int) -> list:
    """Every active member of an organisation: outcomes concern them all."""
    from grants.accounts.models import User
    from grants.organizations.models import OrganizationMember

    return list(db.session.scalars(
        sa.select(User).join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == org_id, User.is_active_account.is_(True))
        .order_by(User.id)))


def unit_staff(unit_id: int, role: str) -> list:
    """Active users of a host unit with one role (the call's officers, its finance staff)."""
    from grants.accounts.models import User, UserRole

    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(User.host_unit_id == unit_id, UserRole.role == role, User.is_active_account.is_(True))
        .order_by(User.id)).unique())


def verifying_officers(org=None) -> list:
    """Who may verify an organisation: the officers of its registration unit and of the units above it
    (organizations.permissions); without an organisation, the officers of the top-level units."""
    from grants.accounts.models import Role, User, UserRole
    from grants.organizations.models import HostUnit

    query = (sa.select(User).join(UserRole, UserRole.user_id == User.id)
             .join(HostUnit, HostUnit.id == User.host_unit_id)
             .where(UserRole.role == Role.OFFICER, User.is_active_account.is_(True)))
    if org is None or org.host_unit_id is None:
        query = query.where(HostUnit.parent_id.is_(None))
    else:
        chain, unit = [], db.session.get(HostUnit, org.host_unit_id)
        while unit is not None and len(chain) < 10:
            chain.append(unit.id)
            unit = db.session.get(HostUnit, unit.parent_id) if unit.parent_id else None
        query = query.where(User.host_unit_id.in_(chain))
    return list(db.session.scalars(query.order_by(User.id)).unique())


def absolute_url(path: str) -> str:
    """A path inside the site as a full address (SITE_URL), for texts read outside the site."""
    import os

    from flask import current_app

    base = (current_app.config.get("SITE_URL") or os.environ.get("SITE_URL", "")).rstrip("/")
    return f"{base}{path}" if base else path


# --- rendering and sending ------------------------------------------------------------------------

@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    sms: str
    problems: tuple[str, ...] = ()


def render_text(source: str, variables: dict) -> str:
    return _ENV.from_string(source).render(**variables)


def render_notice(key: str, variables: dict, *, overrides: dict | None = None) -> Rendered:
    """The notice's title, body and SMS text. An override that fails to render falls back to the default
    wording, and the failure is returned in `problems` (the caller reports it)."""
    kind = NOTICES[key]
    if overrides is None:
        from grants.reminders.templates import template_overrides

        overrides = template_overrides(key)
    parts, problems = {}, []
    for part in ("title", "body", "sms"):
        source = overrides.get(part)
        if source:
            try:
                parts[part] = render_text(source, variables)
                continue
            except Exception as exc:  # noqa: BLE001 — any template error: fall back, never block delivery
                problems.append(f"{part}: {type(exc).__name__}: {exc}"[:300])
        parts[part] = render_text(str(getattr(kind, part)), variables)
    return Rendered(parts["title"].strip(), parts["body"].strip(), parts["sms"].strip(), tuple(problems))


def send_notice(key: str, users: Iterable, *, link: str = "", **variables) -> int:
    """Tell each user (once, active accounts only) about an outcome or a hand-off of kind `key`.
    Returns how many people were told. No commit: the caller's commit sends it with the change."""
    from grants.reminders.services import notify

    people, seen = [], set()
    for user in users:
        if user is None or user.id in seen or not getattr(user, "is_active_account", True):
            continue
        seen.add(user.id)
        people.append(user)
    if not people:
        return 0
    text = render_notice(key, variables)
    if text.problems:
        from grants.reminders.templates import report_broken_template

        report_broken_template(key, text.problems)
    params = {name: variables.get(name, "") for name in NOTICES[key].variables}
    for user in people:
        notify(user, text.title, text.body, link=link, kind=key, sms=text.sms, sms_params=params)
    return len(people)
