"""Revision 0005 re-splits the money of an existing database: a populated database at revision 0001 (with the
dashboard's per-source rows as the old per-payment split left them: the last source overdrawn) is upgraded,
and every movement is then charged exactly, the dashboard's rows agree with the charges, and a rebuild from
the application's own code changes nothing."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import DB_KIND, _create_pg_database

TODAY = dt.date(2026, 11, 23)


@pytest.fixture()
def other_app(tmp_path):
    """An application on a database of its own (the migration goes down and up again)."""
    from config import TestConfig
    from grants import create_app

    url, drop = _create_pg_database() if DB_KIND == "postgresql" else (f"sqlite:///{tmp_path / 'm.sqlite'}",
                                                                      lambda: None)

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path / "uploads")

    app = create_app(Cfg)
    yield app
    with app.app_context():
        from grants.extensions import db

        db.session.remove()
        db.engine.dispose()
    drop()


def _old_split(amount, allocations):
    """The split before 0005: each source rounded down, the remainder to the last source."""
    allocations = sorted(allocations)
    total = sum(a for _fs, a in allocations)
    parts = {fs: amount * a // total for fs, a in allocations[:-1]}
    parts[allocations[-1][0]] = amount - sum(parts.values())
    return parts


def _snapshot(db):
    from grants.dashboard.models import ProjectSourceSummary
    from grants.finance.models import SourceCharge

    charges = sorted(db.session.execute(sa.select(
        SourceCharge.award_id, SourceCharge.kind, SourceCharge.funding_source_id, SourceCharge.tranche_id,
        SourceCharge.payment_id, SourceCharge.reclaim_id, SourceCharge.amount_fen)).all())
    summary = sorted(db.session.execute(sa.select(
        ProjectSourceSummary.application_id, ProjectSourceSummary.funding_source_id, ProjectSourceSummary.awarded_fen,
        ProjectSourceSummary.paid_fen, ProjectSourceSummary.withheld_fen, ProjectSourceSummary.reclaimed_fen)).all(),
        key=lambda r: (r[0], r[1] or 0))
    return charges, summary


def test_upgrading_a_populated_database_resplits_its_ledger(other_app):
    from flask_migrate import downgrade, upgrade

    from grants.core.audit import seal_and_commit
    from grants.dashboard.models import ProjectSourceSummary
    from grants.dashboard.summary import rebuild_all
    from grants.extensions import db
    from grants.finance import services
    from grants.finance.ledger import call_ledger
    from grants.finance.models import Payment
    from tests.finance import factories as ff

    with other_app.app_context(), other_app.test_request_context():
        upgrade()
        call = ff.funded_call(sources=(("welfare_lottery", 60_000_000), ("fiscal_matching", 40_000_000),
                                       ("social", 30_000_000)))
        f1, f2 = ff.finance_user(call), ff.finance_user(call)
        contracts = [ff.active_contract(call, amount_fen=sum(s), shares=s)
                     for s in ((15_999_999, 8_000_001, 5_600_003), (3_333_333, 3_333_333, 3_333_334),
                               (1_000_001, 0, 999_999))]
        for n, contract in enumerate(contracts):
            for tranche, pct in zip(contract.tranches[1:], (100, 80) if n != 1 else (70, 0)):
                ff.assess_tranche(tranche, payment_pct=pct)
            payments = db.session.query(Payment).filter_by(contract_id=contract.id).order_by(Payment.id).all()
            for i, p in enumerate(payments):
                services.approve_payment(p, f1)
                services.release_payment(p, f2, f"M{n}-{i}", TODAY)
            services.record_reclaim(payments[0], f1, 12_345, "抽查追回")
        db.session.commit()
        seal_and_commit()  # unsealed audit rows cannot go back below revision 0012 (as the scheduler seals them)
        call_id = call.id
        expected = _snapshot(db)
        assert expected[0], "the scene has charges"
        apps = {c.application_id: c for c in contracts}
        allocations = {c.application_id: [(a.funding_source_id, a.amount_fen) for a in c.award.allocations]
                       for c in contracts}
        db.session.remove()

        # Back to 0001, where nothing stored the charges and the dashboard's rows held the old split.
        downgrade(revision="0001")
        old_rows = []
        for app_id in apps:
            paid = db.session.execute(sa.select(Payment.amount_fen).where(
                Payment.contract_id == apps[app_id].id, Payment.status == "released")).scalars().all()
            split = {}
            for fen in paid:
                for fs, part in _old_split(fen, allocations[app_id]).items():
                    split[fs] = split.get(fs, 0) + part
            for fs, alloc in allocations[app_id]:
                old_rows.append(dict(application_id=app_id, funding_source_id=fs, awarded_fen=alloc,
                                     paid_fen=split.get(fs, 0), withheld_fen=0, reclaimed_fen=0))
        db.session.execute(sa.delete(ProjectSourceSummary))
        db.session.execute(sa.insert(ProjectSourceSummary), old_rows)
        db.session.commit()
        db.session.remove()

        upgrade()
        assert _snapshot(db) == expected
        ledger = call_ledger(db.session.get(type(call), call_id))
        for line in ledger.sources:
            assert line.paid_fen + line.withheld_fen == line.committed_fen  # all three projects settled
            assert line.balance_fen >= 0
        # And the application's own rebuild agrees with what the migration wrote.
        rebuild_all()
        db.session.commit()
        seal_and_commit()
        assert _snapshot(db) == expected
        db.session.remove()
        downgrade(revision="0001")
        upgrade()
