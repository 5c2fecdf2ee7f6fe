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
                status=CallStatus.REVIEWING) -> Call:
    unit = unit or factories.host_unit()
    call = Call(host_unit_id=unit.id, title=f"测试公益创投{next(_seq)}", year=2026, level=unit.level, status=status,
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
