"""品牌项目评选: open a selection over finished projects, nominate (or accept a self-nomination), build the
panel from the expert pool, detect and declare conflicts, score, rank with the review arithmetic, decide
the winners and publish them. Services audit what they change and never commit."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.accounts.models import Role, User
from grants.brand.models import (
    Aggregation, BrandConflict, BrandCriterion, BrandNomination, BrandPanelMember, BrandReview, BrandScore,
    BrandSelection, NominationSource, NominationStatus, SelectionStatus,
)
from grants.brand.states import NOMINATION_WORKFLOW, SELECTION_WORKFLOW
from grants.contracts.models import Contract, ContractStatus
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.inputs import int_or_none, parse_int
from grants.core.states import IllegalTransition
from grants.core.timeutil import format_local, now
from grants.extensions import db
from grants.organizations.models import Organization
from grants.reviews import scoring
from grants.reviews.services import auto_conflict_reason, expert_facts

# The usual 品牌项目 rubric when the officer gives none: full marks weigh each criterion.
DEFAULT_CRITERIA = [("项目成效", 30), ("社会影响", 25), ("创新性", 20), ("可持续与可推广", 15), ("规范管理", 10)]


class BrandError(DomainError):
    """A rule of the selection was broken; the message is shown to the user (in Chinese)."""


def _audit(actor, action: str, obj, selection: BrandSelection, **kw):
    return record(actor, action, obj, host_unit_id=selection.host_unit_id, **kw)


def _transition(selection: BrandSelection, action: str, actor, **detail) -> None:
    try:
        SELECTION_WORKFLOW.transition(selection, action, actor, detail=detail or None)
    except IllegalTransition as exc:
        raise BrandError(exc.message) from exc


def parse_criteria(text: str) -> list[tuple[str, int]]:
    """'项目成效 30' per line (or 项目成效：30) → [(name, full marks)]; raises BrandError on a bad line."""
    out: list[tuple[str, int]] = []
    for raw in (text or "").splitlines():
        line = raw.strip().replace("：", " ").replace(":", " ").replace("，", " ").replace(",", " ")
        if not line:
            continue
        name, _sep, points = line.rpartition(" ")
        name = name.strip()
        if not name or int_or_none(points, minimum=1, maximum=100) is None:
            raise BrandError(_("评分细则“%(l)s”格式不正确：每行写“名称 分值”，分值为 1 到 100", l=raw.strip()),
                             field="criteria")
        if name in [n for n, _p in out]:
            raise BrandError(_("评分项“%(n)s”重复", n=name), field="criteria")
        out.append((name[:50], parse_int(points)))
    return out


def criteria_text(selection: BrandSelection | None) -> str:
    rows = [(c.name, c.max_points) for c in selection.criteria] if selection else DEFAULT_CRITERIA
    return "\n".join(f"{n} {p}" for n, p in rows)


# --- the selection ----------------------------------------------------------------------------------

def eligible_contracts_stmt(selection: BrandSelection):
    """Completed contracts (结项) of calls in the selection's unit subtree, of the chosen calls if any."""
    from grants.calls.models import Call
    from grants.organizations.services import unit_subtree_ids

    stmt = (sa.select(Contract).join(Call, Call.id == Contract.call_id)
            .where(Contract.status == ContractStatus.COMPLETED,
                   Call.host_unit_id.in_(unit_subtree_ids(selection.host_unit_id))))
    if selection.call_ids:
        stmt = stmt.where(Contract.call_id.in_(selection.call_ids))
    return stmt


def eligible_contracts(selection: BrandSelection, organization_id: int | None = None) -> list[Contract]:
    """One query; the final grade comes with each contract's application (selectin)."""
    from sqlalchemy.orm import selectinload

    stmt = eligible_contracts_stmt(selection).options(selectinload(Contract.application))
    if organization_id is not None:
        stmt = stmt.where(Contract.organization_id == organization_id)
    return list(db.session.scalars(stmt.order_by(Contract.number)).unique())


def is_eligible(selection: BrandSelection, contract: Contract) -> bool:
    return db.session.scalar(eligible_contracts_stmt(selection).where(Contract.id == contract.id)
                             .with_only_columns(Contract.id)) is not None


def put_forward_offers(organization_id: int) -> list[tuple[BrandSelection, list[Contract]]]:
    """The selections open for nominations in which the organisation has finished projects not yet put up,
    with those projects: four queries whatever the number of selections (组织自荐 page)."""
    from grants.calls.models import Call
    from grants.organizations.models import HostUnit

    selections = db.session.scalars(sa.select(BrandSelection).where(
        BrandSelection.status == SelectionStatus.NOMINATING).order_by(BrandSelection.id)).unique().all()
    if not selections:
        return []
    children: dict[int | None, list[int]] = defaultdict(list)
    for uid, parent in db.session.execute(sa.select(HostUnit.id, HostUnit.parent_id)):
        children[parent].append(uid)

    def subtree(unit_id: int) -> set[int]:
        out, stack = set(), [unit_id]
        while stack:
            uid = stack.pop()
            if uid not in out:
                out.add(uid)
                stack.extend(children.get(uid, []))
        return out

    done = db.session.execute(sa.select(Contract, Call.host_unit_id).join(Call, Call.id == Contract.call_id).where(
        Contract.organization_id == organization_id, Contract.status == ContractStatus.COMPLETED)
        .order_by(Contract.number)).unique().all()
    taken = {(sid, cid) for sid, cid in db.session.execute(sa.select(
        BrandNomination.selection_id, BrandNomination.contract_id).where(
        BrandNomination.organization_id == organization_id))}
    offers = []
    for sel in selections:
        units = subtree(sel.host_unit_id)
        free = [c for c, unit_id in done if unit_id in units and (not sel.call_ids or c.call_id in sel.call_ids)
                and (sel.id, c.id) not in taken]
        if free:
            offers.append((sel, free))
    return offers


def _check_fields(title: str, year: int, winners_count: int, criteria: list[tuple[str, int]]) -> None:
    if not (title or "").strip():
        raise BrandError(_("请填写评选名称"), field="title")
    if not 2000 <= int(year or 0) <= 2100:
        raise BrandError(_("年度不正确"), field="year")
    if int(winners_count or 0) < 1:
        raise BrandError(_("入选名额至少为 1"), field="winners_count")
    if not criteria:
        raise BrandError(_("请至少设置一个评分项"), field="criteria")


def _dump(s: BrandSelection) -> dict:
    return {"title": s.title, "year": s.year, "call_ids": list(s.call_ids or []), "winners_count": s.winners_count,
            "aggregation": s.aggregation, "scoring_deadline_at": s.scoring_deadline_at,
            "criteria": [[c.name, c.max_points] for c in s.criteria]}


def create_selection(host_unit_id: int, actor, *, title: str, year: int, winners_count: int,
                     scoring_deadline_at: dt.datetime, call_ids: Iterable[int] = (),
                     aggregation: str = Aggregation.MEAN,
                     criteria: list[tuple[str, int]] | None = None) -> BrandSelection:
    """An officer opens a 品牌项目评选 (in draft) for their unit."""
    criteria = list(criteria) if criteria is not None else list(DEFAULT_CRITERIA)
    _check_fields(title, year, winners_count, criteria)
    s = BrandSelection(host_unit_id=host_unit_id, title=title.strip(), year=int(year), call_ids=sorted(set(call_ids)),
                       winners_count=int(winners_count), aggregation=Aggregation(aggregation),
                       scoring_deadline_at=scoring_deadline_at, status=SelectionStatus.DRAFT,
                       created_by_id=getattr(actor, "id", None))
    s.criteria = [BrandCriterion(name=n, max_points=p, sort=i) for i, (n, p) in enumerate(criteria)]
    db.session.add(s)
    db.session.flush()
    _audit(actor, "brand_selection.create", s, s, after=_dump(s))
    return s


def update_selection(s: BrandSelection, actor, *, title: str, year: int, winners_count: int,
                     scoring_deadline_at: dt.datetime, call_ids: Iterable[int], aggregation: str,
                     criteria: list[tuple[str, int]]) -> BrandSelection:
    """Change a selection. Once scoring started only the title, the number of winners and the deadline
    (e.g. extended for a late expert) may change: the rubric, the calls and the aggregation are fixed."""
    if s.status not in (SelectionStatus.DRAFT, SelectionStatus.NOMINATING, SelectionStatus.SCORING):
        raise BrandError(_("评选已确定结果，不能修改设置"))
    _check_fields(title, year, winners_count, criteria)
    if s.status == SelectionStatus.SCORING and (
            [(c.name, c.max_points) for c in s.criteria] != criteria or sorted(set(call_ids)) != sorted(s.call_ids)
            or aggregation != s.aggregation or int(year) != s.year):
        raise BrandError(_("专家评审开始后只能修改评选名称、入选名额和评分截止时间"), field="criteria")
    before = _dump(s)
    s.title, s.year, s.winners_count = title.strip(), int(year), int(winners_count)
    s.scoring_deadline_at, s.call_ids, s.aggregation = scoring_deadline_at, sorted(set(call_ids)), aggregation
    if [(c.name, c.max_points) for c in s.criteria] != criteria:
        s.criteria.clear()
        db.session.flush()  # the old rows go first: a kept name would collide with uq_brand_criterion_name
        s.criteria.extend(BrandCriterion(name=n, max_points=p, sort=i) for i, (n, p) in enumerate(criteria))
    db.session.flush()
    _audit(actor, "brand_selection.update", s, s, before=before, after=_dump(s))
    return s


def open_nominations(s: BrandSelection, actor) -> None:
    """draft → nominating: officers nominate, organisations may put their finished projects forward."""
    _transition(s, "open_nominations", actor)


def cancel_selection(s: BrandSelection, actor, reason: str) -> None:
    if not (reason or "").strip():
        raise BrandError(_("请填写取消原因"), field="reason")
    _transition(s, "cancel", actor, reason=reason.strip())


# --- nominations --------------------------------------------------------------------------------------

def _new_nomination(s: BrandSelection, contract: Contract, reason: str, actor, source: str) -> BrandNomination:
    if s.status != SelectionStatus.NOMINATING:
        raise BrandError(_("评选当前状态为“%(s)s”，不接受推荐", s=s.status_label))
    reason = (reason or "").strip()
    if not reason:
        raise BrandError(_("请填写推荐理由"), field="reason")
    if not is_eligible(s, contract):
        raise BrandError(_("只能推荐本评选范围内已结项的项目"), field="contract_id")
    existing = db.session.scalar(sa.select(BrandNomination).where(BrandNomination.selection_id == s.id,
                                                                  BrandNomination.contract_id == contract.id))
    if existing is not None:
        raise BrandError(_("项目“%(p)s”已被推荐", p=contract.project_name), field="contract_id")
    n = BrandNomination(selection_id=s.id, contract_id=contract.id, organization_id=contract.organization_id,
                        source=source, reason=reason[:5000], nominated_by_id=getattr(actor, "id", None),
                        status=NominationStatus.ACCEPTED if source == NominationSource.OFFICER
                        else NominationStatus.PROPOSED)
    db.session.add(n)
    db.session.flush()
    _audit(actor, f"brand_nomination.{'nominate' if source == NominationSource.OFFICER else 'put_forward'}", n, s,
           after={"selection_id": s.id, "contract_id": contract.id, "reason": n.reason, "status": n.status})
    return n


def nominate_project(s: BrandSelection, contract: Contract, reason: str, actor) -> BrandNomination:
    """主管推荐: an officer nominates a finished project with a written reason (accepted at once)."""
    return _new_nomination(s, contract, reason, actor, NominationSource.OFFICER)


def put_forward_project(s: BrandSelection, contract: Contract, reason: str, actor) -> BrandNomination:
    """组织自荐: the organisation of a finished project puts it forward; an officer accepts or declines."""
    membership = getattr(actor, "membership", None)
    if membership is None or not membership.is_admin or membership.organization_id != contract.organization_id:
        raise BrandError(_("只能由本组织管理员自荐本组织的项目"))
    n = _new_nomination(s, contract, reason, actor, NominationSource.SELF)
    _notify_officers_of_self_nomination(s, contract)
    return n


def _notify_officers_of_self_nomination(s: BrandSelection, contract: Contract) -> None:
    """A self-nomination waits for an officer's decision (and blocks the start of scoring): tell the
    selection's unit officers at once."""
    from grants.accounts.services import unit_officers
    from grants.reminders.notices import send_notice

    org_name = db.session.scalar(sa.select(Organization.name).where(Organization.id == contract.organization_id))
    send_notice("brand_self_nominated", unit_officers(s.host_unit_id), link=f"/brand/{s.id}#nomination-list",
                organization=org_name or "", project=contract.project_name, selection=s.title)


def accept_nomination(n: BrandNomination, actor) -> None:
    """The officer takes a self-nomination into the scoring."""
    if n.selection.status != SelectionStatus.NOMINATING or n.status != NominationStatus.PROPOSED:
        raise BrandError(_("该自荐已处理或评选已进入评审"))
    NOMINATION_WORKFLOW.transition(n, "accept", actor, audit=False)
    n.decided_by_id = actor.id
    _audit(actor, "brand_nomination.accept", n, n.selection, before={"status": "proposed"},
           after={"status": "accepted"})


def decline_nomination(n: BrandNomination, actor, reason: str) -> None:
    """The officer declines a self-nomination (with the reason the organisation will read), or withdraws
    an accepted nomination before scoring starts."""
    reason = (reason or "").strip()
    if not reason:
        raise BrandError(_("请填写不予采纳的原因"), field="reason")
    if n.selection.status != SelectionStatus.NOMINATING or n.status == NominationStatus.DECLINED:
        raise BrandError(_("该推荐已处理或评选已进入评审"))
    before = n.status
    NOMINATION_WORKFLOW.transition(n, "decline", actor, audit=False)
    n.decided_by_id, n.declined_reason = actor.id, reason[:500]
    _audit(actor, "brand_nomination.decline", n, n.selection, before={"status": before},
           after={"status": "declined", "reason": reason})


def nominations(s: BrandSelection, *, status: str | None = None) -> list[BrandNomination]:
    """The selection's nominations with their contracts and applications (for the final grade): two queries."""
    from sqlalchemy.orm import joinedload, selectinload

    stmt = (sa.select(BrandNomination).where(BrandNomination.selection_id == s.id)
            .options(joinedload(BrandNomination.contract).selectinload(Contract.application)))
    if status:
        stmt = stmt.where(BrandNomination.status == status)
    return list(db.session.scalars(stmt.order_by(BrandNomination.id)).unique())


# --- panel and conflicts ------------------------------------------------------------------------------

def invite_expert(s: BrandSelection, expert: User, actor) -> BrandPanelMember:
    """An expert of the pool joins the selection's panel (before the decision)."""
    if s.status not in (SelectionStatus.DRAFT, SelectionStatus.NOMINATING, SelectionStatus.SCORING):
        raise BrandError(_("评选已确定结果，不能再调整评审组"))
    if not expert.has_role(Role.EXPERT):
        raise BrandError(_("只能邀请专家库中的评审专家"))
    if db.session.scalar(sa.select(BrandPanelMember.id).where(BrandPanelMember.selection_id == s.id,
                                                              BrandPanelMember.user_id == expert.id)):
        raise BrandError(_("%(n)s 已在评审组中", n=expert.display_name))
    m = BrandPanelMember(selection_id=s.id, user_id=expert.id, invited_by_id=actor.id)
    db.session.add(m)
    _audit(actor, "brand_panel.invite", m, s, after={"selection_id": s.id, "expert_id": expert.id})
    if s.status == SelectionStatus.SCORING:
        detect_conflicts(s, actor)
        _notify_experts(s, [expert])
    return m


def remove_expert(m: BrandPanelMember, s: BrandSelection, actor) -> None:
    """Remove an expert who has submitted no score yet (submitted scores stay in the ranking)."""
    if s.status not in (SelectionStatus.DRAFT, SelectionStatus.NOMINATING, SelectionStatus.SCORING):
        raise BrandError(_("评选已确定结果，不能再调整评审组"))
    done = db.session.scalar(sa.select(sa.func.count()).select_from(BrandReview).join(BrandNomination).where(
        BrandNomination.selection_id == s.id, BrandReview.expert_id == m.user_id, BrandReview.status == "submitted"))
    if done:
        raise BrandError(_("该专家已提交 %(n)s 份评分，不能移出评审组", n=done))
    _audit(actor, "brand_panel.remove", m, s, before={"selection_id": s.id, "expert_id": m.user_id})
    db.session.delete(m)


def panel(s: BrandSelection) -> list[BrandPanelMember]:
    return list(db.session.scalars(sa.select(BrandPanelMember).where(BrandPanelMember.selection_id == s.id)
                                   .order_by(BrandPanelMember.id)).unique())


def is_panel_member(s: BrandSelection, user) -> bool:
    return db.session.scalar(sa.select(BrandPanelMember.id).where(BrandPanelMember.selection_id == s.id,
                                                                  BrandPanelMember.user_id == user.id)) is not None


def conflict_for(expert_id: int, nomination_id: int) -> BrandConflict | None:
    return db.session.scalar(sa.select(BrandConflict).where(BrandConflict.expert_id == expert_id,
                                                            BrandConflict.nomination_id == nomination_id))


def _auto_reason(expert_id: int, n: BrandNomination) -> str | None:
    """The review domain's rule: the expert works for, is linked to or is a member of the organisation."""
    facts = expert_facts([expert_id])[expert_id]
    return auto_conflict_reason(facts, n.organization_id, n.contract.organization.name)


def detect_conflicts(s: BrandSelection, actor) -> int:
    """Record automatic conflicts for every panel expert × accepted nomination; returns how many were new."""
    experts = [m.user_id for m in panel(s)]
    rows = db.session.execute(sa.select(BrandNomination.id, BrandNomination.organization_id, Organization.name)
                              .join(Organization, Organization.id == BrandNomination.organization_id)
                              .where(BrandNomination.selection_id == s.id,
                                     BrandNomination.status == NominationStatus.ACCEPTED)).all()
    facts = expert_facts(experts)
    existing = {(c.expert_id, c.nomination_id): c for c in db.session.scalars(
        sa.select(BrandConflict).join(BrandNomination).where(BrandNomination.selection_id == s.id))}
    found = 0
    for expert_id in sorted(experts):
        for nid, org_id, org_name in rows:
            reason = auto_conflict_reason(facts[expert_id], org_id, org_name)
            row = existing.get((expert_id, nid))
            if reason is None or (row is not None and row.has_conflict):
                continue
            if row is None:
                row = BrandConflict(nomination_id=nid, expert_id=expert_id)
                db.session.add(row)
            row.source, row.has_conflict, row.reason = "auto", True, reason
            found += 1
            _audit(actor, "brand_conflict.auto", row, s, after={"expert_id": expert_id, "nomination_id": nid,
                                                                 "reason": reason})
    return found


def is_conflicted(expert_id: int, n: BrandNomination) -> bool:
    row = conflict_for(expert_id, n.id)
    return (row is not None and row.has_conflict) or _auto_reason(expert_id, n) is not None


def declare_conflict(n: BrandNomination, expert: User, *, has_conflict: bool, reason: str = "") -> BrandConflict:
    """The expert's declaration before seeing the nomination: 无利益冲突, or 有 with a reason (final)."""
    s = n.selection
    if s.status != SelectionStatus.SCORING or not is_panel_member(s, expert):
        raise BrandError(_("这不是您的评审任务"))
    reason = (reason or "").strip()
    if has_conflict and not reason:
        raise BrandError(_("请说明利益冲突的情况"), field="reason")
    row = conflict_for(expert.id, n.id)
    if row is not None and row.has_conflict:
        raise BrandError(_("已登记回避（%(s)s），不能更改", s=row.source_label))
    auto = _auto_reason(expert.id, n)
    if auto is not None:
        has_conflict, reason, source = True, auto, "auto"
    else:
        source = "declared"
    if row is not None and not has_conflict:
        return row
    review = review_of(n, expert)
    if review is not None and review.is_submitted:
        raise BrandError(_("评分已提交，不能再更改声明"))
    if row is None:
        row = BrandConflict(nomination_id=n.id, expert_id=expert.id)
        db.session.add(row)
    row.source, row.has_conflict, row.reason = source, has_conflict, reason[:500]
    _audit(expert, "brand_conflict.declare" if source == "declared" else "brand_conflict.auto", row, s,
           after={"nomination_id": n.id, "has_conflict": has_conflict, "reason": reason})
    if review is not None and has_conflict:
        db.session.delete(review)  # a draft scored before a late declaration must not count
    return row


# --- scoring ------------------------------------------------------------------------------------------

def _notify_experts(s: BrandSelection, experts) -> None:
    from grants.reminders.notices import send_notice

    send_notice("brand_review_assigned", experts, link="/brand/tasks", selection=s.title,
                deadline=format_local(s.scoring_deadline_at))


def start_scoring(s: BrandSelection, actor) -> None:
    """nominating → scoring: needs an accepted nomination and a panel; undecided self-nominations lapse."""
    pending = nominations(s, status=NominationStatus.PROPOSED)
    if pending:
        raise BrandError(_("还有 %(n)s 项自荐尚未处理，请先采纳或不予采纳", n=len(pending)))
    if not nominations(s, status=NominationStatus.ACCEPTED):
        raise BrandError(_("还没有入围评审的推荐项目"))
    if now() >= s.scoring_deadline_at:
        raise BrandError(_("评分截止时间已过，请先修改评选设置"))
    members = panel(s)
    if not members:
        raise BrandError(_("请先组建评审组"))
    _transition(s, "start_scoring", actor)
    detect_conflicts(s, actor)
    _notify_experts(s, [m.user for m in members])


def review_of(n: BrandNomination, expert) -> BrandReview | None:
    return db.session.scalar(sa.select(BrandReview).where(BrandReview.nomination_id == n.id,
                                                          BrandReview.expert_id == expert.id))


def may_score(n: BrandNomination, expert) -> bool:
    """Segregation: a panel member, in scoring, on an accepted nomination, declared free of conflict."""
    if n.selection.status != SelectionStatus.SCORING or n.status != NominationStatus.ACCEPTED:
        return False
    if not is_panel_member(n.selection, expert):
        return False
    row = conflict_for(expert.id, n.id)
    return row is not None and not row.has_conflict and _auto_reason(expert.id, n) is None


def save_review(n: BrandNomination, expert, points: dict, comment: str, *, submit: bool
                ) -> tuple[BrandReview, dict[str, str]]:
    """Keep the valid scores typed; on submit every criterion and a comment are required, then it locks."""
    s = n.selection
    if not may_score(n, expert):
        raise BrandError(_("您不能为该项目评分（未声明、须回避或不在评审组中）"))
    if now() > s.scoring_deadline_at:
        raise BrandError(_("评分截止时间已过"))
    review = review_of(n, expert)
    if review is not None and review.is_submitted:
        raise BrandError(_("评分已提交，不能修改"))
    if review is None:
        review = BrandReview(nomination_id=n.id, expert_id=expert.id, status="draft")
        db.session.add(review)
    problems: dict[str, str] = {}
    have = {sc.criterion_id: sc for sc in review.scores}
    for c in s.criteria:
        raw = str(points.get(c.id, points.get(str(c.id), "")) or "").strip()
        if raw == "":
            continue
        value = int_or_none(raw, minimum=0, maximum=c.max_points)
        if value is None:
            problems[f"points-{c.id}"] = _("%(n)s 最高 %(m)s 分，请填写 0 到 %(m)s 之间的整数", n=c.name, m=c.max_points)
            continue
        if c.id in have:
            have[c.id].points = value
        else:
            have[c.id] = BrandScore(criterion_id=c.id, points=value)
            review.scores.append(have[c.id])
    review.points_total = sum(sc.points for sc in have.values())
    review.comment = (comment or "").strip()[:5000]
    if submit:
        for c in s.criteria:
            if c.id not in have and f"points-{c.id}" not in problems:
                problems[f"points-{c.id}"] = _("请为“%(n)s”打分", n=c.name)
        if not review.comment:
            problems["comment"] = _("请填写评审意见")
        if not problems:
            review.status, review.submitted_at = "submitted", now()
            db.session.flush()
            _audit(expert, "brand_review.submit", review, s, after={
                "nomination_id": n.id, "points": {str(k): v.points for k, v in sorted(have.items())}})
    return review, problems


# --- ranking and decision -----------------------------------------------------------------------------

@dataclass
class BrandRankingRow:
    nomination: BrandNomination
    score: Decimal | None
    review_count: int
    expected_count: int
    std_dev: Decimal | None
    spread: Decimal | None
    rank: int = 0
    totals: list[Decimal] = field(default_factory=list)


def compute_ranking(s: BrandSelection) -> list[BrandRankingRow]:
    """Accepted nominations ranked by the selection's aggregation (mean / trimmed mean) of the experts'
    totals on 100, with the review domain's scoring.summarise() and tie-break rank_key() (earlier
    nomination, then smaller id, after equal scores). Four queries whatever the number of nominations."""
    noms = nominations(s, status=NominationStatus.ACCEPTED)
    max_sum = s.max_points
    sums: dict[int, list[int]] = defaultdict(list)
    for nid, total in db.session.execute(
            sa.select(BrandReview.nomination_id, BrandReview.points_total).join(BrandNomination)
            .where(BrandNomination.selection_id == s.id, BrandReview.status == "submitted")):
        sums[nid].append(total)
    conflicted = defaultdict(int)
    for nid, cnt in db.session.execute(
            sa.select(BrandConflict.nomination_id, sa.func.count()).join(BrandNomination)
            .join(BrandPanelMember, sa.and_(BrandPanelMember.selection_id == BrandNomination.selection_id,
                                            BrandPanelMember.user_id == BrandConflict.expert_id))
            .where(BrandNomination.selection_id == s.id, BrandConflict.has_conflict.is_(True))
            .group_by(BrandConflict.nomination_id)):
        conflicted[nid] = cnt
    panel_size = db.session.scalar(sa.select(sa.func.count()).select_from(BrandPanelMember)
                                   .where(BrandPanelMember.selection_id == s.id)) or 0
    rows = []
    for n in noms:
        stats = scoring.summarise(sums.get(n.id, []), max_sum, s.aggregation)
        rows.append(BrandRankingRow(
            nomination=n, score=stats.score, review_count=len(sums.get(n.id, [])),
            expected_count=panel_size - conflicted[n.id], std_dev=stats.std_dev, spread=stats.spread,
            totals=[scoring.q2(Decimal(v * 100) / max_sum) for v in sorted(sums.get(n.id, []), reverse=True)]
            if max_sum else []))
    rows.sort(key=lambda r: scoring.rank_key(r.score, None, r.score, r.nomination.created_at, r.nomination.id))
    for i, r in enumerate(rows, start=1):
        r.rank = i
    return rows


def decide_winners(s: BrandSelection, actor, *, winner_ids: Iterable[int] | None = None, note: str = "") -> list[
        BrandNomination]:
    """scoring → decided: the officer confirms the winners (by default the top N of the ranking) with a
    note, which is required when the choice departs from the ranking."""
    rows = compute_ranking(s)
    if not any(r.review_count for r in rows):
        raise BrandError(_("还没有专家提交评分"))
    top = [r.nomination.id for r in rows if r.score is not None][:s.winners_count]
    chosen = list(dict.fromkeys(winner_ids)) if winner_ids is not None else top
    by_id = {r.nomination.id: r for r in rows}
    if not chosen:
        raise BrandError(_("请至少选择一个入选项目"), field="winner_ids")
    if any(i not in by_id for i in chosen):
        raise BrandError(_("只能从入围评审的项目中选择"), field="winner_ids")
    if len(chosen) > s.winners_count:
        raise BrandError(_("入选项目不能超过名额 %(n)s 个", n=s.winners_count), field="winner_ids")
    note = (note or "").strip()
    if sorted(chosen) != sorted(top) and not note:
        raise BrandError(_("入选名单与评分排名不一致，请在说明中写明理由"), field="note")
    for r in rows:
        r.nomination.rank = r.rank
        r.nomination.is_winner = r.nomination.id in chosen
    s.decision_note, s.decided_at = note, now()
    _transition(s, "decide", actor, winners=sorted(chosen), note=note,
                ranking=[[r.nomination.id, r.score] for r in rows])
    return [by_id[i].nomination for i in chosen]


def reopen_scoring(s: BrandSelection, actor, reason: str) -> None:
    """decided → scoring, before publication, with a reason: the winners' marks are cleared."""
    if not (reason or "").strip():
        raise BrandError(_("请填写退回原因"), field="reason")
    _transition(s, "reopen_scoring", actor, reason=reason.strip())
    for n in nominations(s):
        n.is_winner, n.rank = False, None
    s.decided_at = None


def publish_selection(s: BrandSelection, actor) -> None:
    """decided → published: the winners are marked on the disclosure pages and the organisation record."""
    s.published_at = now()
    _transition(s, "publish", actor)
    from grants.reminders.notices import organization_people, send_notice

    for n in nominations(s):
        if n.is_winner:
            send_notice("brand_winner", organization_people(n.organization_id), link="/brand/mine",
                        selection=s.title, project=n.contract.project_name)


# --- the marks on other pages -------------------------------------------------------------------------

def brand_titles_for(contract_ids: Iterable[int]) -> dict[int, list[str]]:
    """Published brand titles per contract id (e.g. {12: ['2026年度品牌项目']}): one query."""
    ids = list(set(contract_ids))
    if not ids:
        return {}
    out: dict[int, list[str]] = {}
    for cid, title in db.session.execute(
            sa.select(BrandNomination.contract_id, BrandSelection.title)
            .join(BrandSelection, BrandSelection.id == BrandNomination.selection_id)
            .where(BrandNomination.contract_id.in_(ids), BrandNomination.is_winner.is_(True),
                   BrandSelection.status == SelectionStatus.PUBLISHED)
            .order_by(BrandSelection.year.desc(), BrandSelection.id.desc())):
        out.setdefault(cid, []).append(title)
    return out


def brand_titles_by_award(award_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """The same marks keyed by award id (the public pages list awards); without ids, every published winner's
    award — a short list (a few winners a year per unit), so one query serves a whole page. One query."""
    stmt = (sa.select(Contract.award_id, BrandSelection.title)
            .join(BrandNomination, BrandNomination.contract_id == Contract.id)
            .join(BrandSelection, BrandSelection.id == BrandNomination.selection_id)
            .where(BrandNomination.is_winner.is_(True), BrandSelection.status == SelectionStatus.PUBLISHED)
            .order_by(BrandSelection.year.desc(), BrandSelection.id.desc()))
    if award_ids is not None:
        ids = list(set(award_ids))
        if not ids:
            return {}
        stmt = stmt.where(Contract.award_id.in_(ids))
    out: dict[int, list[str]] = {}
    for award_id, title in db.session.execute(stmt):
        out.setdefault(award_id, []).append(title)
    return out


@dataclass
class BrandHonour:
    contract_id: int
    project_name: str
    title: str
    year: int


def brand_honours_of(organization_id: int) -> list[BrandHonour]:
    """The organisation's published brand projects, newest first: one query (for its record)."""
    rows = db.session.execute(
        sa.select(BrandNomination.contract_id, Contract.project_name, BrandSelection.title, BrandSelection.year)
        .join(BrandSelection, BrandSelection.id == BrandNomination.selection_id)
        .join(Contract, Contract.id == BrandNomination.contract_id)
        .where(BrandNomination.organization_id == organization_id, BrandNomination.is_winner.is_(True),
               BrandSelection.status == SelectionStatus.PUBLISHED)
        .order_by(BrandSelection.year.desc(), BrandSelection.id.desc()))
    return [BrandHonour(*r) for r in rows]
