"""信息公开: what the public may know about the projects a call funded.

Every read here selects named public columns into plain rows (never whole Organization or Contract
objects), so contact names, phone numbers, e-mails, bank accounts and signers cannot reach a public
page or file by a template's accident. Pages are built with a fixed number of queries.

Amount paid = released payments minus what was reclaimed from them (the ledger's 拨付 − 追回).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from grants.applications.models import Application, ServiceArea
from grants.awards.models import Award, AwardStatus, PublicNotice
from grants.calls.models import GRADE_LABELS, Call, CallCategory, CallStatus
from grants.contracts.models import Contract, ContractStatus, Tranche
from grants.core.timeutil import to_local
from grants.extensions import db
from grants.finance.models import Payment, PaymentStatus
from grants.organizations.models import HostUnit, Organization

# A call's funded projects become public once its award list is final (公示期满, 已定项).
DISCLOSED_STATUSES = (CallStatus.FINALIZED, CallStatus.ARCHIVED)


class ProjectStatus(StrEnum):
    SIGNING = "signing"
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


PROJECT_STATUS_LABELS = {
    ProjectStatus.SIGNING: _l("待签约"),
    ProjectStatus.ACTIVE: _l("实施中"),
    ProjectStatus.COMPLETED: _l("已结项"),
    ProjectStatus.TERMINATED: _l("已终止"),
}
PROJECT_STATUS_BADGES = {
    "signing": "text-bg-secondary", "active": "text-bg-success", "completed": "text-bg-dark",
    "terminated": "text-bg-danger",
}
_SIGNING_CONTRACT_STATES = (ContractStatus.DRAFT, ContractStatus.ISSUED, ContractStatus.SIGNED_BY_ORG)


def project_status(contract_status: str | None) -> ProjectStatus:
    """The public stage of a funded project, from its contract (none yet or unsigned: 待签约)."""
    if contract_status in (ContractStatus.ACTIVE, ContractStatus.COMPLETED, ContractStatus.TERMINATED):
        return ProjectStatus(contract_status)
    return ProjectStatus.SIGNING


def _status_condition(status: str):
    if status == ProjectStatus.SIGNING:
        return sa.or_(Contract.id.is_(None), Contract.status.in_(_SIGNING_CONTRACT_STATES))
    return Contract.status == status


@dataclass
class CallSummary:
    id: int
    title: str
    year: int
    level: str
    host_unit_name: str
    status: str
    projects: int = 0
    awarded_fen: int = 0
    paid_fen: int = 0
    has_notice: bool = False


@dataclass
class PublicProject:
    """One funded project as the public sees it."""

    award_id: int
    application_id: int
    call_id: int
    title: str
    summary: str
    organization_id: int
    organization_name: str
    organization_uscc: str | None
    category: str
    amount_awarded_fen: int
    award_date: dt.date | None
    contract_id: int | None
    contract_status: str | None
    start_on: dt.date | None
    end_on: dt.date | None
    final_grade: str | None
    amount_paid_fen: int = 0
    service_areas: list[str] = field(default_factory=list)

    @property
    def status(self) -> ProjectStatus:
        return project_status(self.contract_status)

    @property
    def status_label(self):
        return PROJECT_STATUS_LABELS[self.status]

    @property
    def status_badge(self) -> str:
        return PROJECT_STATUS_BADGES[self.status]

    @property
    def grade_label(self):
        return GRADE_LABELS.get(self.final_grade, self.final_grade) if self.final_grade else ""


# --- calls -------------------------------------------------------------------------------

def disclosed_call(call_id: int) -> Call | None:
    """The call if its funded projects are public, else None (drafts, calls in review or on notice)."""
    return db.session.scalar(sa.select(Call).where(Call.id == call_id, Call.status.in_(DISCLOSED_STATUSES)))


def disclosed_calls() -> list[CallSummary]:
    """Every disclosed call that funded projects, newest first, with their number and totals (four queries)."""
    rows = db.session.execute(
        sa.select(Call.id, Call.title, Call.year, Call.level, HostUnit.name, Call.status)
        .join(HostUnit, HostUnit.id == Call.host_unit_id)
        .where(Call.status.in_(DISCLOSED_STATUSES)).order_by(Call.year.desc(), Call.id.desc())).all()
    calls = {r[0]: CallSummary(*r) for r in rows}
    if not calls:
        return []
    ids = list(calls)
    for call_id, n, total in db.session.execute(
            sa.select(Award.call_id, sa.func.count(Award.id), sa.func.sum(Award.amount_fen))
            .where(Award.call_id.in_(ids), Award.status == AwardStatus.CONFIRMED).group_by(Award.call_id)):
        calls[call_id].projects, calls[call_id].awarded_fen = n, int(total or 0)
    for call_id, paid in db.session.execute(
            sa.select(Payment.call_id, sa.func.sum(Payment.amount_fen - Payment.reclaimed_fen))
            .where(Payment.call_id.in_(ids), Payment.status == PaymentStatus.RELEASED).group_by(Payment.call_id)):
        calls[call_id].paid_fen = int(paid or 0)
    for (call_id,) in db.session.execute(sa.select(PublicNotice.call_id).where(PublicNotice.call_id.in_(ids))):
        calls[call_id].has_notice = True
    return [c for c in calls.values() if c.projects]


@dataclass
class Programme:
    """What open data says about a call (grantProgramme) and its host unit (fundingOrganization)."""

    id: int
    title: str
    year: int
    host_unit_id: int
    host_unit_name: str
    start_on: dt.date | None
    end_on: dt.date | None
    host_unit_uscc: str | None = None


def programmes(call_ids: list[int] | None = None) -> dict[int, Programme]:
    """Disclosed calls by id (one query)."""
    stmt = (sa.select(Call.id, Call.title, Call.year, HostUnit.id, HostUnit.name, Call.project_start_on,
                      Call.project_end_on, HostUnit.uscc).join(HostUnit, HostUnit.id == Call.host_unit_id)
            .where(Call.status.in_(DISCLOSED_STATUSES)))
    if call_ids is not None:
        stmt = stmt.where(Call.id.in_(call_ids))
    return {r[0]: Programme(*r) for r in db.session.execute(stmt)}


# --- projects ----------------------------------------------------------------------------

_PROJECT_COLUMNS = (
    Award.id, Application.id, Award.call_id, Application.project_name, Application.summary, Organization.id,
    Organization.name, Organization.uscc, CallCategory.name, Award.amount_fen, Award.confirmed_at,
    Contract.id, Contract.status, Contract.period_start_on, Contract.period_end_on, Application.final_grade,
)


def _projects_stmt(call_ids, *, q: str = "", category_id: int | None = None, status: str = ""):
    stmt = (sa.select(*_PROJECT_COLUMNS)
            .join(Application, Application.id == Award.application_id)
            .join(Organization, Organization.id == Award.organization_id)
            .outerjoin(CallCategory, CallCategory.id == Award.category_id)
            .outerjoin(Contract, Contract.award_id == Award.id)
            .where(Award.status == AwardStatus.CONFIRMED))
    if isinstance(call_ids, int):
        stmt = stmt.where(Award.call_id == call_ids)
    else:
        stmt = stmt.join(Call, Call.id == Award.call_id).where(Call.status.in_(DISCLOSED_STATUSES))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(Application.project_name.like(like), Organization.name.like(like)))
    if category_id:
        stmt = stmt.where(Award.category_id == category_id)
    if status in set(ProjectStatus):
        stmt = stmt.where(_status_condition(status))
    return stmt


def _to_project(row) -> PublicProject:
    (award_id, app_id, call_id, title, summary, org_id, org_name, uscc, category, amount, confirmed_at,
     contract_id, contract_status, start_on, end_on, grade) = row
    return PublicProject(
        award_id=award_id, application_id=app_id, call_id=call_id, title=title, summary=summary or "",
        organization_id=org_id, organization_name=org_name, organization_uscc=uscc, category=category or "",
        amount_awarded_fen=int(amount), award_date=to_local(confirmed_at).date() if confirmed_at else None,
        contract_id=contract_id, contract_status=contract_status, start_on=start_on, end_on=end_on,
        final_grade=grade)


def _add_paid(projects: list[PublicProject]) -> None:
    """Net paid per project: one grouped query over the projects' contracts."""
    by_contract = {p.contract_id: p for p in projects if p.contract_id is not None}
    if not by_contract:
        return
    for contract_id, paid in db.session.execute(
            sa.select(Payment.contract_id, sa.func.sum(Payment.amount_fen - Payment.reclaimed_fen))
            .where(Payment.contract_id.in_(list(by_contract)), Payment.status == PaymentStatus.RELEASED)
            .group_by(Payment.contract_id)):
        by_contract[contract_id].amount_paid_fen = int(paid or 0)


def _add_service_areas(projects: list[PublicProject]) -> None:
    by_app = {p.application_id: p for p in projects}
    if not by_app:
        return
    for app_id, street, community in db.session.execute(
            sa.select(ServiceArea.application_id, ServiceArea.street, ServiceArea.community)
            .where(ServiceArea.application_id.in_(list(by_app)))
            .order_by(ServiceArea.application_id, ServiceArea.position, ServiceArea.id)):
        name = " ".join(part for part in (street.strip(), community.strip()) if part)
        if name:
            by_app[app_id].service_areas.append(name)


@dataclass
class ProjectPage:
    items: list[PublicProject]
    page: int
    per_page: int
    total: int
    total_awarded_fen: int
    total_paid_fen: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def project_page(call: Call, *, page: int = 1, per_page: int = 50, q: str = "", category_id: int | None = None,
                 status: str = "") -> ProjectPage:
    """One page of a call's funded projects, filtered (four queries whatever the page size)."""
    stmt = _projects_stmt(call.id, q=q, category_id=category_id, status=status)
    sub = stmt.subquery()
    total, awarded = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sub.c.amount_fen), 0)).select_from(sub)).one()
    paid = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_fen - Payment.reclaimed_fen), 0))
        .where(Payment.status == PaymentStatus.RELEASED,
               Payment.contract_id.in_(stmt.with_only_columns(Contract.id).where(Contract.id.is_not(None)))))
    page = max(1, page)
    rows = db.session.execute(stmt.order_by(CallCategory.sort, CallCategory.id, Award.rank, Award.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    items = [_to_project(r) for r in rows]
    _add_paid(items)
    return ProjectPage(items=items, page=page, per_page=per_page, total=int(total), total_awarded_fen=int(awarded),
                       total_paid_fen=int(paid or 0))


def public_projects(call: Call | None = None) -> list[PublicProject]:
    """Every funded project of one disclosed call (or of all), with amounts paid and service areas:
    for the open-data files (three queries)."""
    stmt = _projects_stmt(call.id if call is not None else None)
    rows = db.session.execute(stmt.order_by(Award.call_id, Award.id)).all()
    items = [_to_project(r) for r in rows]
    _add_paid(items)
    _add_service_areas(items)
    return items


CHUNK = 1000  # projects per server-side cursor fetch when writing the open-data files


def iter_public_projects(call: Call | None = None, *, chunk: int | None = None) -> Iterator[PublicProject]:
    """The same projects as public_projects(), in the same order, read through a server-side cursor
    `chunk` rows at a time (with their amounts paid and service areas: two queries per chunk), so that
    writing the open-data files holds one chunk in memory, not the programme."""
    stmt = _projects_stmt(call.id if call is not None else None).order_by(Award.call_id, Award.id)
    result = db.session.execute(stmt.execution_options(yield_per=chunk or CHUNK))
    try:
        for rows in result.partitions():
            items = [_to_project(r) for r in rows]
            _add_paid(items)
            _add_service_areas(items)
            yield from items
    finally:
        result.close()


def max_service_areas(call: Call | None = None) -> int:
    """The most service areas (with a name) any of these projects lists: the CSV's number of location
    column groups, known before its header is written. One streamed query, counted as _add_service_areas
    names them."""
    projects = _projects_stmt(call.id if call is not None else None).with_only_columns(Application.id)
    result = db.session.execute(
        sa.select(ServiceArea.application_id, ServiceArea.street, ServiceArea.community)
        .where(ServiceArea.application_id.in_(projects.scalar_subquery()))
        .order_by(ServiceArea.application_id).execution_options(yield_per=5000))
    most, current, count = 0, None, 0
    for app_id, street, community in result:
        if app_id != current:
            current, count = app_id, 0
        if street.strip() or community.strip():
            count += 1
            most = max(most, count)
    return most


def public_project(award_id: int) -> PublicProject | None:
    """A funded project of a disclosed call, or None."""
    row = db.session.execute(_projects_stmt(None).where(Award.id == award_id)).first()
    if row is None:
        return None
    project = _to_project(row)
    _add_paid([project])
    _add_service_areas([project])
    return project


@dataclass
class PublicTranche:
    seq: int
    name: str
    planned_fen: int
    status: str
    paid_fen: int
    paid_on: dt.date | None
    withheld_fen: int

    @property
    def status_label(self):
        if self.paid_fen:
            return _l("已拨付")
        if self.status == "withheld" or (self.withheld_fen and self.withheld_fen == self.planned_fen):
            return _l("不予拨付")
        return _l("未拨付")


def project_tranches(project: PublicProject) -> list[PublicTranche]:
    """The contract's tranches with what was paid on each (net of reclaims): one query."""
    if project.contract_id is None:
        return []
    rows = db.session.execute(
        sa.select(Tranche.seq, Tranche.name, Tranche.planned_fen, Tranche.status, Tranche.withheld_fen,
                  Payment.status, Payment.amount_fen, Payment.reclaimed_fen, Payment.released_on)
        .outerjoin(Payment, Payment.tranche_id == Tranche.id)
        .where(Tranche.contract_id == project.contract_id).order_by(Tranche.seq)).all()
    out = []
    for seq, name, planned, status, withheld, p_status, p_amount, p_reclaimed, released_on in rows:
        released = p_status == PaymentStatus.RELEASED
        withheld = withheld if status in ("payable", "withheld", "paid") else 0
        out.append(PublicTranche(seq=seq, name=name, planned_fen=int(planned),
                                 status=status, paid_fen=int(p_amount - p_reclaimed) if released else 0,
                                 paid_on=released_on if released else None, withheld_fen=int(withheld or 0)))
    return out


def has_notice(call: Call) -> bool:
    return db.session.scalar(sa.select(PublicNotice.id).where(PublicNotice.call_id == call.id)) is not None
