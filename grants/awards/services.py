"""Awards and public notice (立项、公示、异议): propose, adjust, approve, publish, object, handle, finalize.

Budget rules: the active awards of a call (draft, approved, confirmed) never add up to more than the call's
budget, nor to more than a category's quota, nor charge a funding source more than it holds.

Funding sources (资金来源): each award is charged to the sources in proportion to what each source still has
left after the awards ranked before it (integer fen, rounded down); the remaining fen go one by one to the
sources in source order that still have room. So an award fits whenever the total budget left covers it,
and no source is ever exceeded. Confirmed and approved awards keep their charge; drafts are recharged in
rank order after every change.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.accounts.models import Role
from grants.applications.models import Application, ApplicationStatus
from grants.applications.states import APPLICATION_WORKFLOW
from grants.awards.models import (
    ACTIVE_AWARD_STATUSES, Award, AwardAllocation, AwardStatus, Objection, ObjectionEvidence, ObjectionStatus,
    PublicNotice, new_receipt_no,
)
from grants.calls.models import Call, CallStatus
from grants.calls.states import CALL_WORKFLOW
from grants.core import workdays
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.money import yuan
from grants.awards.states import AWARD_WORKFLOW, OBJECTION_WORKFLOW
from grants.core.states import IllegalTransition
from grants.core.storage import UploadRejected, safe_display_name, save_upload
from grants.core.timeutil import CalendarUnknown, now, today_local
from grants.extensions import db

# Applications that may receive an award: scored, or pitched when the call has a pitch round.
AWARDABLE = (ApplicationStatus.SCORED, ApplicationStatus.PITCHED)
# Applications still waiting for a decision when the call is finalized: they become not_awarded.
UNDECIDED = (ApplicationStatus.SCORED, ApplicationStatus.SHORTLISTED, ApplicationStatus.PITCHED)
HOLIDAYS_URL = "/admin/holidays"


class AwardError(DomainError):
    """A rule about awards was broken; `problems` lists every problem (in Chinese)."""

    def __init__(self, message: str, problems: list[str] | None = None, field: str | None = None):
        super().__init__(message, field)
        self.problems = problems or [message]


# --- ranking --------------------------------------------------------------------

def ranking_for(call: Call) -> list:
    """The call's ranking from the review domain (RankingRow objects, best first)."""
    from grants.reviews.services import compute_ranking

    return compute_ranking(call)


# --- queries --------------------------------------------------------------------

def awards_of(call: Call, *, active_only: bool = True) -> list[Award]:
    stmt = sa.select(Award).where(Award.call_id == call.id)
    if active_only:
        stmt = stmt.where(Award.status.in_(ACTIVE_AWARD_STATUSES))
    return list(db.session.scalars(stmt.order_by(Award.rank.is_(None), Award.rank, Award.id)).unique())


def notice_of(call: Call) -> PublicNotice | None:
    return db.session.scalar(sa.select(PublicNotice).where(PublicNotice.call_id == call.id))


def open_objections(notice: PublicNotice) -> int:
    return db.session.scalar(sa.select(sa.func.count(Objection.id)).where(
        Objection.notice_id == notice.id, Objection.status == ObjectionStatus.OPEN)) or 0


# --- budget -----------------------------------------------------------------------

def allocate(amount_fen: int, remaining: list[int]) -> list[int]:
    """Split `amount_fen` over sources with `remaining` fen each: proportionally, remainder in source order.

    Never gives a source more than it has; raises AwardError when the amount exceeds the total left.
    """
    total = sum(max(r, 0) for r in remaining)
    if amount_fen > total:
        raise AwardError(_("资金来源余额不足：还差 %(gap)s", gap=yuan(amount_fen - total)))
    if amount_fen <= 0:
        return [0] * len(remaining)
    shares = [amount_fen * max(r, 0) // total for r in remaining]
    left = amount_fen - sum(shares)
    for i, r in enumerate(remaining):
        if left == 0:
            break
        room = max(r, 0) - shares[i]
        take = min(room, left)
        shares[i] += take
        left -= take
    return shares


def allocate_whole_yuan(amount_fen: int, remaining: list[int]) -> list[int]:
    """The proposed split (建议分摊): as `allocate`, but in whole yuan, so each source's share reads as the
    bureau's records do (¥160,000 / ¥80,000, not ¥159,999.99 / ¥80,000.01); only an award's own odd fen, if
    any, go to the first source with room. Falls back to the fen split when whole yuan cannot fit."""
    total = sum(max(r, 0) for r in remaining)
    if amount_fen > total:
        return allocate(amount_fen, remaining)
    try:
        units = allocate(amount_fen // 100, [max(r, 0) // 100 for r in remaining])
    except AwardError:
        return allocate(amount_fen, remaining)
    shares = [u * 100 for u in units]
    rest = amount_fen - sum(shares)
    for i, r in enumerate(remaining):
        take = min(rest, max(r, 0) - shares[i])
        shares[i] += take
        rest -= take
    return shares


def source_room(call: Call, award: Award) -> dict[int, int]:
    """What each funding source has left for `award` (同一来源剩余额度): the source's budget less every other
    active award's allocation (approved, confirmed, and drafts whose split an officer has set)."""
    room = {s.id: s.amount_fen for s in call.funding_sources}
    for other in awards_of(call):
        if other.id == award.id:
            continue
        for alloc in other.allocations:
            room[alloc.funding_source_id] = room.get(alloc.funding_source_id, 0) - alloc.amount_fen
    return room


def budget_usage(call: Call, awards: Iterable) -> dict:
    """Committed amounts per funding source and per category for `awards` (active ones only)."""
    by_source: dict[int, int] = defaultdict(int)
    by_category: dict[int | None, int] = defaultdict(int)
    total = 0
    for award in awards:
        if award.status not in ACTIVE_AWARD_STATUSES:
            continue
        total += award.amount_fen
        by_category[award.category_id] += award.amount_fen
        for alloc in getattr(award, "allocations", None) or []:
            by_source[alloc.funding_source_id] += alloc.amount_fen
    return {"total": total, "by_source": by_source, "by_category": by_category}


class AwardSummary:
    """The whole call's active awards summed in SQL (a provincial call has thousands): count, total, per
    funding source and per category, the drafts and who drafted them, and the awards breaking an amount
    rule — what the draft page shows without loading every award."""

    def __init__(self, call: Call):
        active = sa.and_(Award.call_id == call.id, Award.status.in_(ACTIVE_AWARD_STATUSES))
        row = db.session.execute(sa.select(
            sa.func.count(Award.id), sa.func.coalesce(sa.func.sum(Award.amount_fen), 0),
            sa.func.count(Award.id).filter(Award.status == AwardStatus.DRAFT)).where(active)).one()
        self.count, total, self.draft_count = int(row[0]), int(row[1]), int(row[2])
        by_category = defaultdict(int, {k: int(v) for k, v in db.session.execute(
            sa.select(Award.category_id, sa.func.sum(Award.amount_fen)).where(active).group_by(Award.category_id))})
        by_source = defaultdict(int, {k: int(v) for k, v in db.session.execute(
            sa.select(AwardAllocation.funding_source_id, sa.func.sum(AwardAllocation.amount_fen))
            .join(Award, Award.id == AwardAllocation.award_id).where(active)
            .group_by(AwardAllocation.funding_source_id))})
        self.usage = {"total": total, "by_source": by_source, "by_category": by_category}
        # Awards breaking the amount rules (none in a consistent draft): listed by name, like budget_check.
        self.bad_amounts = list(db.session.execute(
            sa.select(Application.project_name, Application.id, Award.amount_fen, Application.requested_fen)
            .join(Application, Application.id == Award.application_id)
            .where(active, sa.or_(Award.amount_fen <= 0, Award.amount_fen > Application.requested_fen))
            .order_by(Award.rank.is_(None), Award.rank, Award.id).limit(50)))
        from grants.accounts.models import User

        self.drafters = list(db.session.scalars(
            sa.select(User.display_name).where(User.id.in_(
                sa.select(Award.proposed_by_id).where(active, Award.status == AwardStatus.DRAFT)))
            .order_by(User.display_name)))
        self.first = db.session.scalar(sa.select(Award).where(active)
                                       .order_by(Award.rank.is_(None), Award.rank, Award.id).limit(1))

    @property
    def approved(self) -> bool:
        return self.count > 0 and self.draft_count == 0


def budget_check(call: Call, awards: Iterable | None = None, *, summary: AwardSummary | None = None) -> list[str]:
    """Chinese messages saying by how much a funding source, a category quota or the budget is exceeded.
    Checks `awards`, or (given `summary`) the call's active awards as summed in SQL."""
    if summary is not None:
        usage, awards = summary.usage, []
    else:
        awards = list(awards)
        usage = budget_usage(call, awards)
    messages: list[str] = []
    budget = call.total_budget_fen
    if usage["total"] > budget:
        messages.append(_("资助总额 %(total)s 超出活动预算 %(budget)s，超出 %(gap)s", total=yuan(usage["total"]),
                          budget=yuan(budget), gap=yuan(usage["total"] - budget)))
    for source in call.funding_sources:
        used = usage["by_source"].get(source.id, 0)
        if used > source.amount_fen:
            messages.append(_("资金来源“%(name)s”超出 %(gap)s（可用 %(avail)s，已安排 %(used)s）", name=source.label,
                              gap=yuan(used - source.amount_fen), avail=yuan(source.amount_fen), used=yuan(used)))
    for category in call.categories:
        used = usage["by_category"].get(category.id, 0)
        if category.quota_fen is not None and used > category.quota_fen:
            messages.append(_("类别“%(name)s”超出配额 %(gap)s（配额 %(quota)s，已安排 %(used)s）", name=category.name,
                              gap=yuan(used - category.quota_fen), quota=yuan(category.quota_fen), used=yuan(used)))
    for award in awards:
        if award.status not in ACTIVE_AWARD_STATUSES:
            continue
        if award.amount_fen <= 0:
            messages.append(_("“%(name)s”的资助金额必须大于零", name=_project(award)))
        requested = _requested(award)
        if requested is not None and award.amount_fen > requested:
            messages.append(_("“%(name)s”的资助金额超出申请金额 %(gap)s", name=_project(award),
                              gap=yuan(award.amount_fen - requested)))
    for name, app_id, amount, requested in (summary.bad_amounts if summary is not None else []):
        name = name or _("（未命名项目）")
        if amount <= 0:
            messages.append(_("“%(name)s”的资助金额必须大于零", name=name))
        if amount > requested:
            messages.append(_("“%(name)s”的资助金额超出申请金额 %(gap)s", name=name, gap=yuan(amount - requested)))
    return messages


def _project(award) -> str:
    app = getattr(award, "application", None)
    return app.display_name if app is not None else str(award.application_id)


def _requested(award) -> int | None:
    app = getattr(award, "application", None)
    return app.requested_fen if app is not None else None


def _split_is_set(award: Award) -> bool:
    """The split an officer set on a draft stays as set (approved/confirmed awards keep theirs anyway)."""
    return award.status != AwardStatus.DRAFT or award.allocation_set_by_id is not None


def reallocate(call: Call) -> None:
    """Recharge the draft awards to the funding sources in rank order (approved/confirmed keep theirs, and so
    do drafts whose split an officer set)."""
    awards = awards_of(call)
    sources = list(call.funding_sources)
    remaining = {s.id: s.amount_fen for s in sources}
    for award in awards:
        if _split_is_set(award):
            for alloc in award.allocations:
                remaining[alloc.funding_source_id] -= alloc.amount_fen
    for award in awards:
        if _split_is_set(award):
            continue
        _charge(award, sources, remaining)
    db.session.flush()


def _charge(award: Award, sources, remaining: dict[int, int]) -> None:
    shares = allocate_whole_yuan(award.amount_fen, [remaining[s.id] for s in sources])
    award.allocations.clear()
    db.session.flush()
    for source, share in zip(sources, shares):
        if share > 0:
            award.allocations.append(AwardAllocation(funding_source_id=source.id, amount_fen=share))
            remaining[source.id] -= share


def _remaining(call: Call, awards: list[Award]) -> tuple[int, dict[int | None, int | None]]:
    """Budget left overall and per category quota (None = no quota) after `awards`."""
    usage = budget_usage(call, awards)
    per_category = {c.id: (None if c.quota_fen is None else c.quota_fen - usage["by_category"].get(c.id, 0))
                    for c in call.categories}
    return call.total_budget_fen - usage["total"], per_category


# --- drafting -----------------------------------------------------------------------

def _require_draftable(call: Call) -> None:
    if call.status != CallStatus.REVIEWING:
        raise AwardError(_("只有“评审中”的活动才能编制资助方案"))
    if any(a.status != AwardStatus.DRAFT for a in awards_of(call)):
        raise AwardError(_("资助方案已审批，不能再修改"))


def propose_awards(call: Call, actor) -> list[Award]:
    """Draft the award list from the ranking: rank order, at the requested amount, within every quota.

    An application that does not fit what is left of its category quota or of the budget is skipped and
    the next one is tried. Replaces an earlier (unapproved) draft.
    """
    _require_draftable(call)
    for award in awards_of(call, active_only=False):
        if award.status == AwardStatus.DRAFT:
            db.session.delete(award)
    db.session.flush()
    budget_left, quota_left = _remaining(call, [])
    proposed: list[Award] = []
    ranking = ranking_for(call)
    from grants.applications.duplicates import confirmed_duplicate_ids

    duplicates = confirmed_duplicate_ids(r.application.id for r in ranking)
    for row in ranking:
        app = row.application
        if app.status not in AWARDABLE or app.requested_fen <= 0:
            continue
        # Below the 分数线, or confirmed a duplicate: not funded, whatever budget is left.
        if below_score_line(call, row.final_score) or app.id in duplicates:
            continue
        amount = app.requested_fen
        quota = quota_left.get(app.category_id)
        if amount > budget_left or (quota is not None and amount > quota):
            continue
        award = Award(call_id=call.id, application_id=app.id, organization_id=app.organization_id,
                      category_id=app.category_id, amount_fen=amount, status=AwardStatus.DRAFT,
                      rank=row.rank_overall, adjustment_reason="", cancelled_reason="", proposed_by_id=actor.id,
                      created_at=now())
        award.application = app
        db.session.add(award)
        proposed.append(award)
        budget_left -= amount
        if quota is not None:
            quota_left[app.category_id] = quota - amount
    db.session.flush()
    reallocate(call)
    record(actor, "award.propose", call, after={"awards": [[a.application_id, a.amount_fen] for a in proposed]})
    _tell_approvers(call, proposed, actor)
    return proposed


def _tell_approvers(call: Call, proposed: list[Award], actor) -> None:
    """The plan waits for a second officer (four eyes): the unit's other officers are told."""
    from grants.reminders.notices import send_notice, unit_staff

    if not proposed:
        return
    others = [u for u in unit_staff(call.host_unit_id, Role.OFFICER) if u.id != actor.id]
    send_notice("award_plan_approval", others, link=f"/awards/calls/{call.id}", call=call.title,
                proposer=actor.display_name or actor.username, count=len(proposed),
                total=yuan(sum(a.amount_fen for a in proposed)))


def _check_or_raise(call: Call, awards: list[Award]) -> None:
    problems = budget_check(call, awards)
    if problems:
        raise AwardError(problems[0], problems)


def adjust_award(award: Award, amount_fen: int, reason: str, actor) -> Award:
    """Change a draft award's amount (never above the requested amount nor beyond a budget), with a reason."""
    call = award.call
    _require_draftable(call)
    reason = (reason or "").strip()
    if not reason:
        raise AwardError(_("请填写调整理由"), field="reason")
    if amount_fen is None or amount_fen <= 0:
        raise AwardError(_("资助金额必须大于零"), field="amount")
    if amount_fen > award.application.requested_fen:
        raise AwardError(_("资助金额不能超过申请金额 %(req)s", req=yuan(award.application.requested_fen)),
                         field="amount")
    before = award.amount_fen
    _check_or_raise(call, [_Hypo(a, amount_fen if a.id == award.id else a.amount_fen) for a in awards_of(call)])
    award.amount_fen = amount_fen
    award.adjustment_reason = reason[:500]
    award.proposed_by_id = actor.id
    # A new amount needs a new split: back to the proposed one (the officer may set it again).
    award.allocation_set_by_id = None
    db.session.flush()
    reallocate(call)
    record(actor, "award.adjust", award, before={"amount_fen": before},
           after={"amount_fen": amount_fen, "reason": reason})
    return award


class _Hypo:
    """An award as it would be after a change, for budget_check (allocations are recomputed, not read)."""

    def __init__(self, award: Award | None = None, amount_fen: int = 0, *, application=None, category_id=None):
        self.application = application if application is not None else award.application
        self.application_id = self.application.id
        self.category_id = category_id if award is None else award.category_id
        self.amount_fen = amount_fen
        self.status = AwardStatus.DRAFT if award is None else award.status
        self.allocations: list = []


def set_award_allocation(award: Award, shares: dict[int, int], actor) -> Award:
    """The officer sets a draft award's split across the call's funding sources (资金来源分摊): the parts add up
    to the award's amount and none is above what its source has left; the other drafts are then recharged
    (and the change refused when they no longer fit)."""
    call = award.call
    _require_draftable(call)
    if award.status != AwardStatus.DRAFT:
        raise AwardError(_("只有草案中的资助才能设定资金来源分摊"))
    sources = {s.id: s for s in call.funding_sources}
    if not sources:
        raise AwardError(_("该活动没有设置资金来源"))
    unknown = set(shares) - set(sources)
    if unknown:
        raise AwardError(_("资金来源不属于该活动"))
    problems = []
    for fs_id, fen in shares.items():
        if fen is None or fen < 0:
            problems.append(_("“%(name)s”的金额不能为负数", name=sources[fs_id].label))
    if problems:
        raise AwardError(problems[0], problems)
    total = sum(shares.values())
    if total != award.amount_fen:
        raise AwardError(_("各资金来源合计 %(total)s，与资助金额 %(amount)s 不一致（相差 %(gap)s）",
                           total=yuan(total), amount=yuan(award.amount_fen), gap=yuan(abs(total - award.amount_fen))),
                         field="allocation")
    room = source_room(call, award)
    # Drafts not set by hand are recharged after this one, so they do not limit it; set ones do.
    for other in awards_of(call):
        if other.id != award.id and not _split_is_set(other):
            for alloc in other.allocations:
                room[alloc.funding_source_id] += alloc.amount_fen
    for fs_id, fen in sorted(shares.items()):
        if fen > room.get(fs_id, 0):
            problems.append(_("资金来源“%(name)s”剩余额度 %(room)s，不足以安排 %(fen)s", name=sources[fs_id].label,
                              room=yuan(max(room.get(fs_id, 0), 0)), fen=yuan(fen)))
    if problems:
        raise AwardError(problems[0], problems, field="allocation")
    before = {a.funding_source_id: a.amount_fen for a in award.allocations}
    award.allocations.clear()
    db.session.flush()
    for fs_id, fen in sorted(shares.items()):
        if fen > 0:
            award.allocations.append(AwardAllocation(funding_source_id=fs_id, amount_fen=fen))
    award.allocation_set_by_id = actor.id
    award.proposed_by_id = actor.id
    db.session.flush()
    reallocate(call)
    record(actor, "award.set_allocation", award, before={"allocations": {str(k): v for k, v in before.items()}},
           after={"allocations": {str(k): v for k, v in sorted(shares.items()) if v}})
    return award


def reset_award_allocation(award: Award, actor) -> Award:
    """Accept the proposed split again (按建议分摊): the award is recharged with the other drafts in rank order."""
    call = award.call
    _require_draftable(call)
    if award.allocation_set_by_id is None:
        raise AwardError(_("该项目已按建议分摊，无需恢复"))
    before = {a.funding_source_id: a.amount_fen for a in award.allocations}
    award.allocation_set_by_id = None
    award.proposed_by_id = actor.id
    db.session.flush()
    reallocate(call)
    record(actor, "award.reset_allocation", award, before={"allocations": {str(k): v for k, v in before.items()}},
           after={"allocations": {str(a.funding_source_id): a.amount_fen for a in award.allocations}})
    return award


def exclude_award(award: Award, reason: str, actor) -> None:
    """Take an application off the draft list, with a reason (the draft award is deleted, the reason audited)."""
    call = award.call
    _require_draftable(call)
    reason = (reason or "").strip()
    if not reason:
        raise AwardError(_("请填写不予资助的理由"), field="reason")
    record(actor, "award.exclude", call, before={"application_id": award.application_id,
                                                 "amount_fen": award.amount_fen}, after={"reason": reason})
    db.session.delete(award)
    db.session.flush()
    reallocate(call)


def include_application(call: Call, application: Application, amount_fen: int, reason: str, actor) -> Award:
    """Put a ranked application on the draft list by hand (out of rank order), within every budget."""
    _require_draftable(call)
    reason = (reason or "").strip()
    if application.call_id != call.id or application.status not in AWARDABLE:
        raise AwardError(_("该申报不在可资助之列"))
    if db.session.scalar(sa.select(Award.id).where(Award.application_id == application.id)) is not None:
        raise AwardError(_("该申报已在资助方案中"))
    if not reason:
        raise AwardError(_("请填写调整理由"), field="reason")
    if amount_fen is None or amount_fen <= 0:
        raise AwardError(_("资助金额必须大于零"), field="amount")
    if amount_fen > application.requested_fen:
        raise AwardError(_("资助金额不能超过申请金额 %(req)s", req=yuan(application.requested_fen)), field="amount")
    from grants.applications.duplicates import confirmed_duplicate_ids

    if confirmed_duplicate_ids([application.id]):
        raise AwardError(_("该申报已认定为重复申报/重复资助，不能纳入资助方案"))
    current = awards_of(call)
    _check_or_raise(call, current + [_Hypo(None, amount_fen, application=application,
                                             category_id=application.category_id)])
    rank = None
    for row in _safe_ranking(call):
        if row.application.id == application.id:
            rank = row.rank_overall
            if below_score_line(call, row.final_score):
                raise AwardError(_("该项目最终得分 %(score)s 低于本活动的资助分数线 %(line)s，不能纳入资助方案",
                                   score=row.final_score, line=call.min_final_score))
    award = Award(call_id=call.id, application_id=application.id, organization_id=application.organization_id,
                  category_id=application.category_id, amount_fen=amount_fen, status=AwardStatus.DRAFT, rank=rank,
                  adjustment_reason=reason[:500], cancelled_reason="", proposed_by_id=actor.id, created_at=now())
    db.session.add(award)
    db.session.flush()
    reallocate(call)
    record(actor, "award.include", award, after={"application_id": application.id, "amount_fen": amount_fen,
                                                 "reason": reason})
    return award


def _safe_ranking(call: Call) -> list:
    try:
        return ranking_for(call)
    except ImportError:
        return []


# --- approval and notice ----------------------------------------------------------------

def approval_problem(call: Call, actor) -> str | None:
    """Why `actor` may not approve the draft now (None when they may)."""
    drafts = [a for a in awards_of(call) if a.status == AwardStatus.DRAFT]
    if call.status != CallStatus.REVIEWING or not drafts:
        return _("没有待审批的资助方案")
    if not actor.has_role(Role.ADMIN) and any(a.proposed_by_id == actor.id for a in drafts):
        return _("资助方案须由编制人以外的另一名工作人员（或管理员）审批")
    problems = budget_check(call, summary=AwardSummary(call))
    if problems:
        return problems[0]
    return duplicate_problem(drafts)


def duplicate_problem(drafts: list[Award]) -> str | None:
    """重复申报: a draft may not be approved while one of its projects is flagged and not yet decided on, or
    was confirmed a duplicate (it must be taken off the list)."""
    from grants.applications.duplicates import duplicate_flags, reviews_of

    apps = [a.application for a in drafts]
    flags = duplicate_flags(apps)
    reviews = reviews_of(flags)
    confirmed = [a for a in apps if a.id in reviews and reviews[a.id].decision == "confirmed"]
    if confirmed:
        return _("“%(name)s”已认定为重复申报/重复资助，须先移出资助方案", name=confirmed[0].display_name)
    undecided = [a for a in apps if flags[a.id] and a.id not in reviews]
    if undecided:
        return _("%(n)s 个项目有重复申报/重复资助提示尚未认定（如“%(name)s”），请先在项目上作出认定",
                 n=len(undecided), name=undecided[0].display_name)
    return None


def below_score_line(call: Call, final_score) -> bool:
    """分数线: a project scoring below the call's minimum final score is not funded."""
    return call.min_final_score is not None and (final_score is None or final_score < call.min_final_score)


def approve_awards(call: Call, actor) -> list[Award]:
    """Approve the draft award list: by another officer than whoever drafted or changed it, or an admin."""
    problem = approval_problem(call, actor)
    if problem:
        raise AwardError(problem)
    drafts = [a for a in awards_of(call) if a.status == AwardStatus.DRAFT]
    at = now()
    for award in drafts:
        AWARD_WORKFLOW.transition(award, "approve", actor, roles=_roles(actor), audit=False)
        award.approved_by_id = actor.id
        award.approved_at = at
    db.session.flush()
    record(actor, "award.approve", call, after={"awards": [[a.application_id, a.amount_fen] for a in drafts]})
    return drafts


def reopen_awards(call: Call, reason: str, actor) -> list[Award]:
    """退回修改: an approved (not yet published) award list goes back to draft, with a reason."""
    reason = (reason or "").strip()
    awards = awards_of(call)
    if call.status != CallStatus.REVIEWING or notice_of(call) is not None or not awards \
            or any(a.status != AwardStatus.APPROVED for a in awards):
        raise AwardError(_("只有已审批、尚未公示的资助方案才能退回修改"))
    if not reason:
        raise AwardError(_("请填写退回理由"), field="reason")
    for award in awards:
        AWARD_WORKFLOW.transition(award, "reopen", actor, roles=_roles(actor), audit=False)
        award.approved_by_id = None
        award.approved_at = None
    db.session.flush()
    record(actor, "award.reopen", call, after={"reason": reason})
    return awards


def notice_period(call: Call, from_day: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """公示 dates: starts the next working day and lasts call.notice_working_days working days.

    Raises AwardError with a clear warning when a day falls in a year whose holidays nobody knows yet.
    """
    day = from_day or today_local()
    try:
        start = workdays.add_working_days(day, 1)
        end = workdays.add_working_days(start, call.notice_working_days - 1)
    except CalendarUnknown as exc:
        year = str(exc).split(" ", 1)[0].rstrip("年")
        raise AwardError(_("公示期落在 %(year)s 年，系统尚未录入该年的法定节假日和调休安排，无法准确计算工作日。"
                           "请联系管理员在“节假日设置”（%(url)s）录入后再发布公示。", year=year, url=HOLIDAYS_URL))
    return start, end


def publish_notice(call: Call, actor, *, show_panel_names: bool = False) -> PublicNotice:
    """Publish the approved award list (公示): the call enters the notice stage, the applications are awarded."""
    if call.status != CallStatus.REVIEWING:
        raise AwardError(_("只有“评审中”的活动才能发布公示"))
    awards = awards_of(call)
    if not awards or any(a.status != AwardStatus.APPROVED for a in awards):
        raise AwardError(_("资助方案审批通过后才能发布公示"))
    if notice_of(call) is not None:
        raise AwardError(_("该活动已发布公示"))
    starts_on, ends_on = notice_period(call)
    notice = PublicNotice(call_id=call.id, starts_on=starts_on, ends_on=ends_on, published_at=now(),
                          published_by_id=actor.id, show_panel_names=bool(show_panel_names))
    db.session.add(notice)
    try:
        CALL_WORKFLOW.transition(call, "start_notice", actor, roles=_roles(actor))
        for award in awards:
            APPLICATION_WORKFLOW.transition(award.application, "award", actor, roles=_roles(actor),
                                            detail={"amount_fen": award.amount_fen})
    except IllegalTransition as exc:
        raise AwardError(exc.message)
    db.session.flush()
    record(actor, "notice.publish", notice, after={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
    for award in awards:
        _tell_proposed(award, notice)
    return notice


def _tell_proposed(award: Award, notice: PublicNotice) -> None:
    """拟资助: the organisation hears the amount, any cut and its reason, and where the 公示 is."""
    from grants.reminders.notices import absolute_url, organization_people, send_notice

    app = award.application
    adjusted = award.amount_fen != app.requested_fen or bool(award.adjustment_reason)
    send_notice("award_proposed", organization_people(award.organization_id),
                link=f"/applications/{app.id}/status", project=app.display_name,
                organization=app.organization.name, call=award.call.title, number=app.number or "",
                amount=yuan(award.amount_fen), requested=yuan(app.requested_fen),
                reason=award.adjustment_reason if adjusted else "", notice_from=notice.starts_on.isoformat(),
                notice_to=notice.ends_on.isoformat(), notice_url=absolute_url(f"/public/notices/{award.call_id}"))


def _roles(actor) -> set[str]:
    return set(getattr(actor, "role_names", ()) or ())


# --- objections -------------------------------------------------------------------

# What an objector may attach as evidence (证明材料), and how many files.
EVIDENCE_TYPES = ("pdf", "jpg", "jpeg", "png", "docx", "doc")
MAX_EVIDENCE_FILES = 5
def _receipt_no() -> str:
    """A receipt number no objection has yet (a clash of 32⁶ random codes on one day is unlikely, not impossible)."""
    while True:
        code = new_receipt_no()
        if db.session.scalar(sa.select(Objection.id).where(Objection.receipt_no == code)) is None:
            return code


def file_objection(notice: PublicNotice, application: Application, *, name: str, contact: str, content: str,
                   evidence: Iterable = ()) -> Objection:
    """Anyone files an objection during the notice, from its first day to its end (server clock); the
    objection gets a receipt number, sent to the contact when it is an e-mail address or a mobile number.
    Evidence files pass the same checks as every upload."""
    if notice.finalized_at is not None or now() >= notice.closes_at:
        raise AwardError(_("公示期已结束，不再受理异议"))
    if not notice.has_started:
        raise AwardError(_("公示期自 %(d)s 开始，届时方可提出异议", d=notice.starts_on.isoformat()))
    name, contact, content = (name or "").strip(), (contact or "").strip(), (content or "").strip()
    if not name:
        raise AwardError(_("请填写姓名或单位名称"), field="objector_name")
    if not contact:
        raise AwardError(_("请填写联系方式"), field="contact")
    if len(content) < 10:
        raise AwardError(_("请具体说明异议的事实和理由（至少 10 个字）"), field="content")
    award = db.session.scalar(sa.select(Award).where(Award.application_id == application.id,
                                                     Award.call_id == notice.call_id))
    if award is None or award.status not in ACTIVE_AWARD_STATUSES:
        raise AwardError(_("请选择公示名单中的项目"), field="application_id")
    uploads = [f for f in evidence if f is not None and getattr(f, "filename", "")]
    if len(uploads) > MAX_EVIDENCE_FILES:
        raise AwardError(_("证明材料最多 %(n)s 个文件", n=MAX_EVIDENCE_FILES), field="evidence")
    objection = Objection(notice_id=notice.id, application_id=application.id, award_id=award.id,
                          objector_name=name[:50], contact=contact[:100], content=content[:5000],
                          status=ObjectionStatus.OPEN, handling_reason="", filed_at=now(), receipt_no=_receipt_no())
    for upload in uploads:
        try:
            stored = save_upload(upload, allowed=EVIDENCE_TYPES)
        except UploadRejected as exc:
            raise AwardError(_("证明材料“%(f)s”：%(m)s", f=safe_display_name(upload.filename), m=exc.message),
                             field="evidence")
        objection.evidence.append(ObjectionEvidence(stored_file=stored))
    db.session.add(objection)
    db.session.flush()
    record(None, "objection.file", objection, after={"application_id": application.id,
                                                     "receipt_no": objection.receipt_no,
                                                     "evidence": [e.stored_file_id for e in objection.evidence]})
    _notify_officers(notice, objection)
    _send_receipt(notice, objection)
    return objection


def _send_receipt(notice: PublicNotice, objection: Objection) -> None:
    """The receipt goes to the objector's e-mail or mobile (when reminders are installed and it is one)."""
    try:
        from grants.reminders.services import notify_contact
    except ImportError:
        return
    from flask import url_for

    notify_contact(objection.contact, _("异议受理回执：%(no)s", no=objection.receipt_no),
                   _("您对“%(call)s”公示项目“%(name)s”提出的异议已受理，回执号 %(no)s。工作人员将在核实后与您联系，"
                     "查询时请提供回执号。", call=notice.call.title, name=objection.application.display_name,
                     no=objection.receipt_no),
                   link=url_for("awards.public_notice", call_id=notice.call_id))


def _notify_officers(notice: PublicNotice, objection: Objection) -> None:
    """Tell the officers of the call's unit that an objection waits for them."""
    from grants.reminders.notices import send_notice, unit_staff

    call = notice.call
    app = objection.application
    send_notice("objection_received", unit_staff(call.host_unit_id, Role.OFFICER),
                link=f"/awards/calls/{call.id}/notice#objection-{objection.id}", project=app.display_name,
                organization=app.organization.name, call=call.title)


def handle_objection(objection: Objection, decision: str, reason: str, actor, *, promote: bool = False) -> Award | None:
    """Uphold (the award and the application are cancelled; optionally the next ranked application within
    budget is promoted) or reject an objection, with a reason. Returns the promoted award, if any."""
    if objection.status != ObjectionStatus.OPEN:
        raise AwardError(_("该异议已处理"))
    if objection.notice.finalized_at is not None:
        raise AwardError(_("公示已结束定项"))
    reason = (reason or "").strip()
    if not reason:
        raise AwardError(_("请填写处理理由"), field="reason")
    if decision not in ("uphold", "reject"):
        raise AwardError(_("请选择处理结果"), field="decision")
    objection.handling_reason = reason[:1000]
    objection.handled_by_id = actor.id
    objection.handled_at = now()
    promoted = None
    if decision == "reject":
        OBJECTION_WORKFLOW.transition(objection, "reject", actor, roles=_roles(actor), audit=False)
        record(actor, "objection.reject", objection, after={"reason": reason})
        return None
    OBJECTION_WORKFLOW.transition(objection, "uphold", actor, roles=_roles(actor), audit=False)
    record(actor, "objection.uphold", objection, after={"reason": reason})
    award = objection.award
    if award is not None and award.status in ACTIVE_AWARD_STATUSES:
        cancel_award(award, reason, actor)
    if promote:
        promoted = promote_next(objection.notice.call, actor, reason=reason)
    return promoted


def cancel_award(award: Award, reason: str, actor) -> None:
    """Cancel an award (objection upheld): its budget is freed, the application is cancelled."""
    before = award.status
    AWARD_WORKFLOW.transition(award, "cancel", actor, roles=_roles(actor), audit=False)
    award.cancelled_reason = reason[:500]
    award.allocations.clear()
    if award.application.status == ApplicationStatus.AWARDED:
        try:
            APPLICATION_WORKFLOW.transition(award.application, "cancel", actor, roles=_roles(actor),
                                            detail={"reason": reason})
        except IllegalTransition as exc:
            raise AwardError(exc.message)
    db.session.flush()
    record(actor, "award.cancel", award, before={"status": before}, after={"status": "cancelled", "reason": reason})
    from grants.reminders.notices import organization_people, send_notice

    app = award.application
    send_notice("award_cancelled", organization_people(award.organization_id), link=f"/applications/{app.id}/status",
                project=app.display_name, organization=app.organization.name, call=award.call.title, reason=reason)


def promotion_candidate(call: Call, *, freeing: Award | None = None, ranking: list | None = None,
                        awards: list[Award] | None = None, taken: set[int] | None = None):
    """The best-ranked unfunded application whose requested amount fits what is left (total and quota),
    counting `freeing` (an award about to be cancelled) as already freed. Pages asking for several
    objections pass the ranking, the active awards and the taken application ids once."""
    if awards is None:
        awards = awards_of(call)
    awards = [a for a in awards if freeing is None or a.id != freeing.id]
    budget_left, quota_left = _remaining(call, awards)
    if taken is None:
        taken = set(db.session.scalars(sa.select(Award.application_id).where(Award.call_id == call.id)))
    for row in (ranking if ranking is not None else ranking_for(call)):
        app = row.application
        if app.id in taken or app.status not in AWARDABLE or app.requested_fen <= 0:
            continue
        quota = quota_left.get(app.category_id)
        if app.requested_fen <= budget_left and (quota is None or app.requested_fen <= quota):
            return row
    return None


def promote_next(call: Call, actor, *, reason: str = "") -> Award | None:
    """递补: award the next ranked application that fits the budget (approved at once, shown on the notice)."""
    row = promotion_candidate(call)
    if row is None:
        return None
    app = row.application
    at = now()
    award = Award(call_id=call.id, application_id=app.id, organization_id=app.organization_id,
                  category_id=app.category_id, amount_fen=app.requested_fen, status=AwardStatus.APPROVED,
                  rank=row.rank_overall, adjustment_reason=_("递补：%(reason)s", reason=reason)[:500],
                  cancelled_reason="", proposed_by_id=actor.id, approved_by_id=actor.id, approved_at=at, created_at=at)
    db.session.add(award)
    db.session.flush()
    sources = list(call.funding_sources)
    remaining = {s.id: s.amount_fen for s in sources}
    for other in awards_of(call):
        if other.id != award.id:
            for alloc in other.allocations:
                remaining[alloc.funding_source_id] -= alloc.amount_fen
    _charge(award, sources, remaining)
    try:
        APPLICATION_WORKFLOW.transition(app, "award", actor, roles=_roles(actor),
                                        detail={"amount_fen": award.amount_fen, "promoted": True})
    except IllegalTransition as exc:
        raise AwardError(exc.message)
    db.session.flush()
    record(actor, "award.promote", award, after={"application_id": app.id, "amount_fen": award.amount_fen})
    notice = notice_of(call)
    if notice is not None:
        _tell_proposed(award, notice)
    return award


# --- finalize -------------------------------------------------------------------------

def finalize_problems(call: Call) -> list[str]:
    notice = notice_of(call)
    if call.status != CallStatus.NOTICE or notice is None:
        return [_("只有公示中的活动才能定项")]
    problems = []
    if not notice.has_ended:
        problems.append(_("公示期至 %(day)s 结束，结束后才能定项", day=notice.ends_on.isoformat()))
    n_open = open_objections(notice)
    if n_open:
        problems.append(_("还有 %(n)s 条异议未处理", n=n_open))
    return problems


def finalize_notice(call: Call, actor) -> list[Award]:
    """After the notice ends with every objection handled: awards confirmed, the rest not awarded, notified."""
    problems = finalize_problems(call)
    if problems:
        raise AwardError(problems[0], problems)
    notice = notice_of(call)
    at = now()
    confirmed = []
    roles = _roles(actor)
    try:
        for award in awards_of(call):
            AWARD_WORKFLOW.transition(award, "confirm", actor, roles=roles, audit=False)
            award.confirmed_at = at
            APPLICATION_WORKFLOW.transition(award.application, "confirm", actor, roles=roles)
            confirmed.append(award)
        unfunded = list(db.session.scalars(sa.select(Application).where(
            Application.call_id == call.id, Application.status.in_(UNDECIDED))))
        for app in unfunded:
            APPLICATION_WORKFLOW.transition(app, "reject", actor, roles=roles)
        CALL_WORKFLOW.transition(call, "finalize", actor, roles=roles)
    except IllegalTransition as exc:
        raise AwardError(exc.message)
    notice.finalized_at = at
    db.session.flush()
    record(actor, "notice.finalize", notice, after={"confirmed": [a.id for a in confirmed],
                                                    "not_awarded": [a.id for a in unfunded]})
    _notify_applicants(call, confirmed, unfunded)
    return confirmed


def _notify_applicants(call: Call, confirmed: list[Award], unfunded: list[Application]) -> None:
    """Tell each organisation's members the outcome: 立项 with the amount, or not funded with the feedback."""
    from grants.reminders.notices import organization_people, send_notice

    for award in confirmed:
        app = award.application
        send_notice("award_confirmed", organization_people(award.organization_id),
                    link=f"/applications/{app.id}/status", project=app.display_name,
                    organization=app.organization.name, call=call.title, amount=yuan(award.amount_fen))
    for app in unfunded:
        send_notice("not_funded", organization_people(app.organization_id),
                    link=f"/awards/applications/{app.id}/feedback", project=app.display_name,
                    organization=app.organization.name, call=call.title, number=app.number or "")
