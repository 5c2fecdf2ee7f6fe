"""The per-project summary rows the dashboard adds up (grants/dashboard/summary.py): kept by a session hook
in the same transaction as the change, dropped with a rollback, equal to a rebuild from scratch, and rebuilt
by `flask --app wsgi dashboard rebuild` after a bulk load."""
from __future__ import annotations

import sqlalchemy as sa

from grants.dashboard import services as svc
from grants.dashboard.models import ProjectOutputSummary, ProjectSourceSummary, ProjectSummary
from grants.dashboard.summary import rebuild_all
from grants.finance import services as fin
from tests.dashboard.test_views import _programme
from tests.finance import factories as ff


def _rows(db) -> dict[str, list[tuple]]:
    """Every summary row as plain tuples (no ids), in a stable order."""
    out = {}
    for model in (ProjectSummary, ProjectSourceSummary, ProjectOutputSummary):
        cols = [c for c in model.__table__.columns if c.name != "id"]
        out[model.__tablename__] = sorted(tuple(r) for r in db.session.execute(sa.select(*cols)).all())
    return out


def _summary(db, application_id) -> ProjectSummary:
    db.session.expire_all()
    return db.session.get(ProjectSummary, application_id)


def test_each_change_is_in_the_summary_when_it_commits(db):
    call, contracts = _programme(db, 2)
    c = contracts[1]
    before = _summary(db, c.application_id)
    assert (before.funded, before.awarded_fen, before.paid_fen) == (True, 5_000_001, ff.first_payment(c).amount_fen)
    assert before.reclaimed_fen == before.withheld_fen == 0

    fin.record_reclaim(ff.first_payment(c), ff.finance_user(call), 12_345, "追回部分资金")
    db.session.commit()
    assert _summary(db, c.application_id).reclaimed_fen == 12_345
    # The figures read the same rows: the call's reclaims are the two projects' together.
    board, _calls = svc.dashboard_for(call.host_unit_id, svc.Filters())
    assert board.total.reclaimed_fen == 100_000 + 12_345


def test_a_rolled_back_change_leaves_the_summary_alone(db):
    call, contracts = _programme(db, 1)
    c = contracts[0]
    kept = _rows(db)
    fin.record_reclaim(ff.first_payment(c), ff.finance_user(call), 50_000, "追回")
    db.session.flush()
    db.session.rollback()
    db.session.commit()  # nothing noted survives the rollback to be applied by the next commit
    assert _rows(db) == kept
    assert "project_summary_pending" not in db.session.info


def test_a_transaction_reads_its_own_changes(db):
    """The dashboard brings the noted projects up to date before it reads, so a service that changes money
    and shows the figures in the same transaction sees its change."""
    call, contracts = _programme(db, 1)
    fin.record_reclaim(ff.first_payment(contracts[0]), ff.finance_user(call), 7_000, "追回")
    board, _calls = svc.dashboard_for(call.host_unit_id, svc.Filters())
    assert board.total.reclaimed_fen == 100_000 + 7_000
    assert svc.project_money([contracts[0].application_id])[contracts[0].application_id].reclaimed_fen == 107_000


def test_kept_rows_equal_a_rebuild_from_scratch(db):
    call, contracts = _programme(db, 3)
    ff.assess_tranche(contracts[2].tranches[1], payment_pct=60, grade="pass", score=60)
    db.session.commit()
    kept = _rows(db)
    assert len(kept["project_summary"]) == 3 and kept["project_source_summary"]
    assert rebuild_all() == 3
    assert _rows(db) == kept


def test_rebuild_command_restores_rows_a_bulk_load_left_out(app, db):
    call, contracts = _programme(db, 2)
    unit_id, paid = call.host_unit_id, sum(ff.first_payment(c).amount_fen for c in contracts)
    kept = _rows(db)
    # As after an import that bypassed the application: the rows are missing.
    for model in (ProjectOutputSummary, ProjectSourceSummary, ProjectSummary):
        db.session.execute(sa.delete(model))
    db.session.commit()
    board, _calls = svc.dashboard_for(unit_id, svc.Filters())
    assert board.total.paid_fen == 0
    result = app.test_cli_runner().invoke(args=["dashboard", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "已重新计算 2 个项目的统计数据" in result.output
    db.session.remove()
    assert _rows(db) == kept
    board, _calls = svc.dashboard_for(unit_id, svc.Filters())
    assert board.total.paid_fen == paid > 0


def test_grade_and_allocation_changes_reach_the_summary(db):
    """Whatever writes the row — a service or not — the hook notes it: a final grade finishes the project,
    and a changed allocation re-splits the money already paid."""
    from grants.applications.models import Application

    call, contracts = _programme(db, 1)
    c = contracts[0]
    assert not _summary(db, c.application_id).finished
    db.session.get(Application, c.application_id).final_grade = "good"
    db.session.commit()
    s = _summary(db, c.application_id)
    assert (s.finished, s.final_grade) == (True, "good")
    board, _calls = svc.dashboard_for(call.host_unit_id, svc.Filters())
    assert board.grades == {"good": 1}

    award = c.award
    first, second = sorted(award.allocations, key=lambda a: a.funding_source_id)
    first.amount_fen, second.amount_fen = award.amount_fen - 1, 1  # almost all on the first source now
    db.session.commit()
    by_source = {r.funding_source_id: r for r in db.session.scalars(
        sa.select(ProjectSourceSummary).where(ProjectSourceSummary.application_id == c.application_id))}
    paid = _summary(db, c.application_id).paid_fen
    assert by_source[second.funding_source_id].awarded_fen == 1
    # Split as the ledger's charge_to_sources splits it: the parts add up to the payment.
    assert by_source[first.funding_source_id].paid_fen + by_source[second.funding_source_id].paid_fen == paid > 0
