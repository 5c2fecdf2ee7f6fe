"""Factories for brand projects: finished projects (completed contracts), selections in any state, experts."""
from __future__ import annotations

import datetime as dt

from grants.brand import services as svc
from grants.brand.models import BrandPanelMember, SelectionStatus
from grants.contracts.models import ContractStatus
from grants.core.timeutil import UTC, now
from grants.extensions import db
from tests import factories
from tests.contracts import factories as cf
from tests.reviews.factories import expert  # noqa: F401  (re-exported: experts of the pool)

CRITERIA = [("项目成效", 40), ("社会影响", 30), ("创新性", 30)]
DEADLINE = dt.datetime(2030, 1, 1, tzinfo=UTC)


def completed_contract(call_=None, org=None, *, unit=None, grade: str = "excellent", name: str | None = None):
    """A contract that went through the workflow to active, then was closed (结项) with its final grade.

    The tranche bookkeeping that leads to 结项 is the contracts domain's business; here the end state is set."""
    c = cf.contract(cf.award(call_, org, unit=unit), status="active")
    for t in c.tranches:
        t.status, t.payment_pct, t.payable_fen, t.withheld_fen = "paid", 100, t.planned_fen, 0
        t.grade = grade if t.trigger == "final_assessment" else None
    c.status, c.completed_at = ContractStatus.COMPLETED, now()
    c.application.final_grade = grade
    if name:
        c.project_name = c.application.project_name = name
    db.session.flush()
    return c


def officer(unit=None):
    return factories.user(roles=("officer",), unit=unit)


def selection(unit, actor=None, *, status: str = SelectionStatus.DRAFT, winners_count: int = 2,
              criteria=CRITERIA, aggregation: str = "mean", call_ids=(), deadline=DEADLINE):
    """A selection of `unit`, moved to `status` by setting it (the transition table is tested on its own)."""
    actor = actor or officer(unit)
    s = svc.create_selection(unit.id, actor, title="2026年度品牌项目", year=2026, winners_count=winners_count,
                             scoring_deadline_at=deadline, criteria=list(criteria), aggregation=aggregation,
                             call_ids=call_ids)
    s.status = status
    if status in (SelectionStatus.DECIDED, SelectionStatus.PUBLISHED):
        s.decided_at = now()
    if status == SelectionStatus.PUBLISHED:
        s.published_at = now()
    db.session.flush()
    return s


def seat(selection_, user):
    m = BrandPanelMember(selection_id=selection_.id, user_id=user.id)
    db.session.add(m)
    db.session.flush()
    return m


def world_objects(app, org) -> dict:
    """For the route-permission walk: a selection in scoring of a unit no test user belongs to, nominating a
    finished project of `org`, with another expert on its panel."""
    from grants.brand.models import BrandNomination, NominationStatus

    with app.test_request_context():
        unit = factories.host_unit(name="别处品牌评选局")
        c = completed_contract(cf.call(unit), org)
        s = selection(unit, status=SelectionStatus.SCORING)
        n = BrandNomination(selection_id=s.id, contract_id=c.id, organization_id=org.id, source="officer",
                            status=NominationStatus.ACCEPTED, reason="别处的推荐理由")
        db.session.add(n)
        m = seat(s, expert(employer="别处大学"))
        db.session.commit()
    return {"selection_id": s.id, "nomination_id": n.id, "brand_member_id": m.id}
