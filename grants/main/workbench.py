"""工作台 (待办): what is waiting for this person, per role, with counts, the most urgent items first and a link
that opens each item where it is handled.

Each kind of to-do is one `Todo`: a SELECT of the waiting rows (already scoped to the user: the host-unit subtree
for staff, the user's organisation for applicants, the user's own tasks for experts and evaluators) with the
columns `ref` (the id the link needs), `title`, `subtitle`, `deadline` and `since`. The counts of all the kinds
of a user come from ONE statement (a scalar subquery per kind); the first few rows of each kind from one query
per kind with a count. So the page costs a fixed number of queries whatever the data size, and the navigation
badges cost one (computed once per request, see `nav_counts`)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.core.timeutil import now
from grants.extensions import db

ITEMS_PER_KIND = 5
DEFAULT_ASSESSMENT_DAYS = 15  # an assessment not submitted this many days after assignment is overdue

# The navigation menus (by stage of the annual loop) a to-do's badge is added to.
MENU_APPLY, MENU_REVIEW, MENU_CONTRACT, MENU_STATS, MENU_ADMIN = "apply", "review", "contract", "stats", "admin"


@dataclass
class Todo:
    key: str
    label: object
    menu: str
    query: Callable  # (ctx) -> Select with columns ref, title, subtitle, deadline, since
    link: Callable   # (row) -> url
    list_link: Callable | None = None  # (ctx) -> url of the list where these are handled
    # A to-do that is a state rather than a list (scheduler down, holidays missing): a SQL expression giving
    # 0 or 1 and a Python check; such a to-do has no rows.
    flag: Callable | None = None     # (ctx) -> scalar SQL expression (a count)
    flag_check: Callable | None = None  # (ctx, value) -> (count, message)
    newest_first: bool = False  # messages: the latest first; everything else: the deadline, then the oldest


@dataclass
class Section:
    key: str
    label: object
    menu: str
    count: int
    items: list = field(default_factory=list)
    list_url: str | None = None
    message: object = None

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.items))


@dataclass
class Item:
    title: str
    subtitle: str
    deadline: dt.datetime | dt.date | None
    since: dt.datetime | None
    url: str

    @property
    def days_left(self) -> int | None:
        """Whole days until the deadline (negative: overdue), in Beijing dates."""
        from grants.core.timeutil import to_local, today_local

        if self.deadline is None:
            return None
        day = to_local(self.deadline).date() if isinstance(self.deadline, dt.datetime) else self.deadline
        return (day - today_local()).days


@dataclass
class Ctx:
    user: object
    at: dt.datetime
    units: list[int]

    @property
    def org_ids(self):
        from grants.organizations.models import OrganizationMember

        return sa.select(OrganizationMember.organization_id).where(OrganizationMember.user_id == self.user.id)


def _row(ref, title, subtitle, deadline, since):
    return sa.select(ref.label("ref"), title.label("title"), subtitle.label("subtitle"),
                     deadline.label("deadline"), since.label("since"))


def _none(type_=None):
    return sa.null() if type_ is None else sa.cast(sa.null(), type_)


# --- officer -------------------------------------------------------------------------------------------------

def _orgs_to_verify(c: Ctx):
    from grants.organizations.models import Organization, OrgStatus

    return (_row(Organization.id, Organization.name, Organization.district, _none(sa.DateTime), Organization.created_at)
            .where(Organization.status == OrgStatus.PENDING, Organization.host_unit_id.in_(c.units)))


def _applications(c: Ctx, resubmitted: bool):
    from grants.applications.models import Application, ApplicationStatus
    from grants.calls.models import Call
    from grants.organizations.models import Organization

    screened = Application.screened_at.is_not(None) if resubmitted else Application.screened_at.is_(None)
    return (_row(Application.id, Application.project_name, Organization.name, Call.review_start_at,
                 Application.submitted_at)
            .join(Call, Call.id == Application.call_id).join(Organization, Organization.id == Application.organization_id)
            .where(Application.status == ApplicationStatus.SUBMITTED, screened, Call.host_unit_id.in_(c.units)))


def _conflicts(c: Ctx):
    """An expert has (or was found to have) a conflict with an application still assigned to them: the officer
    must replace the expert (回避后另行安排)."""
    from grants.applications.models import Application
    from grants.calls.models import Call, CallStatus
    from grants.reviews.models import Conflict, ReviewAssignment

    return (_row(ReviewAssignment.id, Application.project_name, Call.title, Call.review_end_at, Conflict.created_at)
            .join(Conflict, sa.and_(Conflict.application_id == ReviewAssignment.application_id,
                                    Conflict.expert_id == ReviewAssignment.expert_id, Conflict.has_conflict.is_(True)))
            .join(Application, Application.id == ReviewAssignment.application_id)
            .join(Call, Call.id == Application.call_id)
            .where(Call.status == CallStatus.REVIEWING, Call.host_unit_id.in_(c.units))
            .add_columns(Call.id.label("call_id")))


def _objections(c: Ctx):
    from grants.applications.models import Application
    from grants.awards.models import Objection, ObjectionStatus, PublicNotice
    from grants.calls.models import Call

    return (_row(Objection.id, Application.project_name, Objection.objector_name, PublicNotice.ends_on,
                 Objection.filed_at)
            .join(PublicNotice, PublicNotice.id == Objection.notice_id).join(Call, Call.id == PublicNotice.call_id)
            .join(Application, Application.id == Objection.application_id)
            .where(Objection.status == ObjectionStatus.OPEN, Call.host_unit_id.in_(c.units))
            .add_columns(Call.id.label("call_id")))


def _award_plans(c: Ctx):
    """资助方案 drafted by another officer and waiting for approval (the drafter may not approve it)."""
    from grants.awards.models import Award, AwardStatus
    from grants.calls.models import Call, CallStatus

    drafts = (sa.select(Award.call_id, sa.func.count().label("n"), sa.func.min(Award.created_at).label("since"))
              .where(Award.status == AwardStatus.DRAFT,
                     sa.or_(Award.proposed_by_id.is_(None), Award.proposed_by_id != c.user.id))
              .group_by(Award.call_id).subquery())
    return (_row(Call.id, Call.title, sa.cast(drafts.c.n, sa.String), Call.review_end_at, drafts.c.since)
            .join(drafts, drafts.c.call_id == Call.id)
            .where(Call.status == CallStatus.REVIEWING, Call.host_unit_id.in_(c.units)))


def _contracts(c: Ctx, status: str, *, mine: bool = False):
    from grants.calls.models import Call
    from grants.contracts.models import Contract

    since = Contract.signed_at if status == "signed_by_org" else Contract.issued_at
    scope = Contract.organization_id.in_(c.org_ids) if mine else Call.host_unit_id.in_(c.units)
    return (_row(Contract.id, Contract.project_name, Contract.number, _none(sa.DateTime), since)
            .join(Call, Call.id == Contract.call_id).where(Contract.status == status, scope))


def _reports_to_accept(c: Ctx):
    from grants.assessments.models import ProgressReport, ReportStatus
    from grants.calls.models import Call
    from grants.contracts.models import Contract

    return (_row(ProgressReport.id, Contract.project_name, Contract.party_b_name, _none(sa.DateTime),
                 ProgressReport.submitted_at)
            .join(Contract, Contract.id == ProgressReport.contract_id).join(Call, Call.id == Contract.call_id)
            .where(ProgressReport.status == ReportStatus.SUBMITTED, Call.host_unit_id.in_(c.units)))


def assessment_days() -> int:
    return int(current_app.config.get("ASSESSMENT_DUE_DAYS", DEFAULT_ASSESSMENT_DAYS))


def _assessments(c: Ctx, *, overdue: bool):
    from grants.accounts.models import User
    from grants.assessments.models import Assessment, AssessmentStatus
    from grants.calls.models import Call
    from grants.contracts.models import Contract

    days = assessment_days()
    q = (sa.select(Assessment.id.label("ref"), Contract.project_name.label("title"))
         .join(Contract, Contract.id == Assessment.contract_id).join(Call, Call.id == Contract.call_id)
         .where(Assessment.status == AssessmentStatus.ASSIGNED))
    if overdue:
        q = (q.join(User, User.id == Assessment.evaluator_id)
             .add_columns(User.display_name.label("subtitle"))
             .where(Call.host_unit_id.in_(c.units), Assessment.assigned_at < c.at - dt.timedelta(days=days)))
    else:
        q = q.add_columns(Contract.party_b_name.label("subtitle")).where(Assessment.evaluator_id == c.user.id)
    # The deadline is computed in Python (assigned_at + days): portable date arithmetic in SQL is not.
    return q.add_columns(_none(sa.DateTime).label("deadline"), Assessment.assigned_at.label("since"))


def _holds(c: Ctx):
    from grants.calls.models import Call
    from grants.contracts.models import Contract
    from grants.finance.models import Payment, PaymentHold

    return (_row(Payment.id, Contract.project_name, PaymentHold.reason, _none(sa.DateTime), PaymentHold.placed_at)
            .select_from(PaymentHold).join(Payment, Payment.id == PaymentHold.payment_id).join(Contract, Contract.id == Payment.contract_id)
            .join(Call, Call.id == Payment.call_id)
            .where(PaymentHold.lifted_at.is_(None), Call.host_unit_id.in_(c.units)))


# --- expert ----------------------------------------------------------------------------------------------------

def _review_tasks(c: Ctx):
    from grants.applications.models import Application
    from grants.calls.models import Call, CallStatus
    from grants.reviews.models import Conflict, Review, ReviewAssignment, ReviewStatus

    submitted = sa.exists().where(Review.assignment_id == ReviewAssignment.id, Review.status == ReviewStatus.SUBMITTED)
    conflicted = sa.exists().where(Conflict.application_id == ReviewAssignment.application_id,
                                   Conflict.expert_id == ReviewAssignment.expert_id, Conflict.has_conflict.is_(True))
    return (_row(ReviewAssignment.id, Application.project_name, Call.title, Call.review_end_at,
                 ReviewAssignment.created_at)
            .join(Application, Application.id == ReviewAssignment.application_id)
            .join(Call, Call.id == Application.call_id)
            .where(ReviewAssignment.expert_id == c.user.id, Call.status == CallStatus.REVIEWING,
                   ~submitted, ~conflicted))


# --- finance ---------------------------------------------------------------------------------------------------

def _payments(c: Ctx, which: str):
    from grants.calls.models import Call
    from grants.finance.models import Payment, PaymentStatus
    from grants.finance.services import second_approval_threshold_fen

    limit = second_approval_threshold_fen()
    uid = c.user.id
    not_mine = sa.and_(sa.or_(Payment.approved_by_id.is_(None), Payment.approved_by_id != uid),
                       sa.or_(Payment.second_approved_by_id.is_(None), Payment.second_approved_by_id != uid))
    where = {
        "approve": Payment.status == PaymentStatus.REQUESTED,
        "second": sa.and_(Payment.status == PaymentStatus.APPROVED, Payment.amount_fen > limit, not_mine),
        "release": sa.and_(sa.or_(sa.and_(Payment.status == PaymentStatus.APPROVED, Payment.amount_fen <= limit),
                                  Payment.status == PaymentStatus.SECOND_APPROVED), not_mine),
    }[which]
    from grants.contracts.models import Contract

    return (_row(Payment.id, Contract.project_name, sa.cast(Payment.amount_fen, sa.String), _none(sa.DateTime),
                 Payment.requested_at)
            .join(Contract, Contract.id == Payment.contract_id).join(Call, Call.id == Payment.call_id)
            .where(where, Call.host_unit_id.in_(c.units)))


def _reclaims(c: Ctx):
    """Contracts flagged for 追回 with nothing recorded as reclaimed yet."""
    from grants.calls.models import Call
    from grants.contracts.models import Contract
    from grants.finance.models import Payment, Reclaim

    recorded = sa.exists().where(Reclaim.payment_id == Payment.id, Payment.contract_id == Contract.id)
    return (_row(Contract.id, Contract.project_name, Contract.reclaim_reason, _none(sa.DateTime),
                 Contract.reclaim_flagged_at)
            .join(Call, Call.id == Contract.call_id)
            .where(Contract.reclaim_flagged_at.is_not(None), ~recorded, Call.host_unit_id.in_(c.units)))


# --- applicant -------------------------------------------------------------------------------------------------

def _my_applications(c: Ctx, status: str):
    from grants.applications.models import Application, ApplicationStatus
    from grants.calls.models import Call

    deadline = Call.close_at if status == ApplicationStatus.DRAFT else Application.return_deadline_at
    q = (_row(Application.id, Application.project_name, Call.title, deadline, Application.updated_at)
         .join(Call, Call.id == Application.call_id)
         .where(Application.status == status, Application.organization_id.in_(c.org_ids)))
    if status == ApplicationStatus.DRAFT:
        q = q.where(Call.close_at > c.at)  # a draft of a closed call can no longer be submitted
    return q


def _my_tranches(c: Ctx, status: str):
    from grants.contracts.models import Contract, Tranche

    deadline = Tranche.rectify_due_on if status == "rectifying" else Tranche.due_on
    return (_row(Contract.id, Contract.project_name, Tranche.name, deadline, Tranche.payable_at)
            .select_from(Tranche).join(Contract, Contract.id == Tranche.contract_id)
            .where(Tranche.status == status, Contract.status == "active",
                   Contract.organization_id.in_(c.org_ids)))


def _messages(c: Ctx):
    from grants.reminders.models import Notification

    return (_row(Notification.id, Notification.title, Notification.link, _none(sa.DateTime), Notification.created_at)
            .where(Notification.user_id == c.user.id, Notification.read_at.is_(None)))


# --- admin -----------------------------------------------------------------------------------------------------

def _failed_mail(c: Ctx):
    from grants.reminders.models import MailStatus, OutboxMail

    return (_row(OutboxMail.id, OutboxMail.subject, OutboxMail.last_error, _none(sa.DateTime), OutboxMail.created_at)
            .where(OutboxMail.status.in_((MailStatus.FAILED, MailStatus.UNCERTAIN))))


def _failed_sms(c: Ctx):
    from grants.reminders.models import MailStatus, OutboxSms

    return (_row(OutboxSms.id, OutboxSms.text, OutboxSms.last_error, _none(sa.DateTime), OutboxSms.created_at)
            .where(OutboxSms.status.in_((MailStatus.FAILED, MailStatus.UNCERTAIN))))


def _scheduler_alive(c: Ctx):
    from grants.reminders.models import SchedulerInstance

    stale = c.at - dt.timedelta(seconds=int(current_app.config.get("WORKBENCH_SCHEDULER_STALE_SECONDS", 600)))
    return sa.select(sa.func.count()).select_from(SchedulerInstance).where(
        SchedulerInstance.is_active.is_(True), SchedulerInstance.heartbeat_at >= stale).scalar_subquery()


def _scheduler_check(c: Ctx, alive: int):
    return (0, None) if alive else (1, _l("没有正在运行的定时提醒进程（近 10 分钟无心跳），到期提醒不会发出。"))


def _next_year_confirmed(c: Ctx):
    from grants.core.models import HolidayYear

    return sa.select(sa.func.count()).select_from(HolidayYear).where(
        HolidayYear.year == _next_year()).scalar_subquery()


def _next_year() -> int:
    from grants.core.timeutil import today_local

    return today_local().year + 1


def _holiday_check(c: Ctx, confirmed: int):
    from grants.core.workdays import library_knows

    year = _next_year()
    if confirmed or library_knows(year):
        return 0, None
    return 1, _l("%(y)s 年的节假日安排尚未录入并确认：公示期等“工作日”期限将无法计算。", y=year)


# --- the to-dos of each role ---------------------------------------------------------------------------------

def _local_link(link: str | None) -> str:
    """A notification's link, if it is a path on this site; otherwise the inbox."""
    if link and link.startswith("/") and not link.startswith("//"):
        return link
    return url_for("reminders.inbox")


def _u(endpoint, **kw):
    return lambda row: url_for(endpoint, **{k: getattr(row, v) for k, v in kw.items()})


def _list(endpoint, **kw):
    return lambda c: url_for(endpoint, **kw)


OFFICER = [
    Todo("orgs_to_verify", _l("待认证社会组织"), MENU_APPLY, _orgs_to_verify, _u("organizations.detail", org_id="ref"),
         _list("organizations.index", status="pending")),
    Todo("to_screen", _l("待审查申报"), MENU_APPLY, lambda c: _applications(c, False),
         _u("applications.detail", application_id="ref"), _list("applications.screening")),
    Todo("resubmitted", _l("退回后重新提交"), MENU_APPLY, lambda c: _applications(c, True),
         _u("applications.detail", application_id="ref"), _list("applications.screening")),
    Todo("conflicts", _l("回避待重新分配"), MENU_REVIEW, _conflicts, _u("reviews.assignments", call_id="call_id"),
         _list("reviews.calls")),
    Todo("objections", _l("待处理异议"), MENU_REVIEW, _objections, _u("awards.notice", call_id="call_id"),
         _list("awards.index")),
    Todo("award_plans", _l("待审批资助方案"), MENU_REVIEW, _award_plans, _u("awards.draft", call_id="ref"),
         _list("awards.index")),
    Todo("to_countersign", _l("待会签的协议"), MENU_CONTRACT, lambda c: _contracts(c, "signed_by_org"),
         _u("contracts.detail", contract_id="ref"), _list("contracts.index", status="signed_by_org")),
    Todo("reports_to_accept", _l("待受理进度报告"), MENU_CONTRACT, _reports_to_accept,
         _u("assessments.report", report_id="ref")),
    Todo("assessments_overdue", _l("逾期未完成的评估"), MENU_CONTRACT, lambda c: _assessments(c, overdue=True),
         _u("assessments.assessment", assessment_id="ref")),
    Todo("holds", _l("暂停拨付中"), MENU_CONTRACT, _holds, _u("finance.payment", payment_id="ref"),
         _list("finance.queue", status="held")),
]
EXPERT = [
    Todo("review_tasks", _l("待完成评审"), MENU_REVIEW, _review_tasks, _u("reviews.review", assignment_id="ref"),
         _list("reviews.tasks")),
]
EVALUATOR = [
    Todo("assessments_due", _l("待完成评估"), MENU_CONTRACT, lambda c: _assessments(c, overdue=False),
         _u("assessments.assessment", assessment_id="ref"), _list("assessments.mine")),
]
FINANCE = [
    Todo("payments_to_approve", _l("待审核付款"), MENU_CONTRACT, lambda c: _payments(c, "approve"),
         _u("finance.payment", payment_id="ref"), _list("finance.queue", status="requested")),
    Todo("payments_to_second_approve", _l("待复核付款"), MENU_CONTRACT, lambda c: _payments(c, "second"),
         _u("finance.payment", payment_id="ref"), _list("finance.queue", status="approved")),
    Todo("payments_to_release", _l("待拨付"), MENU_CONTRACT, lambda c: _payments(c, "release"),
         _u("finance.payment", payment_id="ref"), _list("finance.queue")),
    Todo("reclaims", _l("待追回"), MENU_CONTRACT, _reclaims, _u("contracts.detail", contract_id="ref")),
]
APPLICANT = [
    Todo("drafts", _l("未提交的申报草稿"), MENU_APPLY, lambda c: _my_applications(c, "draft"),
         _u("applications.edit", application_id="ref"), _list("applications.mine")),
    Todo("returned", _l("退回修改的申报"), MENU_APPLY, lambda c: _my_applications(c, "returned"),
         _u("applications.edit", application_id="ref"), _list("applications.mine")),
    Todo("contracts_to_sign", _l("待签署的协议"), MENU_CONTRACT, lambda c: _contracts(c, "issued", mine=True),
         _u("contracts.detail", contract_id="ref"), _list("contracts.mine")),
    Todo("reports_due", _l("待提交进度报告"), MENU_CONTRACT, lambda c: _my_tranches(c, "due"),
         _u("contracts.detail", contract_id="ref"), _list("contracts.mine")),
    Todo("rectifications", _l("待整改"), MENU_CONTRACT, lambda c: _my_tranches(c, "rectifying"),
         _u("contracts.detail", contract_id="ref"), _list("contracts.mine")),
    Todo("messages", _l("未读消息"), "", _messages, lambda row: _local_link(row.subtitle),
         _list("reminders.inbox"), newest_first=True),
]
ADMIN = [
    Todo("mail_failures", _l("发送失败的邮件"), MENU_ADMIN, _failed_mail, _u("reminders.outbox_mail", mail_id="ref"),
         _list("reminders.outbox")),
    Todo("sms_failures", _l("发送失败的短信"), MENU_ADMIN, _failed_sms, _u("reminders.sms_outbox_item", sms_id="ref"),
         _list("reminders.sms_outbox")),
    Todo("scheduler", _l("定时提醒进程"), MENU_ADMIN, None, None, _list("reminders.scheduler_status"),
         flag=_scheduler_alive, flag_check=_scheduler_check),
    Todo("holidays", _l("下一年度节假日"), MENU_ADMIN, None, None, _list("admin.holidays"),
         flag=_next_year_confirmed, flag_check=_holiday_check),
]


def todos_for(user) -> list[Todo]:
    """The kinds of to-do of every role the user holds (staff powers only within a host unit)."""
    out: list[Todo] = []
    if user.has_role(Role.OFFICER) and user.host_unit_id is not None:
        out += OFFICER
    if user.has_role(Role.EXPERT):
        out += EXPERT
    if user.has_role(Role.EVALUATOR):
        out += EVALUATOR
    if user.has_role(Role.FINANCE) and user.host_unit_id is not None:
        out += FINANCE
    if user.has_role(Role.APPLICANT) and user.organization is not None:
        out += APPLICANT
    if user.has_role(Role.ADMIN):
        out += ADMIN
    return out


def _ctx(user) -> Ctx:
    from grants.core.units import unit_subtree_ids

    units = sorted(unit_subtree_ids(user.host_unit_id)) if user.host_unit_id is not None else []
    return Ctx(user=user, at=now(), units=units)


def _raw_counts(todos: list[Todo], ctx: Ctx) -> dict[str, int]:
    """One SQL statement: a scalar subquery per to-do."""
    columns = []
    for t in todos:
        if t.flag is not None:
            columns.append(t.flag(ctx).label(t.key))
        else:
            columns.append(sa.select(sa.func.count()).select_from(t.query(ctx).subquery())
                           .scalar_subquery().label(t.key))
    row = db.session.execute(sa.select(*columns)).one()
    return {t.key: int(getattr(row, t.key) or 0) for t in todos}


def counts(user, todos: list[Todo] | None = None) -> dict[str, int]:
    """Every to-do's count for the user, from one SQL statement (plus the unit-tree lookup)."""
    todos = todos_for(user) if todos is None else todos
    if not todos:
        return {}
    ctx = _ctx(user)
    raw = _raw_counts(todos, ctx)
    return {t.key: t.flag_check(ctx, raw[t.key])[0] if t.flag is not None else raw[t.key] for t in todos}


def sections(user) -> list[Section]:
    """The workbench: each kind with its count and its most urgent items (deadline first, then oldest)."""
    todos = todos_for(user)
    if not todos:
        return []
    ctx = _ctx(user)
    raw = _raw_counts(todos, ctx)
    out = []
    days = assessment_days()
    for t in todos:
        list_url = t.list_link(ctx) if t.list_link else None
        if t.flag is not None:
            n, message = t.flag_check(ctx, raw[t.key])
            out.append(Section(t.key, t.label, t.menu, n, [], list_url, message))
            continue
        n = raw[t.key]
        items = []
        if n:
            sub = t.query(ctx).subquery()
            order = (sub.c.since.desc(), sub.c.ref.desc()) if t.newest_first else \
                (sub.c.deadline.is_(None), sub.c.deadline, sub.c.since, sub.c.ref)
            rows = db.session.execute(sa.select(sub).order_by(*order).limit(ITEMS_PER_KIND)).all()
            for r in rows:
                deadline = r.deadline
                if t.key in ("assessments_due", "assessments_overdue") and r.since is not None:
                    deadline = r.since + dt.timedelta(days=days)
                items.append(Item(title=r.title or "", subtitle=_subtitle(t.key, r.subtitle), deadline=deadline,
                                  since=r.since, url=t.link(r)))
        out.append(Section(t.key, t.label, t.menu, n, items, list_url))
    return out


def _subtitle(key: str, value) -> str:
    from grants.core.money import yuan

    if value is None:
        return ""
    if key.startswith("payments_"):
        return yuan(int(value))
    if key == "award_plans":
        return str(_l("%(n)s 个拟资助项目", n=value))
    if key == "messages":
        return ""
    return str(value)


def nav_counts() -> dict[str, int]:
    """The badge of each navigation menu (and "total" for 工作台): the sum of its to-dos' counts, computed at
    most once per request and only for a logged-in user with to-dos."""
    from flask_login import current_user

    # Cached on the request (not on g: an app context can outlive one request, as in tests).
    cached = getattr(request, "_workbench_nav_counts", None)
    if cached is not None:
        return cached
    result: dict[str, int] = {}
    if current_user.is_authenticated:
        todos = [t for t in todos_for(current_user) if t.key != "messages"]  # unread messages: the bell
        if todos:
            n = counts(current_user, todos)
            for t in todos:
                if n[t.key]:
                    result[t.menu] = result.get(t.menu, 0) + n[t.key]
                    result["total"] = result.get("total", 0) + n[t.key]
    request._workbench_nav_counts = result
    return result
