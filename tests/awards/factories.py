"""A call in review with scored applications, and a fake ranking until the review domain provides one."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from grants.accounts.models import Role
from grants.applications.models import Application, ApplicationStatus
from grants.calls.models import Call, CallCategory, CallFundingSource, CallStatus
from grants.core.timeutil import UTC
from grants.extensions import db
from tests import factories

_seq = itertools.count(1)


def scored_call(*, unit=None, sources=(("welfare_lottery", 300_000_00), ("fiscal_matching", 200_000_00)),
                categories=(("为老服务", 250_000_00), ("青少年服务", None)), notice_working_days=5,
                status=CallStatus.REVIEWING, title: str | None = None) -> Call:
    unit = unit or factories.host_unit()
    call = Call(host_unit_id=unit.id, title=title or f"测试公益创投{next(_seq)}", year=2026, level=unit.level,
                status=status,
                open_at=dt.datetime(2026, 3, 1, tzinfo=UTC), close_at=dt.datetime(2026, 4, 1, tzinfo=UTC),
                notice_working_days=notice_working_days, description="", contract_terms="", allowed_legal_forms=[])
    db.session.add(call)
    db.session.flush()
    for i, (name, quota) in enumerate(categories):
        db.session.add(CallCategory(call_id=call.id, name=name, quota_fen=quota, sort=i))
    for kind, amount in sources:
        db.session.add(CallFundingSource(call_id=call.id, kind=kind, name="", amount_fen=amount))
    db.session.flush()
    db.session.refresh(call)
    return call


def scored_application(call: Call, *, category: int | None = 0, requested_fen: int = 100_000_00,
                       status: str = ApplicationStatus.SCORED, org=None, name: str | None = None) -> Application:
    n = next(_seq)
    org = org or factories.organization()
    app = Application(call_id=call.id, organization_id=org.id,
                      category_id=call.categories[category].id if category is not None else None,
                      number=f"2026-{call.id}-{n:04d}-{org.id}", project_name=name or f"测试项目{n}",
                      status=status, requested_fen=requested_fen, total_budget_fen=requested_fen,
                      submitted_at=dt.datetime(2026, 3, 10, tzinfo=UTC) + dt.timedelta(minutes=n))
    db.session.add(app)
    db.session.flush()
    return app


@dataclass
class FakeRow:
    application: Application
    category_id: int | None
    written_score: Decimal
    pitch_score: Decimal | None
    final_score: Decimal
    review_count: int
    std_dev: Decimal
    spread: Decimal
    flagged: bool
    rank_overall: int
    rank_in_category: int


def fake_ranking(apps: list[Application]) -> list[FakeRow]:
    """Rows in the given order (best first), with made-up scores."""
    rows, per_cat = [], {}
    for i, app in enumerate(apps):
        per_cat[app.category_id] = per_cat.get(app.category_id, 0) + 1
        score = Decimal(95 - i).quantize(Decimal("0.01"))
        rows.append(FakeRow(app, app.category_id, score, None, score, 5, Decimal("2.00"), Decimal("5.00"), False,
                            i + 1, per_cat[app.category_id]))
    return rows


def use_ranking(monkeypatch, apps):
    """Make the award services see `apps` ranked in this order."""
    from grants.awards import services

    monkeypatch.setattr(services, "ranking_for", lambda call: fake_ranking(
        [a for a in apps if a.call_id == call.id]))


def officers(call: Call, n: int = 2):
    return [factories.user(roles=(Role.OFFICER,), unit=call.host_unit) for _ in range(n)]


def world_objects(other_org, unit_id: int) -> dict:
    """For the route-permission walk: an award, its notice and an objection in a call of another unit,
    for an application of an organisation none of the test users belongs to."""
    from grants.awards.models import Award, AwardAllocation, Objection, PublicNotice
    from grants.core.timeutil import now
    from grants.organizations.models import HostUnit

    call = scored_call(unit=db.session.get(HostUnit, unit_id), status=CallStatus.NOTICE)
    app = scored_application(call, org=other_org, status=ApplicationStatus.AWARDED, requested_fen=50_000_00)
    approver = factories.user(roles=(Role.OFFICER,), unit=call.host_unit)
    award = Award(call_id=call.id, application_id=app.id, organization_id=other_org.id, category_id=app.category_id,
                  amount_fen=50_000_00, status="approved", rank=1, adjustment_reason="", cancelled_reason="",
                  proposed_by_id=approver.id, approved_by_id=approver.id, approved_at=now())
    db.session.add(award)
    db.session.flush()
    db.session.add(AwardAllocation(award_id=award.id, funding_source_id=call.funding_sources[0].id,
                                   amount_fen=50_000_00))
    notice = PublicNotice(call_id=call.id, starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 6),
                          published_at=now(), show_panel_names=False)
    db.session.add(notice)
    db.session.flush()
    objection = Objection(notice_id=notice.id, application_id=app.id, award_id=award.id, objector_name="某人",
                          contact="13900000000", content="别人的异议内容很长。", status="open", handling_reason="")
    db.session.add(objection)
    db.session.flush()
    return {"award_id": award.id, "objection_id": objection.id, "application_id": app.id}


EXPERT_NAMES = ["王评审", "李评审", "赵评审"]


def reviewed_call(*, unit=None, requested=(200_000_00, 150_000_00, 150_000_00, 100_000_00, 80_000_00),
                  scores=(90, 85, 80, 75, 70), cats=(0, 0, 1, 0, 1), names=None, **kw):
    """A call in review whose applications were really scored by three panel experts (reviews domain)."""
    from grants.calls.models import RubricCriterion
    from tests.reviews import factories as rf

    call = scored_call(unit=unit, **kw)
    for i, (name, pts) in enumerate(rf.RUBRIC):
        call.criteria.append(RubricCriterion(stage="written", name=name, max_points=pts, sort=i))
    db.session.flush()
    experts = []
    for name in EXPERT_NAMES:
        e = rf.expert(specialties=["为老服务"], employer="某大学")
        e.display_name = name
        rf.panel_member(call, e)
        experts.append(e)
    apps = []
    for i, (req, score, cat) in enumerate(zip(requested, scores, cats)):
        app = scored_application(call, category=cat, requested_fen=req,
                                 name=(names[i] if names else f"示范项目{i + 1}"))
        for j, e in enumerate(experts):
            total = score + (j - 1)  # spread a little around the target
            points = _split_points(total, [p for _n, p in rf.RUBRIC])
            rf.submitted_review(rf.assignment(app, e), points, comment=f"第{j + 1}位专家意见：需求分析扎实，预算可再细化。")
        apps.append(app)
    db.session.flush()
    return call, apps, experts


def _split_points(total: int, maxima: list[int]) -> list[int]:
    """Points per criterion adding up to `total` (out of 100), proportional to each maximum."""
    pts = [m * total // 100 for m in maxima]
    pts[0] += total - sum(pts)
    return pts
