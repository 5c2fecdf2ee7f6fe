"""Expert review: the pool, panels, conflicts (回避), assignment, scoring, reopening, shortlist, ranking."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role, User
from grants.applications.models import Application, ApplicationStatus
from grants.applications.states import APPLICATION_WORKFLOW
from grants.calls.models import Call, CallStatus, RubricCriterion
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.states import IllegalTransition
from grants.reviews.states import REVIEW_WORKFLOW
from grants.core.timeutil import format_local, now
from grants.extensions import db
from grants.organizations.models import Organization, OrganizationMember
from grants.reviews import scoring
from grants.reviews.ranking_store import mark_ranking_stale
from grants.reviews.models import (
    Conflict, ConflictSource, ExpertProfile, PanelMember, Recommendation, Review, ReviewAssignment, ReviewScore,
    ReviewStage, ReviewStatus,
)

# Applications that went to expert review (their scores count in the ranking).
REVIEWED_STATES = (ApplicationStatus.UNDER_REVIEW, ApplicationStatus.SCORED, ApplicationStatus.SHORTLISTED,
                   ApplicationStatus.PITCHED, ApplicationStatus.AWARDED, ApplicationStatus.NOT_AWARDED,
                   ApplicationStatus.CONFIRMED, ApplicationStatus.CANCELLED)
# Applications that may be given written-stage experts.
ASSIGNABLE_WRITTEN = (ApplicationStatus.ELIGIBLE, ApplicationStatus.UNDER_REVIEW)
ASSIGNABLE_PITCH = (ApplicationStatus.SHORTLISTED,)


class ReviewError(DomainError):
    """A review rule was broken; the message is shown to the user (in Chinese)."""


def _transition_app(application: Application, action: str, actor, *, system: bool = False, **detail) -> None:
    try:
        APPLICATION_WORKFLOW.transition(application, action, actor, roles={"system"} if system else None,
                                        detail=detail or None)
    except IllegalTransition as exc:
        raise ReviewError(exc.message) from exc


def _ensure_call_reviewing(call: Call, actor) -> None:
    """The call moves published → reviewing with its first assignment (only once the deadline passed)."""
    if call.status == CallStatus.REVIEWING:
        return
    if call.status != CallStatus.PUBLISHED:
        raise ReviewError(_("活动当前状态为“%(s)s”，不能分配评审", s=call.status_label))
    from grants.calls.services import CallError, close_call_for_review

    try:
        close_call_for_review(call, actor)
    except CallError as exc:
        raise ReviewError(exc.message) from exc


def spread_threshold() -> Decimal:
    return Decimal(str(current_app.config.get("REVIEW_SPREAD_THRESHOLD", scoring.DEFAULT_SPREAD_THRESHOLD)))


# --- expert pool --------------------------------------------------------------------------------

def _clean_specialties(specialties: Iterable[str] | str) -> list[str]:
    if isinstance(specialties, str):
        for sep in ("、", "，", ",", ";", "；", "\n"):
            specialties = specialties.replace(sep, " ")
        specialties = specialties.split()
    seen: list[str] = []
    for s in specialties:
        s = s.strip()
        if s and s not in seen:
            seen.append(s)
    return seen


def create_expert(actor, *, username: str, display_name: str, password: str, specialties: Iterable[str] | str = (),
                  employer: str = "", affiliated_organization_id: int | None = None, phone: str = "",
                  email: str | None = None, mobile: str | None = None, title: str = "",
                  check_password_strength: bool = True) -> ExpertProfile:
    """Create an expert account (role expert) and its pool profile."""
    from grants.accounts.services import create_user

    user = create_user(username=username, display_name=display_name, password=password, roles={Role.EXPERT},
                       mobile=mobile, email=email, affiliation=employer or None, actor=actor,
                       must_change_password=check_password_strength,
                       check_password_strength=check_password_strength)
    profile = ensure_profile(user, host_unit_id=getattr(actor, "host_unit_id", None))
    profile.specialties = _clean_specialties(specialties)
    profile.employer = employer.strip()
    profile.affiliated_organization_id = affiliated_organization_id
    profile.phone = phone.strip()
    profile.title = title.strip()
    db.session.flush()
    record(actor, "expert.create", profile, after=_profile_dump(profile))
    return profile


def ensure_profile(user: User, host_unit_id: int | None = None) -> ExpertProfile:
    """The pool profile of an expert account, created with the role (by create_user and update_user)."""
    profile = db.session.scalar(sa.select(ExpertProfile).where(ExpertProfile.user_id == user.id))
    if profile is None:
        profile = ExpertProfile(user_id=user.id, specialties=[], employer=user.affiliation or "",
                                host_unit_id=host_unit_id)
        db.session.add(profile)
        db.session.flush()
    return profile


def _profile_dump(p: ExpertProfile) -> dict:
    return {"display_name": p.user.display_name, "specialties": list(p.specialties or []), "employer": p.employer,
            "phone": p.phone, "title": p.title, "affiliated_organization_id": p.affiliated_organization_id}


def update_expert(profile: ExpertProfile, actor, *, specialties: Iterable[str] | str, employer: str,
                  affiliated_organization_id: int | None, phone: str, title: str = "",
                  display_name: str | None = None) -> ExpertProfile:
    """Change an expert's pool entry (the conflicts it implies are re-checked on every access)."""
    before = _profile_dump(profile)
    if not can_edit_expert_unit(actor, profile):
        raise ReviewError(_("该专家由其他单位聘请，只有聘请单位及其上级单位可以修改其信息"))
    profile.specialties = _clean_specialties(specialties)
    profile.employer = employer.strip()
    profile.affiliated_organization_id = affiliated_organization_id
    profile.phone = phone.strip()
    profile.title = title.strip()
    profile.user.affiliation = profile.employer or None
    if display_name:
        profile.user.display_name = display_name.strip()
    record(actor, "expert.update", profile, before=before, after=_profile_dump(profile))
    return profile


def can_edit_expert_unit(actor, profile: ExpertProfile) -> bool:
    """The service's own check (the view checks too): the recruiting unit or a unit above it edits."""
    from grants.reviews.permissions import can_edit_expert

    return actor is None or can_edit_expert(actor, profile)


def expert_pool_query():
    """Every expert account's profile, by name (profiles are created with the role, so none is missing)."""
    from grants.accounts.models import UserRole

    return (sa.select(ExpertProfile).join(User, User.id == ExpertProfile.user_id)
            .where(sa.exists().where(UserRole.user_id == User.id, UserRole.role == Role.EXPERT))
            .order_by(User.display_name, User.id))


def expert_pool() -> list[ExpertProfile]:
    """Every expert of the pool; reading it never writes (GET handlers use it)."""
    return list(db.session.scalars(expert_pool_query()).unique())


# --- panel -----------------------------------------------------------------------------------------

def invite_panel_member(call: Call, expert: User, stage: str, actor) -> PanelMember:
    """Invite an expert of the pool to the call's panel for a stage."""
    if not expert.has_role(Role.EXPERT):
        raise ReviewError(_("只能邀请专家库中的评审专家"))
    if stage == ReviewStage.PITCH and not call.pitch_enabled:
        raise ReviewError(_("本活动未设置路演答辩环节"))
    existing = db.session.scalar(sa.select(PanelMember).where(
        PanelMember.call_id == call.id, PanelMember.user_id == expert.id, PanelMember.stage == stage))
    if existing is not None:
        raise ReviewError(_("%(n)s 已在该环节的评审组中", n=expert.display_name))
    member = PanelMember(call_id=call.id, user_id=expert.id, stage=ReviewStage(stage), invited_by_id=actor.id)
    db.session.add(member)
    record(actor, "panel.invite", member, after={"call_id": call.id, "expert_id": expert.id, "stage": str(stage)})
    return member


def remove_panel_member(member: PanelMember, actor) -> None:
    """Remove an expert from a stage's panel while none of their assignments for it is left."""
    left = db.session.scalar(sa.select(sa.func.count()).select_from(ReviewAssignment).join(Application).where(
        Application.call_id == member.call_id, ReviewAssignment.expert_id == member.user_id,
        ReviewAssignment.stage == member.stage))
    if left:
        raise ReviewError(_("该专家还有 %(n)s 个评审任务，请先改派后再移出评审组", n=left))
    record(actor, "panel.remove", member, before={"call_id": member.call_id, "expert_id": member.user_id,
                                                  "stage": member.stage})
    db.session.delete(member)


def panel(call: Call, stage: str | None = None) -> list[PanelMember]:
    stmt = sa.select(PanelMember).where(PanelMember.call_id == call.id)
    if stage:
        stmt = stmt.where(PanelMember.stage == stage)
    return list(db.session.scalars(stmt.order_by(PanelMember.stage.desc(), PanelMember.id)).unique())


# --- conflicts ------------------------------------------------------------------------------------

@dataclass
class ExpertFacts:
    """What the automatic conflict check needs to know about an expert."""

    user_id: int
    employer: str = ""
    affiliation: str = ""
    affiliated_organization_id: int | None = None
    member_organization_id: int | None = None


def expert_facts(user_ids: Iterable[int]) -> dict[int, ExpertFacts]:
    """Facts for many experts in three queries."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    facts = {uid: ExpertFacts(uid) for uid in ids}
    for uid, aff in db.session.execute(sa.select(User.id, User.affiliation).where(User.id.in_(ids))):
        facts[uid].affiliation = (aff or "").strip()
    for uid, employer, org_id in db.session.execute(
            sa.select(ExpertProfile.user_id, ExpertProfile.employer, ExpertProfile.affiliated_organization_id)
            .where(ExpertProfile.user_id.in_(ids))):
        facts[uid].employer = (employer or "").strip()
        facts[uid].affiliated_organization_id = org_id
    for uid, org_id in db.session.execute(sa.select(OrganizationMember.user_id, OrganizationMember.organization_id)
                                          .where(OrganizationMember.user_id.in_(ids))):
        facts[uid].member_organization_id = org_id
    return facts


def auto_conflict_reason(facts: ExpertFacts, organization_id: int, organization_name: str) -> str | None:
    """Why the expert may not review this organisation's application, or None."""
    if facts.affiliated_organization_id == organization_id:
        return _("专家关联该申报组织")
    if facts.member_organization_id == organization_id:
        return _("专家是该申报组织的成员用户")
    name = (organization_name or "").strip()
    if name and name in (facts.employer, facts.affiliation):
        return _("专家工作单位即该申报组织")
    return None


def conflict_for(expert_id: int, application_id: int) -> Conflict | None:
    return db.session.scalar(sa.select(Conflict).where(Conflict.expert_id == expert_id,
                                                       Conflict.application_id == application_id))


def is_conflicted(expert: User, application: Application) -> bool:
    """A conflict recorded (auto, declared or officer) or detectable right now from the expert's facts."""
    row = conflict_for(expert.id, application.id)
    if row is not None and row.has_conflict:
        return True
    facts = expert_facts([expert.id])[expert.id]
    return auto_conflict_reason(facts, application.organization_id, application.organization.name) is not None


def _record_auto_conflict(expert_id: int, application_id: int, reason: str, actor) -> Conflict:
    row = conflict_for(expert_id, application_id)
    before = None
    if row is None:
        row = Conflict(expert_id=expert_id, application_id=application_id)
        db.session.add(row)
    elif row.has_conflict:
        return row
    else:
        before = {"source": row.source, "has_conflict": row.has_conflict}
    row.source, row.has_conflict, row.reason, row.set_by_id, row.created_at = (
        ConflictSource.AUTO, True, reason, getattr(actor, "id", None), now())
    record(actor, "conflict.auto", row, before=before,
           after={"expert_id": expert_id, "application_id": application_id, "reason": reason})
    return row


def detect_conflicts(call: Call, actor) -> int:
    """Record automatic conflicts for every panel expert × application in review; returns the number found."""
    experts = {m.user_id for m in panel(call)}
    apps = db.session.execute(sa.select(Application.id, Application.organization_id, Organization.name)
                              .join(Organization, Organization.id == Application.organization_id)
                              .where(Application.call_id == call.id,
                                     Application.status.in_((ApplicationStatus.ELIGIBLE, *REVIEWED_STATES)))).all()
    facts = expert_facts(experts)
    existing = {(c.expert_id, c.application_id): c for c in db.session.scalars(
        sa.select(Conflict).join(Application).where(Application.call_id == call.id))}
    found = 0
    for expert_id in sorted(experts):
        for app_id, org_id, org_name in apps:
            reason = auto_conflict_reason(facts[expert_id], org_id, org_name)
            if reason is None:
                continue
            row = existing.get((expert_id, app_id))
            if row is None or not row.has_conflict:
                _record_auto_conflict(expert_id, app_id, reason, actor)
                found += 1
    if found:
        mark_ranking_stale(call.id)
    return found


def declare_conflict(assignment: ReviewAssignment, expert: User, *, has_conflict: bool, reason: str = "") -> Conflict:
    """The expert's declaration, before seeing the application: 无利益冲突, or 有利益冲突 with a reason.

    A recorded conflict (auto, officer, or the expert's own earlier "有") cannot be undone by the expert;
    "无" can later become "有" (a late declaration) as long as the review is not submitted."""
    if assignment.expert_id != expert.id:
        raise ReviewError(_("这不是您的评审任务"))
    reason = (reason or "").strip()
    if has_conflict and not reason:
        raise ReviewError(_("请说明利益冲突的情况"), field="reason")
    application = assignment.application
    facts = expert_facts([expert.id])[expert.id]
    auto = auto_conflict_reason(facts, application.organization_id, application.organization.name)
    row = conflict_for(expert.id, application.id)
    if row is not None and row.has_conflict:
        raise ReviewError(_("已登记回避（%(s)s），不能更改", s=row.source_label))
    if auto is not None:
        _record_auto_conflict(expert.id, application.id, auto, expert)
        raise ReviewError(_("系统识别您与该申报组织存在关联（%(r)s），须回避", r=auto))
    if row is not None and not has_conflict:
        return row  # already declared no conflict
    review = assignment.review
    if review is not None and review.is_submitted:
        raise ReviewError(_("评分已提交，如需回避请联系项目主管"))
    before = None
    if row is None:
        row = Conflict(expert_id=expert.id, application_id=application.id)
        db.session.add(row)
    else:
        before = {"has_conflict": row.has_conflict, "reason": row.reason}
    row.source, row.has_conflict, row.reason, row.set_by_id, row.created_at = (
        ConflictSource.DECLARED, has_conflict, reason, expert.id, now())
    mark_ranking_stale(application.call_id)
    record(expert, "conflict.declare", row, before=before,
           after={"application_id": application.id, "has_conflict": has_conflict, "reason": reason})
    if has_conflict:
        # The expert is told "项目主管将另行安排专家": the officers must hear of it to do so.
        from grants.reminders.notices import send_notice, unit_staff

        send_notice("conflict_declared", unit_staff(application.call.host_unit_id, "officer"),
                    link=f"/reviews/calls/{application.call_id}/assignments", project=application.display_name,
                    organization=application.organization.name, call=application.call.title,
                    number=application.number or "", expert=expert.display_name or expert.username, reason=reason)
    return row


def set_officer_conflict(application: Application, expert: User, reason: str, actor) -> Conflict:
    """An officer records a conflict (e.g. learned from the applicant); the expert cannot undo it."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_("请填写回避原因"), field="reason")
    row = conflict_for(expert.id, application.id)
    before = None
    if row is None:
        row = Conflict(expert_id=expert.id, application_id=application.id)
        db.session.add(row)
    else:
        before = {"source": row.source, "has_conflict": row.has_conflict, "reason": row.reason}
    row.source, row.has_conflict, row.reason, row.set_by_id, row.created_at = (
        ConflictSource.OFFICER, True, reason, actor.id, now())
    mark_ranking_stale(application.call_id)
    record(actor, "conflict.officer", row, before=before,
           after={"expert_id": expert.id, "application_id": application.id, "reason": reason})
    return row


def call_conflicts(call: Call) -> list[Conflict]:
    from sqlalchemy.orm import contains_eager

    return list(db.session.scalars(
        sa.select(Conflict).join(Application, Application.id == Conflict.application_id)
        .options(contains_eager(Conflict.application))
        .where(Application.call_id == call.id).order_by(Conflict.has_conflict.desc(), Application.number,
                                                           Conflict.expert_id)).unique())


# --- assignment -----------------------------------------------------------------------------------

def _stage_states(stage: str):
    return ASSIGNABLE_PITCH if stage == ReviewStage.PITCH else ASSIGNABLE_WRITTEN


def assign_expert(application: Application, expert: User, stage: str, actor) -> ReviewAssignment:
    """Manually give an application one more expert of the stage's panel (never a conflicted one)."""
    call = application.call
    # An officer may add a reviewer to an application already scored (e.g. when the spread is flagged).
    allowed = _stage_states(stage) + ((ApplicationStatus.SCORED,) if stage == ReviewStage.WRITTEN else ())
    if application.status not in allowed:
        raise ReviewError(_("该申报当前状态为“%(s)s”，不能分配%(st)s", s=application.status_label,
                            st=_("路演评审") if stage == ReviewStage.PITCH else _("书面评审")))
    in_panel = db.session.scalar(sa.select(PanelMember.id).where(
        PanelMember.call_id == call.id, PanelMember.user_id == expert.id, PanelMember.stage == stage))
    if in_panel is None:
        raise ReviewError(_("%(n)s 不在该环节的评审组中", n=expert.display_name))
    if is_conflicted(expert, application):
        raise ReviewError(_("%(n)s 与该申报存在利益冲突，不能分配", n=expert.display_name))
    exists = db.session.scalar(sa.select(ReviewAssignment.id).where(
        ReviewAssignment.application_id == application.id, ReviewAssignment.expert_id == expert.id,
        ReviewAssignment.stage == stage))
    if exists:
        raise ReviewError(_("%(n)s 已分配评审该申报", n=expert.display_name))
    if stage == ReviewStage.WRITTEN:
        _ensure_call_reviewing(call, actor)
    a = ReviewAssignment(application=application, application_id=application.id, expert_id=expert.id,
                         stage=ReviewStage(stage), assigned_by_id=actor.id)
    db.session.add(a)
    mark_ranking_stale(call.id)
    record(actor, "review.assign", a, after={"application_id": application.id, "expert_id": expert.id,
                                             "stage": str(stage)})
    if application.status == ApplicationStatus.ELIGIBLE:
        _transition_app(application, "start_review", actor)
    elif application.status == ApplicationStatus.SCORED and stage == ReviewStage.WRITTEN:
        _transition_app(application, "reopen_review", actor)
    return a


def _category_name(application) -> str:
    return application.category.name if application.category is not None else ""


def plan_assignment(apps: list[tuple[int, str]], experts: list[tuple[int, list[str]]], n: int,
                    existing: dict[int, set[int]], conflicts: set[tuple[int, int]],
                    load: dict[int, int] | None = None) -> list[tuple[int, int]]:
    """Pure, deterministic planner: give every application up to n experts.

    apps: (application id, category name) ; experts: (expert id, specialties) ; existing: application id →
    experts already assigned ; conflicts: (expert id, application id) pairs that are never assigned.
    Greedy in application-id order; each pick takes the least-loaded expert, preferring a specialty that
    matches the category only among the least-loaded ones (so the load never differs by more than 1 when
    the conflicts allow it), then the smaller expert id. Returns the new (application id, expert id) pairs."""
    load = dict(load or {})
    for eid, _spec in experts:
        load.setdefault(eid, 0)
    specs = {eid: set(s or []) for eid, s in experts}
    order = sorted(eid for eid, _s in experts)
    out: list[tuple[int, int]] = []
    for app_id, category in sorted(apps):
        have = set(existing.get(app_id, set()))
        need = n - len(have)
        while need > 0:
            candidates = [e for e in order if e not in have and (e, app_id) not in conflicts]
            if not candidates:
                break
            least = min(load[e] for e in candidates)
            pool = [e for e in candidates if load[e] == least]
            matching = [e for e in pool if category and category in specs[e]]
            pick = (matching or pool)[0]
            out.append((app_id, pick))
            have.add(pick)
            load[pick] += 1
            need -= 1
    return out


def auto_assign(call: Call, stage: str, actor, n: int | None = None) -> tuple[int, list[str]]:
    """Give every assignable application of the stage N experts of the stage's panel (load balanced,
    specialties preferred, conflicts never). Returns (assignments created, warnings)."""
    stage = ReviewStage(stage)
    if n is None:
        n = call.reviewers_per_application if stage == ReviewStage.WRITTEN else len(panel(call, stage))
    if n < 1:
        raise ReviewError(_("每份申报的专家人数至少为 1"))
    members = panel(call, stage)
    if not members:
        raise ReviewError(_("请先邀请专家加入评审组"))
    apps = list(db.session.scalars(sa.select(Application).where(
        Application.call_id == call.id, Application.status.in_(_stage_states(stage))).order_by(Application.id)))
    if not apps:
        raise ReviewError(_("没有可分配的申报"))
    if stage == ReviewStage.WRITTEN:
        _ensure_call_reviewing(call, actor)
    detect_conflicts(call, actor)
    expert_ids = [m.user_id for m in members]
    profiles = {p.user_id: p.specialties or [] for p in db.session.scalars(
        sa.select(ExpertProfile).where(ExpertProfile.user_id.in_(expert_ids)))}
    conflicts = {(c.expert_id, c.application_id) for c in db.session.scalars(
        sa.select(Conflict).join(Application).where(Application.call_id == call.id, Conflict.has_conflict))}
    existing: dict[int, set[int]] = defaultdict(set)
    load: dict[int, int] = defaultdict(int)
    for app_id, expert_id in db.session.execute(
            sa.select(ReviewAssignment.application_id, ReviewAssignment.expert_id).join(Application)
            .where(Application.call_id == call.id, ReviewAssignment.stage == stage)):
        existing[app_id].add(expert_id)
        load[expert_id] += 1
    plan = plan_assignment([(a.id, _category_name(a)) for a in apps], [(e, profiles.get(e, [])) for e in expert_ids],
                           n, existing, conflicts, load)
    mark_ranking_stale(call.id)
    for app_id, expert_id in plan:
        db.session.add(ReviewAssignment(application_id=app_id, expert_id=expert_id, stage=stage,
                                        assigned_by_id=actor.id))
    for a in apps:
        if a.status == ApplicationStatus.ELIGIBLE and (existing.get(a.id) or any(p[0] == a.id for p in plan)):
            _transition_app(a, "start_review", actor)
    warnings = []
    got: dict[int, int] = defaultdict(int)
    for app_id, _e in plan:
        got[app_id] += 1
    for a in apps:
        total = len(existing.get(a.id, ())) + got[a.id]
        if total < n:
            warnings.append(_("%(no)s 只分配到 %(k)s 位专家（可用专家不足或存在回避）", no=a.number or a.id, k=total))
    record(actor, "review.auto_assign", call, after={"stage": str(stage), "n": n, "created": len(plan)})
    per_expert: dict[int, int] = defaultdict(int)
    for _app_id, expert_id in plan:
        per_expert[expert_id] += 1
    from grants.reminders.notices import send_notice

    deadline = format_local(call.review_end_at) if call.review_end_at else "—"
    for m in members:
        if per_expert.get(m.user_id):
            send_notice("review_assigned", [m.user], link="/reviews/tasks", call=call.title,
                        count=per_expert[m.user_id], deadline=deadline)
    return len(plan), warnings


def reassign(assignment: ReviewAssignment, new_expert: User, actor, reason: str = "") -> ReviewAssignment:
    """Move an assignment to another panel expert (e.g. after a late conflict); a submitted review stays."""
    review = assignment.review
    if review is not None and review.is_submitted:
        raise ReviewError(_("该评分已提交，不能改派"))
    application, stage = assignment.application, assignment.stage
    remove_assignment(assignment, actor, reason=reason or _("改派"))
    db.session.flush()
    return assign_expert(application, new_expert, stage, actor)


def remove_assignment(assignment: ReviewAssignment, actor, reason: str = "") -> None:
    if assignment.review is not None and assignment.review.is_submitted:
        raise ReviewError(_("该评分已提交，不能撤销分配"))
    record(actor, "review.unassign", assignment, before={"application_id": assignment.application_id,
                                                         "expert_id": assignment.expert_id,
                                                         "stage": assignment.stage}, after={"reason": reason})
    application, stage = assignment.application, assignment.stage
    mark_ranking_stale(application.call_id)
    db.session.delete(assignment)
    db.session.flush()
    _maybe_complete(application, stage, actor)


@dataclass
class ExpertProgress:
    expert: User
    assigned: int = 0
    submitted: int = 0
    drafts: int = 0
    conflicts: int = 0
    undeclared: int = 0
    # The expert's mean total (on 100) over their submitted reviews, and how far it is from the panel's mean:
    # advice on lenient or severe scoring, never used in the scores.
    mean_total: Decimal | None = None
    lean: Decimal | None = None

    @property
    def pct(self) -> int:
        return round(100 * self.submitted / self.assigned) if self.assigned else 0


def expert_progress(call: Call, stage: str = ReviewStage.WRITTEN) -> list[ExpertProgress]:
    """Per panel expert: assigned, submitted, drafts, conflicts, not yet declared (4 queries)."""
    members = panel(call, stage)
    rows = {m.user_id: ExpertProgress(m.user) for m in members}
    for expert_id, status, n in db.session.execute(
            sa.select(ReviewAssignment.expert_id, Review.status, sa.func.count())
            .join(Application, Application.id == ReviewAssignment.application_id)
            .outerjoin(Review, Review.assignment_id == ReviewAssignment.id)
            .where(Application.call_id == call.id, ReviewAssignment.stage == stage)
            .group_by(ReviewAssignment.expert_id, Review.status)):
        p = rows.get(expert_id)
        if p is None:
            continue
        p.assigned += n
        if status == ReviewStatus.SUBMITTED:
            p.submitted += n
        elif status == ReviewStatus.DRAFT:
            p.drafts += n
    declared = defaultdict(int)
    for expert_id, has_conflict, n in db.session.execute(
            sa.select(Conflict.expert_id, Conflict.has_conflict, sa.func.count())
            .join(ReviewAssignment, sa.and_(ReviewAssignment.application_id == Conflict.application_id,
                                            ReviewAssignment.expert_id == Conflict.expert_id))
            .join(Application, Application.id == Conflict.application_id)
            .where(Application.call_id == call.id, ReviewAssignment.stage == stage)
            .group_by(Conflict.expert_id, Conflict.has_conflict)):
        if expert_id in rows:
            declared[expert_id] += n
            if has_conflict:
                rows[expert_id].conflicts += n
    for eid, p in rows.items():
        p.undeclared = max(0, p.assigned - declared[eid])
    max_sum = sum(c.max_points for c in call.criteria_for(stage)) or 100
    sums = {eid: (int(total or 0), n) for eid, total, n in db.session.execute(
        sa.select(Review.expert_id, sa.func.sum(Review.points_total), sa.func.count())
        .join(Application, Application.id == Review.application_id)
        .where(Application.call_id == call.id, Review.stage == stage, Review.status == ReviewStatus.SUBMITTED)
        .group_by(Review.expert_id))}
    all_n = sum(n for _t, n in sums.values())
    panel_mean = (Decimal(sum(t for t, _n in sums.values()) * 100) / (all_n * max_sum)) if all_n else None
    for eid, (total, n) in sums.items():
        if eid in rows and n:
            mean = Decimal(total * 100) / (n * max_sum)
            rows[eid].mean_total = scoring.q2(mean)
            rows[eid].lean = scoring.q2(mean - panel_mean)
    return list(rows.values())


def call_assignments(call: Call, stage: str | None = None) -> list[ReviewAssignment]:
    from sqlalchemy.orm import selectinload

    stmt = (sa.select(ReviewAssignment).join(Application, Application.id == ReviewAssignment.application_id)
            .options(selectinload(ReviewAssignment.review).load_only(Review.id, Review.status, Review.submitted_at))
            .where(Application.call_id == call.id))
    if stage:
        stmt = stmt.where(ReviewAssignment.stage == stage)
    return list(db.session.scalars(stmt.order_by(Application.id, ReviewAssignment.stage, ReviewAssignment.expert_id))
                .unique())


# --- scoring --------------------------------------------------------------------------------------

def get_or_start_review(assignment: ReviewAssignment) -> Review:
    review = assignment.review
    if review is None:
        review = Review(assignment=assignment, application_id=assignment.application_id,
                        expert_id=assignment.expert_id, stage=assignment.stage, status=ReviewStatus.DRAFT)
        db.session.add(review)
        db.session.flush()
    return review


def save_review(assignment: ReviewAssignment, expert: User, data: dict[str, Any], *, submit: bool = False
                ) -> tuple[Review, dict[str, str]]:
    """Save the expert's scores and comments as a draft; with submit=True also check completeness and lock.

    data: {"points": {criterion_id: "17"}, "comments": {criterion_id: "…"}, "overall_comment", "recommendation",
    "suggested_amount_fen"}. Values out of range are not saved; the problems (field → message) are returned so
    the page can show them beside the fields, and everything valid is kept."""
    if assignment.expert_id != expert.id:
        raise ReviewError(_("这不是您的评审任务"))
    from grants.reviews.permissions import expert_may_see

    if not expert_may_see(expert, assignment.application):
        raise ReviewError(_("请先声明无利益冲突；存在利益冲突的申报不能评分"))
    if assignment.application.call.status != CallStatus.REVIEWING:
        raise ReviewError(_("评审已结束，不能再修改评分"))
    review = get_or_start_review(assignment)
    if review.is_submitted:
        raise ReviewError(_("评分已提交并锁定；如需修改，请联系项目主管退回"))
    criteria = assignment.application.call.criteria_for(assignment.stage)
    problems: dict[str, str] = {}
    existing = {s.criterion_id: s for s in review.scores}
    points_in = data.get("points", {}) or {}
    comments_in = data.get("comments", {}) or {}
    for c in criteria:
        raw = points_in.get(c.id, points_in.get(str(c.id), ""))
        raw = "" if raw is None else str(raw).strip()
        comment = str(comments_in.get(c.id, comments_in.get(str(c.id), "")) or "").strip()[:1000]
        if raw == "":
            if c.id in existing:
                existing[c.id].comment = comment
            continue
        try:
            value = int(raw)
        except ValueError:
            problems[f"points-{c.id}"] = _("请填写 0 到 %(m)s 之间的整数", m=c.max_points)
            continue
        if not 0 <= value <= c.max_points:
            problems[f"points-{c.id}"] = _("%(n)s 最高 %(m)s 分，请填写 0 到 %(m)s 之间的分数", n=c.name, m=c.max_points)
            continue
        if c.id in existing:
            existing[c.id].points = value
            existing[c.id].comment = comment
        else:
            s = ReviewScore(criterion_id=c.id, points=value, comment=comment)
            review.scores.append(s)
            existing[c.id] = s
    review.points_total = sum(existing[c.id].points for c in criteria if c.id in existing)
    review.overall_comment = str(data.get("overall_comment", "") or "").strip()
    rec = str(data.get("recommendation", "") or "")
    if rec and rec not in {r.value for r in Recommendation}:
        problems["recommendation"] = _("请选择推荐意见")
        rec = ""
    review.recommendation = rec or None
    amount = data.get("suggested_amount_fen")
    if amount is not None and amount <= 0:
        problems["suggested_amount"] = _("建议资助金额须大于 0")
        amount = None
    review.suggested_amount_fen = amount
    if data.get("suggested_amount_error"):
        problems["suggested_amount"] = data["suggested_amount_error"]
    review.updated_at = now()
    if submit and not problems:
        missing = [c for c in criteria if c.id not in existing]
        for c in missing:
            problems[f"points-{c.id}"] = _("请为“%(n)s”打分", n=c.name)
        if not review.overall_comment:
            problems["overall_comment"] = _("请填写总体评价")
        if not review.recommendation:
            problems["recommendation"] = _("请选择推荐意见")
        if not problems:
            REVIEW_WORKFLOW.transition(review, "submit", expert, audit=False)
            review.submitted_at = now()
            mark_ranking_stale(assignment.application.call_id)
            db.session.flush()
            record(expert, "review.submit", review, after={
                "application_id": review.application_id, "stage": review.stage,
                "points": {str(k): v.points for k, v in sorted(existing.items())},
                "recommendation": review.recommendation})
            _maybe_complete(assignment.application, assignment.stage, expert)
    return review, problems


def _maybe_complete(application: Application, stage: str, actor) -> None:
    """under_review → scored once every written review is in; shortlisted → pitched for the pitch stage."""
    db.session.flush()
    counts = dict(db.session.execute(
        sa.select(Review.status, sa.func.count())
        .select_from(ReviewAssignment).outerjoin(Review, Review.assignment_id == ReviewAssignment.id)
        .where(ReviewAssignment.application_id == application.id, ReviewAssignment.stage == stage)
        .group_by(Review.status)).all())
    total = sum(counts.values())
    done = counts.get(ReviewStatus.SUBMITTED, 0)
    if total == 0 or done < total:
        return
    if stage == ReviewStage.WRITTEN and application.status == ApplicationStatus.UNDER_REVIEW:
        _transition_app(application, "score", actor, system=True)
        from grants.reminders.notices import organization_people, send_notice

        send_notice("review_finished", organization_people(application.organization_id),
                    link=f"/applications/{application.id}/status", project=application.display_name,
                    organization=application.organization.name, call=application.call.title,
                    number=application.number or "")
    elif stage == ReviewStage.PITCH and application.status == ApplicationStatus.SHORTLISTED:
        _transition_app(application, "pitch", actor, system=True)


def reopen_review(review: Review, reason: str, actor) -> Review:
    """An officer unlocks a submitted review for the expert to change, with a reason (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_("请填写退回原因"), field="reason")
    if not review.is_submitted:
        raise ReviewError(_("该评分尚未提交，无需退回"))
    application = review.assignment.application
    if application.status not in (ApplicationStatus.UNDER_REVIEW, ApplicationStatus.SCORED,
                                  ApplicationStatus.SHORTLISTED, ApplicationStatus.PITCHED):
        raise ReviewError(_("该申报已进入立项环节，不能退回评分"))
    before = {"status": review.status, "submitted_at": review.submitted_at,
              "points": {str(s.criterion_id): s.points for s in review.scores}}
    REVIEW_WORKFLOW.transition(review, "reopen", actor, audit=False)
    review.submitted_at = None
    mark_ranking_stale(application.call_id)
    review.reopened_reason = reason[:500]
    record(actor, "review.reopen", review, before=before, after={"status": "draft", "reason": reason})
    from grants.reminders.notices import send_notice

    send_notice("review_returned", [review.expert], link=f"/reviews/assignments/{review.assignment_id}",
                number=application.number or application.id, reason=reason)
    if review.stage == ReviewStage.WRITTEN and application.status == ApplicationStatus.SCORED:
        _transition_app(application, "reopen_review", actor, reason=reason)
    elif review.stage == ReviewStage.PITCH and application.status == ApplicationStatus.PITCHED:
        _transition_app(application, "reopen_pitch", actor, reason=reason)
    return review


def other_reviews(review: Review) -> list[Review] | None:
    """The other experts' submitted reviews of the same application and stage, for this expert — or None when
    they may not be seen (own review not submitted yet, or the call does not show other scores)."""
    call = review.assignment.application.call
    if not review.is_submitted or not call.show_other_scores:
        return None
    return list(db.session.scalars(sa.select(Review).where(
        Review.application_id == review.application_id, Review.stage == review.stage,
        Review.status == ReviewStatus.SUBMITTED, Review.id != review.id).order_by(Review.submitted_at, Review.id)))


# --- ranking ---------------------------------------------------------------------------------------

@dataclass
class RankingRow:
    application: Application
    category_id: int | None
    written_score: Decimal | None
    pitch_score: Decimal | None
    final_score: Decimal | None
    review_count: int
    std_dev: Decimal | None
    spread: Decimal | None
    flagged: bool
    rank_overall: int = 0
    rank_in_category: int = 0
    # Extras shown on the ranking page.
    pitch_review_count: int = 0
    assigned_count: int = 0
    complete: bool = False
    mean_z: float | None = None
    review_sums: list[int] = field(default_factory=list)
    max_points: int = 100

    @property
    def totals(self) -> list[Decimal]:
        """The experts' totals on 100, highest first."""
        return [scoring.q2(Decimal(s * 100) / self.max_points) for s in sorted(self.review_sums, reverse=True)]


def review_points(call: Call, stage: str) -> list[tuple[int, int, int]]:
    """(application id, expert id, Σ points) for every submitted review of the stage: one query."""
    stmt = (sa.select(Review.application_id, Review.expert_id, Review.points_total)
            .join(Application, Application.id == Review.application_id)
            .where(Application.call_id == call.id, Review.stage == stage, Review.status == ReviewStatus.SUBMITTED))
    return [tuple(row) for row in db.session.execute(stmt)]


def review_totals(call: Call, stage: str) -> list[tuple[int, int, Decimal]]:
    """(application id, expert id, total on 100) for every submitted review of the stage."""
    max_sum = sum(c.max_points for c in call.criteria_for(stage))
    return [(aid, eid, scoring.review_total(s, max_sum)) for aid, eid, s in review_points(call, stage)]


# Columns a ranking row never needs: long texts and bookkeeping times stay in the database (deferred; the
# call is lazy: it is this call, already in the session, so reading a.call costs no query).
_LONG_TEXTS = ("summary", "need_analysis", "objectives", "target_groups", "activity_description",
               "screening_reason", "declaration_accepted_at", "withdrawn_at", "return_deadline_at", "screened_at",
               "updated_at")


@dataclass(frozen=True)
class _Named:
    name: str


@dataclass(frozen=True)
class RankedApplication:
    """The columns of an application the ranking page shows, read as a row instead of an ORM object:
    building 10,000 Application objects was most of the time of ranking a provincial call."""
    id: int
    number: str | None
    project_name: str
    status: str
    submitted_at: dt.datetime | None
    requested_fen: int
    category_id: int | None
    organization: _Named
    category: _Named | None

    @property
    def display_name(self) -> str:
        return self.project_name or str(_l("（未命名项目）"))

    @property
    def status_label(self):
        from grants.applications.models import STATUS_LABELS

        return STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        from grants.applications.models import STATUS_BADGES

        return STATUS_BADGES.get(self.status, "text-bg-secondary")


def _ranked_applications(call: Call) -> list[RankedApplication]:
    """The call's reviewed applications as column rows, organisation and category names joined (one query)."""
    from grants.calls.models import CallCategory
    from grants.organizations.models import Organization

    stmt = (sa.select(Application.id, Application.number, Application.project_name, Application.status,
                      Application.submitted_at, Application.requested_fen, Application.category_id,
                      Organization.name, CallCategory.name)
            .join(Organization, Organization.id == Application.organization_id)
            .outerjoin(CallCategory, CallCategory.id == Application.category_id)
            .where(Application.call_id == call.id, Application.status.in_(REVIEWED_STATES)))
    return [RankedApplication(aid, number, name, status, submitted_at, requested, cat_id, _Named(org),
                              _Named(cat) if cat_id is not None else None)
            for aid, number, name, status, submitted_at, requested, cat_id, org, cat in db.session.execute(stmt)]


def compute_ranking(call: Call, *, rows_only: bool = False) -> list[RankingRow]:
    """Every application that went to expert review, ranked overall and within its category.

    Written score: the call's aggregation (mean / trimmed mean) of the experts' totals (Σ criteria, on
    100); with a pitch stage, final = written × (100 − w)% + pitch × w% for pitched applications, which
    rank above the others. Ties: pitch score, then written score, then earlier submission, then id.
    Five queries whatever the number of applications; the arithmetic works on the integer point sums and
    turns them into Decimal once per application (5,000 × 5 reviews rank in well under a second).
    With `rows_only` each row's `application` is a RankedApplication (columns only), for display; the
    services that act on applications (shortlist, awards) take the default, ORM objects."""
    from sqlalchemy.orm import defer, joinedload, lazyload

    if rows_only:  # pages that only show the ranking: no ORM objects (see RankedApplication)
        apps = _ranked_applications(call)
    else:
        # Organisation and category joined into the one query: selectinload would send one more query per 500
        # applications (its IN-list chunk), so the count would grow with the call.
        apps = list(db.session.scalars(
            sa.select(Application).where(Application.call_id == call.id, Application.status.in_(REVIEWED_STATES))
            .options(lazyload(Application.call), joinedload(Application.organization, innerjoin=True),
                     joinedload(Application.category), *(defer(getattr(Application, c)) for c in _LONG_TEXTS))))
    w_max = sum(c.max_points for c in call.criteria_for(ReviewStage.WRITTEN))
    p_max = sum(c.max_points for c in call.criteria_for(ReviewStage.PITCH))
    written: dict[int, list[int]] = defaultdict(list)
    z_input = []
    for aid, eid, points in review_points(call, ReviewStage.WRITTEN):
        written[aid].append(points)
        z_input.append((eid, aid, points))
    pitch: dict[int, list[int]] = defaultdict(list)
    if call.pitch_enabled:
        for aid, _eid, points in review_points(call, ReviewStage.PITCH):
            pitch[aid].append(points)
    assigned = dict(db.session.execute(
        sa.select(ReviewAssignment.application_id, sa.func.count()).join(Application)
        .where(Application.call_id == call.id, ReviewAssignment.stage == ReviewStage.WRITTEN)
        .group_by(ReviewAssignment.application_id)).all())
    z_by_app: dict[int, list[float]] = defaultdict(list)
    for (_eid, aid), z in scoring.z_scores(z_input).items():
        z_by_app[aid].append(z)
    threshold = spread_threshold()
    rows: list[RankingRow] = []
    for a in apps:
        sums = written.get(a.id, [])
        stats = scoring.summarise(sums, w_max, call.aggregation)
        p_sums = pitch.get(a.id, [])
        p = scoring.summarise(p_sums, p_max, call.aggregation).score if p_sums else None
        w = stats.score
        final = scoring.q2(scoring.combine(w, p, call.pitch_weight_pct)) if call.pitch_enabled else w
        zs = z_by_app.get(a.id)
        rows.append(RankingRow(
            application=a, category_id=a.category_id, written_score=w, pitch_score=p, final_score=final,
            review_count=len(sums), std_dev=stats.std_dev, spread=stats.spread,
            flagged=stats.spread is not None and stats.spread > threshold, pitch_review_count=len(p_sums),
            assigned_count=assigned.get(a.id, 0), complete=bool(sums) and len(sums) >= assigned.get(a.id, 0),
            mean_z=(sum(zs) / len(zs)) if zs else None, review_sums=sums, max_points=w_max or 100,
        ))
    pitched_first = bool(call.pitch_enabled and pitch)
    rows.sort(key=lambda r: scoring.rank_key(r.final_score, r.pitch_score, r.written_score,
                                             r.application.submitted_at, r.application.id,
                                             pitched_first=pitched_first))
    per_cat: dict[int | None, int] = defaultdict(int)
    for i, r in enumerate(rows, start=1):
        r.rank_overall = i
        per_cat[r.category_id] += 1
        r.rank_in_category = per_cat[r.category_id]
    return rows


def tie_break_text(call: Call) -> str:
    parts = []
    if call.pitch_enabled:
        parts.append(_("最终得分 = 书面评审得分 × %(w1)s%% + 路演得分 × %(w2)s%%；已路演的项目排在未入围路演的项目之前",
                       w1=100 - call.pitch_weight_pct, w2=call.pitch_weight_pct))
    parts.append(_("同分时依次比较：路演得分、书面评审得分、申报提交时间（早者优先）、申报编号顺序"))
    return "；".join(parts)


# --- pitch shortlist -------------------------------------------------------------------------------

def shortlist(call: Call, size: int, actor, *, per_category: bool = False) -> list[Application]:
    """入围路演: the top `size` scored applications overall, or the top `size` of each category."""
    if not call.pitch_enabled:
        raise ReviewError(_("本活动未设置路演答辩环节"))
    if size < 1:
        raise ReviewError(_("入围数量至少为 1"), field="size")
    rows = [r for r in compute_ranking(call) if r.application.status == ApplicationStatus.SCORED]
    if not rows:
        raise ReviewError(_("还没有完成书面评分的申报"))
    chosen: list[Application] = []
    taken: dict[int | None, int] = defaultdict(int)
    for r in rows:
        key = r.category_id if per_category else None
        if taken[key] < size:
            taken[key] += 1
            chosen.append(r.application)
    from grants.reminders.notices import organization_people, send_notice

    for a in chosen:
        _transition_app(a, "shortlist", actor)
        send_notice("shortlisted", organization_people(a.organization_id), link=f"/applications/{a.id}/status",
                    project=a.display_name, organization=a.organization.name, call=call.title, number=a.number or "")
    record(actor, "review.shortlist", call, after={"size": size, "per_category": per_category,
                                                   "applications": [a.id for a in chosen]})
    return chosen


# --- feedback for unfunded applicants --------------------------------------------------------------

@dataclass
class Feedback:
    stage: str
    criteria: list[tuple[str, int, Decimal | None]]  # name, max points, mean points
    comments: list[str]
    total: Decimal | None


def feedback_for_applicant(application: Application) -> list[Feedback]:
    """Scores per criterion (mean of the submitted reviews) and the experts' comments, without names."""
    call = application.call
    out = []
    for stage in (ReviewStage.WRITTEN, ReviewStage.PITCH):
        criteria = call.criteria_for(stage)
        reviews = list(db.session.scalars(sa.select(Review).where(
            Review.application_id == application.id, Review.stage == stage,
            Review.status == ReviewStatus.SUBMITTED).order_by(Review.id)))
        if not reviews or not criteria:
            continue
        rows = []
        for c in criteria:
            pts = [r.points_by_criterion.get(c.id) for r in reviews]
            pts = [Decimal(p) for p in pts if p is not None]
            rows.append((c.name, c.max_points, scoring.q2(sum(pts, Decimal(0)) / len(pts)) if pts else None))
        totals = [scoring.weighted_total(r.points_by_criterion, {c.id: c.max_points for c in criteria})
                  for r in reviews]
        comments = [r.overall_comment for r in reviews if r.overall_comment]
        comments += [s.comment for r in reviews for s in r.scores if s.comment]
        out.append(Feedback(stage=str(stage), criteria=rows, comments=comments,
                            total=scoring.q2(scoring.aggregate(totals, call.aggregation))))
    return out


def rubric(call: Call, stage: str) -> list[RubricCriterion]:
    return call.criteria_for(stage)
