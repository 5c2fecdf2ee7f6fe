"""Application rules: drafts, the submit check that lists every problem, submission against the
deadline, withdrawal, and the officers' screening (形式审查). Services never commit."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import (
    ActivityPlanItem, Application, ApplicationAttachment, ApplicationStatus, BudgetKind, BudgetLine, FundedBy,
    OutputKind, OutputTarget, ServiceArea, TeamMember,
)
from grants.applications.states import APPLICATION_WORKFLOW, SCREENING_ACTIONS
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.money import Money
from grants.core.storage import DEFAULT_ALLOWED, UploadRejected, save_upload
from grants.core.timeutil import format_local, now, today_local
from grants.extensions import db
from grants.organizations.models import LEGAL_FORM_LABELS, OrgStatus

# The text sections that must be filled before submission, with their labels.
REQUIRED_TEXT = {
    "project_name": "项目名称",
    "summary": "项目简介",
    "need_analysis": "需求分析",
    "objectives": "项目目标",
    "target_groups": "服务对象",
    "activity_description": "项目设计与活动内容",
}
TEXT_FIELDS = tuple(REQUIRED_TEXT)
# Statuses that do not count towards the per-organisation limit.
NOT_COUNTED = (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)


class ApplicationError(DomainError):
    """An application rule refused the action."""


class DeadlinePassed(ApplicationError):
    """The action came at or after the deadline (checked on the server with now(), to the second)."""


@dataclass
class DraftInput:
    """What the form gave us, already parsed; `problems` holds what could not be understood."""

    texts: dict[str, str] = field(default_factory=dict)
    category_id: int | None = None
    requested_fen: int | None = None
    declaration: bool = False
    service_areas: list[dict] = field(default_factory=list)
    activities: list[dict] = field(default_factory=list)
    output_targets: dict[str, int] = field(default_factory=dict)
    team_members: list[dict] = field(default_factory=list)
    budget_lines: list[dict] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def _fmt(fen: int | None) -> str:
    return Money(fen or 0).format()


def ensure_before_deadline(application: Application, at: dt.datetime | None = None) -> None:
    """Refuse at or after the deadline: at close_at itself it is already too late."""
    at = at or now()
    deadline = application.deadline_at
    if deadline is None or at >= deadline:
        raise DeadlinePassed(_("申报已于 %(when)s（北京时间）截止，不能再提交或修改。",
                               when=format_local(deadline, "%Y-%m-%d %H:%M:%S")), "deadline")


# --- drafts ----------------------------------------------------------------------

def start_application(call, organization, actor) -> Application:
    """Create an empty draft of `organization` for `call` (the call must be open)."""
    if str(call.status) != "published" or not call.is_open:
        raise ApplicationError(_("该创投活动当前不在申报期内"))
    application = Application(call=call, organization=organization, status=ApplicationStatus.DRAFT,
                              created_by_id=getattr(actor, "id", None), requested_fen=0)
    if len(call.categories) == 1:
        application.category_id = call.categories[0].id
    db.session.add(application)
    record(actor, "application.create", application, after={"call_id": call.id, "organization_id": organization.id})
    return application


def save_draft(application: Application, data: DraftInput, actor, *, uploads: dict | None = None,
               remove_attachment_ids: list[int] | None = None) -> dict[str, list[str]]:
    """Store whatever the organisation entered, valid or not, and return the problems found.

    Nothing understandable is dropped: a row with an unreadable number keeps its other cells.
    `uploads` maps a requirement id (or None) to a FileStorage.
    """
    ensure_before_deadline(application)
    if application.status not in (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED):
        raise ApplicationError(_("当前状态“%(s)s”的申报书不能修改", s=application.status_label))
    problems: dict[str, list[str]] = defaultdict(list)
    for key, messages in data.problems.items():
        problems[key].extend(messages)

    for name in TEXT_FIELDS:
        if name in data.texts:
            setattr(application, name, data.texts[name].strip() if name == "project_name" else data.texts[name])
    valid_categories = {c.id for c in application.call.categories}
    if data.category_id is not None and data.category_id not in valid_categories:
        problems["category_id"].append(_("所选项目类别不属于本次创投活动"))
    else:
        application.category_id = data.category_id
    if data.requested_fen is not None:
        application.requested_fen = data.requested_fen
    if data.declaration and application.declaration_accepted_at is None:
        application.declaration_accepted_at = now()
    elif not data.declaration:
        application.declaration_accepted_at = None

    application.service_areas = [ServiceArea(position=i, street=r.get("street", ""), community=r.get("community", ""))
                                 for i, r in enumerate(data.service_areas)]
    application.activities = [ActivityPlanItem(position=i, title=r.get("title", ""), start_on=r.get("start_on"),
                                               end_on=r.get("end_on"), description=r.get("description", ""))
                              for i, r in enumerate(data.activities)]
    # Targets are replaced in place, so the (application, kind) unique constraint never sees two rows.
    existing = {t.kind: t for t in application.output_targets}
    keep = []
    for kind in OutputKind:
        value = data.output_targets.get(str(kind))
        if value is None:
            continue
        target = existing.get(str(kind)) or OutputTarget(kind=str(kind))
        target.target = value
        keep.append(target)
    application.output_targets = keep
    application.team_members = [
        TeamMember(position=i, name=r.get("name", ""), role=r.get("role", ""),
                   is_social_worker=bool(r.get("is_social_worker")), certificate_no=r.get("certificate_no", ""),
                   certificate_level=r.get("certificate_level", ""))
        for i, r in enumerate(data.team_members)]
    lines = []
    saved_lines = {line.position: line for line in application.budget_lines}
    for i, r in enumerate(data.budget_lines):
        unit, qty = r.get("unit_price_fen") or 0, r.get("quantity") or 0
        saved = saved_lines.get(i)
        if saved is not None and "unit_price_fen" in r.get("rejected", ()):
            unit = saved.unit_price_fen
        if saved is not None and "quantity" in r.get("rejected", ()):
            qty = saved.quantity
        lines.append(BudgetLine(position=i, kind=r.get("kind") or BudgetKind.OTHER, item=r.get("item", ""),
                                unit_price_fen=unit, quantity=qty, amount_fen=unit * qty,
                                funded_by=r.get("funded_by") or FundedBy.GRANT))
    application.budget_lines = lines
    recompute_totals(application)

    for requirement_id in remove_attachment_ids or []:
        remove_attachment(application, requirement_id, actor)
    for requirement_id, upload in (uploads or {}).items():
        if upload is None or not upload.filename:
            continue
        try:
            add_attachment(application, requirement_id, upload, actor)
        except UploadRejected as exc:
            problems[f"attachment-{requirement_id or 'other'}"].append(exc.message)

    application.updated_at = now()
    record(actor, "application.save_draft", application,
           after={"requested_fen": application.requested_fen, "problems": sum(len(v) for v in problems.values())})
    return dict(problems)


def recompute_totals(application: Application) -> None:
    """own_funding_fen and total_budget_fen are derived from the budget lines."""
    application.total_budget_fen = sum(line.amount_fen for line in application.budget_lines)
    application.own_funding_fen = sum(line.amount_fen for line in application.budget_lines
                                      if line.funded_by == FundedBy.OWN)


def _requirement(application: Application, requirement_id: int | None):
    if requirement_id is None:
        return None
    for requirement in application.call.attachment_requirements:
        if requirement.id == requirement_id:
            return requirement
    raise ApplicationError(_("附件类型不属于本次创投活动"))


def add_attachment(application: Application, requirement_id: int | None, upload, actor) -> ApplicationAttachment:
    """Store an upload against one of the call's attachment requirements (type checked by content)."""
    requirement = _requirement(application, requirement_id)
    allowed = tuple(requirement.allowed_types) if requirement is not None and requirement.allowed_types \
        else DEFAULT_ALLOWED
    stored = save_upload(upload, allowed=allowed, uploader=actor, organization_id=application.organization_id)
    db.session.flush()
    attachment = ApplicationAttachment(requirement_id=requirement_id, stored_file_id=stored.id)
    attachment.stored_file = stored
    application.attachments.append(attachment)
    record(actor, "application.attach", application,
           after={"file": stored.original_name, "requirement_id": requirement_id, "sha256": stored.sha256})
    db.session.flush()  # the caller (the API's answer) shows the attachment's id and time
    return attachment


def remove_attachment(application: Application, attachment_id: int, actor) -> None:
    for attachment in list(application.attachments):
        if attachment.id == attachment_id:
            application.attachments.remove(attachment)
            record(actor, "application.detach", application, before={"file": attachment.stored_file.original_name})
            return


# --- the submit check ------------------------------------------------------------

def _years_between(start: dt.date, end: dt.date) -> int:
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def eligibility_problems(application: Application) -> list[str]:
    """The call's eligibility rules applied to the organisation, each failure in Chinese."""
    call, org = application.call, application.organization
    problems = []
    if call.operator_organization_id is not None and call.operator_organization_id == org.id:
        problems.append(_("本组织是本次创投活动的承办单位，不能申报"))
    if call.require_verified and org.status != OrgStatus.VERIFIED:
        problems.append(_("本组织尚未通过民政部门认证"))
    allowed = list(call.allowed_legal_forms or [])
    if allowed and org.legal_form not in allowed:
        names = "、".join(str(LEGAL_FORM_LABELS.get(f, f)) for f in allowed)
        problems.append(_("本次活动仅限以下类型的组织申报：%(forms)s", forms=names))
    if call.min_years_registered:
        if org.registered_on is None:
            problems.append(_("组织信息中缺少登记/备案日期"))
        elif _years_between(org.registered_on, today_local()) < call.min_years_registered:
            problems.append(_("登记/备案须满 %(n)s 年（本组织 %(d)s 登记/备案）", n=call.min_years_registered,
                              d=org.registered_on.isoformat()))
    if call.min_rating and (org.rating or 0) < call.min_rating:
        problems.append(_("评估等级须达到 %(r)sA 及以上（本组织：%(own)s）", r=call.min_rating, own=org.rating_label))
    if call.exclude_blacklisted and org.blacklisted:
        problems.append(_("本组织被列入活动异常名录或严重违法失信名单，不能申报"))
    if call.exclude_failed_previous and call.previous_call_id is not None:
        failed = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
            Application.call_id == call.previous_call_id, Application.organization_id == org.id,
            Application.final_grade == "fail"))
        if failed:
            problems.append(_("本组织上一届创投项目结项评估不合格，本届不能申报"))
    return problems


def limit_problems(application: Application) -> list[str]:
    """The per-organisation limit (and the lower limit for filed organisations)."""
    call, org = application.call, application.organization
    limits = [n for n in (call.max_applications_per_org,
                          call.filed_org_max_applications if org.is_filed else None) if n]
    if not limits:
        return []
    limit = min(limits)
    others = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.call_id == call.id, Application.organization_id == org.id, Application.id != application.id,
        Application.status.not_in([str(s) for s in NOT_COUNTED])))
    if others + 1 > limit:
        return [_("每个组织在本次活动中最多申报 %(n)s 个项目，本组织已提交 %(k)s 个", n=limit, k=others)]
    return []


def budget_problems(application: Application) -> dict[str, list[str]]:
    call, org = application.call, application.organization
    problems: dict[str, list[str]] = defaultdict(list)
    requested = application.requested_fen or 0
    lines = application.budget_lines
    if not lines:
        problems["budget"].append(_("请填写预算明细"))
    for i, line in enumerate(lines, start=1):
        if not line.item.strip():
            problems["budget"].append(_("第 %(i)s 行预算：请填写费用项目", i=i))
        if line.quantity <= 0 or line.unit_price_fen <= 0:
            problems["budget"].append(_("第 %(i)s 行预算：单价和数量须大于 0", i=i))
        if line.amount_fen != line.unit_price_fen * line.quantity:
            problems["budget"].append(_("第 %(i)s 行预算：金额须等于单价 × 数量", i=i))
    grant_total = sum(line.amount_fen for line in lines if line.funded_by == FundedBy.GRANT)
    own_total = sum(line.amount_fen for line in lines if line.funded_by == FundedBy.OWN)
    total = grant_total + own_total
    if requested <= 0:
        problems["requested"].append(_("请填写申请资助金额"))
    if lines and grant_total != requested:
        problems["budget"].append(_("申请资助的预算行合计 %(sum)s，与申请资助金额 %(req)s 不一致",
                                    sum=_fmt(grant_total), req=_fmt(requested)))
    if requested > 0:
        if call.min_grant_fen and requested < call.min_grant_fen:
            problems["requested"].append(_("申请资助金额不得低于 %(min)s", min=_fmt(call.min_grant_fen)))
        if call.max_grant_fen and requested > call.max_grant_fen:
            problems["requested"].append(_("申请资助金额不得超过 %(max)s", max=_fmt(call.max_grant_fen)))
        if org.is_filed and call.filed_org_max_grant_fen and requested > call.filed_org_max_grant_fen:
            problems["requested"].append(_("备案类社区社会组织申请资助金额不得超过 %(max)s",
                                           max=_fmt(call.filed_org_max_grant_fen)))
    if grant_total > 0:
        # Shares are of the grant-funded budget; integer arithmetic so 30.00 % is exactly 30 %.
        personnel = sum(line.amount_fen for line in lines
                        if line.funded_by == FundedBy.GRANT and line.kind == BudgetKind.PERSONNEL)
        if call.max_personnel_pct is not None and personnel * 100 > call.max_personnel_pct * grant_total:
            problems["budget"].append(_("人员费用 %(a)s 占资助金额的 %(p)s%%，超过上限 %(max)s%%", a=_fmt(personnel),
                                        p=f"{personnel * 100 / grant_total:.1f}", max=call.max_personnel_pct))
        management = sum(line.amount_fen for line in lines
                         if line.funded_by == FundedBy.GRANT and line.kind == BudgetKind.MANAGEMENT)
        if call.max_management_pct is not None and management * 100 > call.max_management_pct * grant_total:
            problems["budget"].append(_("管理费用 %(a)s 占资助金额的 %(p)s%%，超过上限 %(max)s%%", a=_fmt(management),
                                        p=f"{management * 100 / grant_total:.1f}", max=call.max_management_pct))
    if call.min_own_funding_pct and total > 0 and own_total * 100 < call.min_own_funding_pct * total:
        problems["budget"].append(_("自筹配套资金 %(own)s 占总预算 %(total)s 的 %(p)s%%，低于要求的 %(min)s%%",
                                    own=_fmt(own_total), total=_fmt(total), p=f"{own_total * 100 / total:.1f}",
                                    min=call.min_own_funding_pct))
    return problems


def attachment_problems(application: Application) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = defaultdict(list)
    by_requirement = defaultdict(list)
    for attachment in application.attachments:
        by_requirement[attachment.requirement_id].append(attachment)
    for requirement in application.call.attachment_requirements:
        files = by_requirement.get(requirement.id, [])
        key = f"attachment-{requirement.id}"
        if requirement.required and not files:
            problems[key].append(_("请上传“%(name)s”", name=requirement.name))
        allowed = [t.lower() for t in (requirement.allowed_types or [])]
        for attachment in files:
            if allowed and attachment.stored_file.extension not in allowed:
                problems[key].append(_("“%(file)s”的类型不符合要求（允许：%(types)s）",
                                       file=attachment.stored_file.original_name, types="、".join(allowed)))
    return problems


def validate_for_submit(application: Application) -> dict[str, list[str]]:
    """Every problem that stops submission, by form field, in Chinese. Empty means it may be submitted."""
    problems: dict[str, list[str]] = defaultdict(list)
    call = application.call
    problems["eligibility"].extend(eligibility_problems(application))
    problems["eligibility"].extend(limit_problems(application))
    for name, label in REQUIRED_TEXT.items():
        if not (getattr(application, name) or "").strip():
            problems[name].append(_("请填写%(label)s", label=_(label)))
    if application.category_id is None:
        problems["category_id"].append(_("请选择项目类别"))
    elif application.category_id not in {c.id for c in call.categories}:
        problems["category_id"].append(_("所选项目类别不属于本次创投活动"))
    if not any(a.street.strip() for a in application.service_areas):
        problems["service_areas"].append(_("请至少填写一个服务街道（乡镇）"))
    if not application.activities:
        problems["activities"].append(_("请至少填写一项活动安排"))
    for i, item in enumerate(application.activities, start=1):
        if not item.title.strip():
            problems["activities"].append(_("第 %(i)s 项活动：请填写活动名称", i=i))
        if item.start_on is None or item.end_on is None:
            problems["activities"].append(_("第 %(i)s 项活动：请填写起止日期", i=i))
        elif item.end_on < item.start_on:
            problems["activities"].append(_("第 %(i)s 项活动：结束日期早于开始日期", i=i))
        elif (call.project_start_on and item.start_on < call.project_start_on) or \
                (call.project_end_on and item.end_on > call.project_end_on):
            problems["activities"].append(_("第 %(i)s 项活动：日期须在项目周期 %(s)s 至 %(e)s 之内", i=i,
                                            s=call.project_start_on, e=call.project_end_on))
    if not any(t.target > 0 for t in application.output_targets):
        problems["output_targets"].append(_("请至少填写一项大于 0 的绩效目标"))
    for i, member in enumerate(application.team_members, start=1):
        if not member.name.strip():
            problems["team_members"].append(_("第 %(i)s 位团队成员：请填写姓名", i=i))
        if member.is_social_worker and not member.certificate_no.strip():
            problems["team_members"].append(_("第 %(i)s 位团队成员：持证社工请填写证书编号", i=i))
    for key, messages in budget_problems(application).items():
        problems[key].extend(messages)
    for key, messages in attachment_problems(application).items():
        problems[key].extend(messages)
    if application.declaration_accepted_at is None:
        problems["declaration"].append(_("请阅读并勾选申报承诺"))
    return {k: v for k, v in problems.items() if v}


# --- submission, withdrawal --------------------------------------------------------

def _next_number(call) -> str:
    """<year>-<call id>-<sequence>; the call row is locked (PostgreSQL) so two submissions at the same
    moment cannot take the same sequence (SQLite serialises writers anyway)."""
    from grants.calls.models import Call

    # FOR NO KEY UPDATE, not FOR UPDATE: the submissions of one call still take turns here, but rows that
    # merely reference the call (their foreign key takes FOR KEY SHARE) are not blocked by it, which under a
    # deadline rush made two submissions wait for each other (a deadlock: tests/applications/test_number_lock.py).
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update(key_share=True))
    numbered = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.call_id == call.id, Application.number.is_not(None))) or 0
    return f"{call.year}-{call.id:03d}-{numbered + 1:04d}"


def submit_application(application: Application, actor) -> dict[str, list[str]]:
    """Submit (or resubmit after a return). Returns the problems; submits only when there are none.

    Raises DeadlinePassed at or after the deadline (the draft stays as it was saved).
    """
    # One instant for the deadline check and the submission time: checked before close_at and stamped after it
    # would be a submission on time that its record says was late (or the other way round).
    at = now()
    ensure_before_deadline(application, at)
    if application.status not in (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED):
        raise ApplicationError(_("当前状态“%(s)s”的申报书不能提交", s=application.status_label))
    problems = validate_for_submit(application)
    if problems:
        return problems
    # Set before the transition: the audit append queries (and so flushes) and the check
    # constraints want a submitted application to carry its number and time.
    if application.number is None:
        application.number = _next_number(application.call)
    application.submitted_at = at
    resubmitted = application.status == ApplicationStatus.RETURNED
    APPLICATION_WORKFLOW.transition(application, "submit", actor, detail={"number": application.number})
    _tell_submitted(application, resubmitted)
    return {}


def application_link(application: Application) -> str:
    return f"/applications/{application.id}"


def _notice_vars(application: Application) -> dict:
    return dict(project=application.display_name, organization=application.organization.name,
                call=application.call.title, number=application.number or "")


def _tell_submitted(application: Application, resubmitted: bool) -> None:
    """The receipt to the organisation; after a return, the officers are told it waits for them again."""
    from grants.reminders.notices import organization_people, send_notice, unit_staff

    send_notice("application_received", organization_people(application.organization_id),
                link=application_link(application) + "/status", submitted_at=format_local(application.submitted_at),
                **_notice_vars(application))
    if resubmitted:
        send_notice("application_resubmitted", unit_staff(application.call.host_unit_id, "officer"),
                    link=application_link(application), **_notice_vars(application))


def withdraw_application(application: Application, actor) -> None:
    """The organisation withdraws its application, before the deadline."""
    ensure_before_deadline(application)
    application.withdrawn_at = now()
    APPLICATION_WORKFLOW.transition(application, "withdraw", actor)


def delete_draft(application: Application, actor) -> None:
    """删除草稿: a draft nobody but its organisation has seen is deleted with its rows (the audit log keeps
    what it was); anything submitted is withdrawn instead, never deleted."""
    if application.status != ApplicationStatus.DRAFT:
        raise ApplicationError(_("只有草稿可以删除；已提交的申报请撤回"))
    record(actor, "application.delete_draft", application,
           before={"call_id": application.call_id, "organization_id": application.organization_id,
                   "project_name": application.project_name or "",
                   "attachments": [a.stored_file_id for a in application.attachments]})
    db.session.delete(application)
    db.session.flush()


# --- screening (形式审查) --------------------------------------------------------------

def screen_application(application: Application, action: str, actor, *, reason: str = "",
                       new_deadline_at: dt.datetime | None = None) -> None:
    """Mark a submitted application eligible, ineligible (reason required) or return it for
    revision (reason and a new deadline in the future required)."""
    if action not in SCREENING_ACTIONS:
        raise ApplicationError(_("未知的审查操作"))
    reason = (reason or "").strip()
    if action in ("mark_ineligible", "return") and not reason:
        raise ApplicationError(_("请填写原因，申报单位将看到这一说明"), "reason")
    if len(reason) > 1000:
        raise ApplicationError(_("原因不超过 1000 字"), "reason")
    detail = {"reason": reason}
    if action == "return":
        if new_deadline_at is None:
            raise ApplicationError(_("请填写修改后重新提交的截止时间"), "new_deadline")
        if new_deadline_at <= now():
            raise ApplicationError(_("重新提交的截止时间须晚于当前时间"), "new_deadline")
        application.return_deadline_at = new_deadline_at
        detail["return_deadline_at"] = new_deadline_at.isoformat()
    application.screening_reason = reason
    application.screened_by_id = actor.id
    application.screened_at = now()
    APPLICATION_WORKFLOW.transition(application, action, actor, detail=detail)
    from grants.reminders.notices import organization_people, send_notice

    kind = {"mark_eligible": "screening_passed", "mark_ineligible": "screening_ineligible",
            "return": "screening_returned"}[action]
    send_notice(kind, organization_people(application.organization_id), link=application_link(application) + "/status",
                reason=reason, deadline=format_local(application.return_deadline_at) if action == "return" else "",
                **_notice_vars(application))


# --- lists --------------------------------------------------------------------------

LIST_DEFERRED = ("summary", "need_analysis", "objectives", "target_groups", "activity_description",
                 "screening_reason")


def _search_condition(q: str):
    """The list's search box reads the staff search's query language (number, project name, description
    words, organisation name; year:, status:, …): grants.search. The view has checked that `q` parses."""
    from grants.search.query import parse_query
    from grants.search.services import application_condition

    return application_condition(parse_query(q))


def call_applications_query(call, *, q: str = "", status: str = "", category_id: int | None = None,
                            district: str = "", for_list: bool = False):
    """The officers' list of a call's applications (drafts stay private), filtered, newest number first.

    Organisation and category come in the same query (joins), so a page costs the same whatever its size.
    With `for_list` the long texts are not read: sorting a provincial call's 10,000 rows with them before
    the LIMIT was most of the page's time.
    """
    from sqlalchemy.orm import contains_eager, defer, lazyload

    from grants.organizations.models import Organization

    stmt = (sa.select(Application)
            .join(Application.organization)
            .outerjoin(Application.category)
            .where(Application.call_id == call.id, Application.status != ApplicationStatus.DRAFT)
            .options(contains_eager(Application.organization), contains_eager(Application.category),
                     # the call is already in the session: its many-to-one loads from the identity map
                     lazyload(Application.call)))
    if q:
        stmt = stmt.where(_search_condition(q))
    if status:
        stmt = stmt.where(Application.status == status)
    if category_id:
        stmt = stmt.where(Application.category_id == category_id)
    if district:
        stmt = stmt.where(Organization.district == district)
    if for_list:
        stmt = stmt.options(*(defer(getattr(Application, name), raiseload=True) for name in LIST_DEFERRED))
    return stmt.order_by(Application.submitted_at.desc().nulls_last(), Application.id.desc())


def call_applications_count(call, *, q: str = "", status: str = "", category_id: int | None = None,
                            district: str = ""):
    """The count matching `call_applications_query`; joins the organisations only when filtering on them,
    so the usual count reads the (call, status) index alone."""
    from grants.organizations.models import Organization

    # the statuses listed (not "!= draft") so that the count reads the (call, status) index alone
    stmt = sa.select(sa.func.count()).select_from(Application).where(
        Application.call_id == call.id,
        Application.status.in_([s.value for s in ApplicationStatus if s != ApplicationStatus.DRAFT]))
    if district:
        stmt = stmt.join(Organization, Organization.id == Application.organization_id)
    if q:
        stmt = stmt.where(_search_condition(q))
    if district:
        stmt = stmt.where(Organization.district == district)
    if status:
        stmt = stmt.where(Application.status == status)
    if category_id:
        stmt = stmt.where(Application.category_id == category_id)
    return stmt


def call_application_districts(call) -> list[str]:
    """The districts of the organisations that applied, for the filter (one query; the applications are read
    from the (call, organisation) index alone)."""
    from grants.organizations.models import Organization

    return list(db.session.scalars(
        sa.select(Organization.district).join(Application, Application.organization_id == Organization.id)
        .where(Application.call_id == call.id, Organization.district != "").distinct()
        .order_by(Organization.district)))


def status_counts(call) -> dict[str, int]:
    return dict(db.session.execute(
        sa.select(Application.status, sa.func.count()).where(Application.call_id == call.id)
        .group_by(Application.status)).all())


# --- the applicant's status page ----------------------------------------------------------------

@dataclass
class StatusStep:
    label: str
    state: str  # "done" | "current" | "todo" | "stopped"


@dataclass
class StatusSummary:
    """Where an application stands, for its organisation: the stage, what happens next and by when, the
    award (amount, any cut and its reason, the 公示), the contract and the review feedback once released."""

    application: Application
    steps: list[StatusStep]
    next_step: str
    due: str = ""
    note: str = ""
    award: object = None
    notice: object = None
    contract: object = None
    feedback_released: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def adjusted(self) -> bool:
        return self.award is not None and (self.award.amount_fen != self.application.requested_fen
                                           or bool(self.award.adjustment_reason))


_STAGES = ("submit", "screening", "review", "notice", "award", "contract", "project")


def status_summary(application: Application) -> StatusSummary:
    """Compute the status page of one application (a handful of queries)."""
    from grants.awards.models import Award, PublicNotice
    from grants.calls.models import CallStatus
    from grants.contracts.models import Contract

    S = ApplicationStatus
    call = application.call
    award = db.session.scalar(sa.select(Award).where(Award.application_id == application.id))
    notice = db.session.scalar(sa.select(PublicNotice).where(PublicNotice.call_id == call.id))
    contract = db.session.scalar(sa.select(Contract).where(Contract.application_id == application.id))
    status = application.status
    reached = {
        S.DRAFT: 0, S.SUBMITTED: 1, S.RETURNED: 1, S.INELIGIBLE: 1, S.WITHDRAWN: 0, S.ELIGIBLE: 2,
        S.UNDER_REVIEW: 2, S.SCORED: 2, S.SHORTLISTED: 2, S.PITCHED: 2, S.NOT_AWARDED: 3, S.AWARDED: 3,
        S.CANCELLED: 3, S.CONFIRMED: 5,
    }[S(status)]
    if contract is not None and contract.status in ("active", "completed"):
        reached = 6
    stopped = status in (S.INELIGIBLE, S.WITHDRAWN, S.NOT_AWARDED, S.CANCELLED)
    labels = (_("提交申报"), _("形式审查"), _("专家评审"), _("公示"), _("立项"), _("签订协议"), _("项目执行"))
    steps = []
    for i, label in enumerate(labels):
        if i < reached:
            state = "done"
        elif i == reached:
            state = "stopped" if stopped else ("done" if status == "completed" else "current")
        else:
            state = "todo"
        steps.append(StatusStep(label, state))

    summary = StatusSummary(application, steps, next_step="", award=award, notice=notice, contract=contract)
    if status == S.DRAFT:
        summary.next_step, summary.due = _("完善并提交申报书"), format_local(application.deadline_at)
    elif status == S.SUBMITTED:
        summary.next_step = _("等待项目主管进行形式审查，结果将通知您")
        summary.due = format_local(call.review_start_at) if call.review_start_at else ""
    elif status == S.RETURNED:
        summary.next_step, summary.due = _("按审查意见修改后重新提交"), format_local(application.deadline_at)
        summary.note = application.screening_reason
    elif status == S.INELIGIBLE:
        summary.next_step, summary.note = _("申报书未通过形式审查，本次申报结束"), application.screening_reason
    elif status == S.WITHDRAWN:
        summary.next_step = _("申报书已撤回，本次申报结束")
    elif status in (S.ELIGIBLE, S.UNDER_REVIEW):
        summary.next_step = _("专家评审，评审结束后公布拟资助名单")
        summary.due = format_local(call.review_end_at) if call.review_end_at else ""
    elif status == S.SHORTLISTED:
        summary.next_step = _("参加路演答辩，具体安排由项目主管通知")
    elif status in (S.SCORED, S.PITCHED):
        summary.next_step = _("评审已完成，等待资助方案审批和公示")
    elif status == S.AWARDED:
        summary.next_step = _("拟资助名单公示中，公示期满无异议后确认立项")
        summary.due = notice.ends_on.isoformat() if notice else ""
    elif status == S.CANCELLED:
        summary.next_step = _("公示期间的异议经核实成立，拟资助已取消")
        summary.note = award.cancelled_reason if award else ""
    elif status == S.NOT_AWARDED:
        summary.next_step = _("本次未获资助")
        summary.feedback_released = call.status in (CallStatus.FINALIZED, CallStatus.ARCHIVED)
    elif status == S.CONFIRMED:
        if contract is None or contract.status == "draft":
            summary.next_step = _("已立项，等待项目主管下发资助协议")
        elif contract.status == "issued":
            summary.next_step = _("阅读并签署资助协议")
        elif contract.status == "signed_by_org":
            summary.next_step = _("协议已签署，等待甲方会签")
        elif contract.status == "active":
            due = next((t for t in contract.tranches if t.status in ("due", "rectifying")), None)
            if due is not None:
                rectifying = due.status == "rectifying"
                summary.next_step = (_("提交“%(t)s”的整改报告", t=due.name) if rectifying
                                     else _("提交“%(t)s”的进度报告", t=due.name))
                when = due.rectify_due_on if rectifying else due.due_on
                summary.due = when.isoformat() if when else ""
            else:
                summary.next_step = _("执行项目，按协议提交报告")
        elif contract.status == "completed":
            summary.next_step = _("项目已结项")
        else:
            summary.next_step = _("协议已终止")
            summary.note = contract.terminated_reason or ""
    return summary
