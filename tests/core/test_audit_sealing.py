"""Append, then seal (grants/core/audit.py): record() takes no lock and writes an unsealed row with its own
content hash; seal_pending() links committed rows into the chain in order; verify_audit() covers both."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from grants.core.audit import GENESIS, UNSEALED, _row_hash, record, seal_and_commit, seal_pending, verify_audit
from grants.core.models import AuditLog
from grants.extensions import db


def _append(n: int, tag: str = "step") -> None:
    for i in range(n):
        record(None, f"test.{tag}{i}", object_type="thing", object_id=i, after={"n": i})
    db.session.commit()


def _raw(sql: str, **params) -> None:
    """An edit by hand in the database, past the application (and the session's cached rows)."""
    with db.engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    db.session.expire_all()


def _rows():
    db.session.expire_all()
    return db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()


def test_appended_rows_are_unsealed_and_verified_by_their_own_hash(db):
    _append(3)
    rows = _rows()
    assert all(r.seal_seq is None and r.prev_hash is None and r.hash == _row_hash(UNSEALED, r) for r in rows)
    report = verify_audit()
    assert report.intact and report.unsealed == 3 and report.checked == 3


def test_sealing_links_rows_in_order_and_continues_from_the_head(db):
    _append(3)
    assert seal_and_commit().sealed == 3
    _append(2, "later")
    assert seal_and_commit().sealed == 2
    assert seal_and_commit().sealed == 0
    rows = sorted(_rows(), key=lambda r: r.seal_seq)
    assert [r.seal_seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS
    for prev, row in zip(rows, rows[1:]):
        assert row.prev_hash == prev.hash == _row_hash(prev.prev_hash, prev)
    report = verify_audit()
    assert report.intact and report.unsealed == 0 and report.checked == 5


def test_a_sealed_row_edited_by_hand_is_detected(app, db):
    _append(4)
    seal_and_commit()
    third = _rows()[2]
    _raw("UPDATE audit_log SET after = :a WHERE id = :i", a='{"n": 999}', i=third.id)
    report = verify_audit()
    assert not report.intact and report.first_bad.id == third.id and report.checked_before_bad == 2
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"id={third.id}" in result.output


def test_a_rewritten_chain_breaks_at_the_first_changed_row(db):
    _append(3)
    seal_and_commit()
    first = _rows()[0]
    # The row changed and its hash recomputed: it verifies, the next row no longer links to it.
    _raw("UPDATE audit_log SET action = 'forged' WHERE id = :i", i=first.id)
    row = _rows()[0]
    _raw("UPDATE audit_log SET hash = :h WHERE id = :i", h=_row_hash(GENESIS, row), i=row.id)
    report = verify_audit()
    assert not report.intact and report.first_bad.id == _rows()[1].id


def test_a_deleted_sealed_row_leaves_a_gap_in_the_seal_order(db):
    _append(5)
    seal_and_commit()
    middle = _rows()[2]
    _raw("DELETE FROM audit_log WHERE id = :i", i=middle.id)
    report = verify_audit()
    assert not report.intact and (3, 3) in report.gaps


def test_an_unsealed_row_changed_before_sealing_is_detected_and_never_sealed(app, db):
    _append(2)
    seal_and_commit()
    _append(3, "fresh")
    victim = _rows()[3]
    _raw("UPDATE audit_log SET actor_name = '别人' WHERE id = :i", i=victim.id)
    report = verify_audit()
    assert not report.intact and report.first_bad.id == victim.id
    result = seal_and_commit()
    assert result.refused == [victim.id] and result.sealed == 1  # the row before it, not it nor after it
    assert _rows()[3].seal_seq is None and _rows()[4].seal_seq is None
    cli = app.test_cli_runner().invoke(args=["audit", "seal"])
    assert cli.exit_code == 1 and str(victim.id) in cli.output


def test_verify_reports_unsealed_rows_in_the_cli(app, db):
    _append(2)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "尚未封存" in result.output and "2 条" in result.output


def test_the_scheduler_pass_seals(app, db, clock):
    from grants.reminders.jobs import run_pass

    _append(3)
    with app.test_request_context():
        run_pass()
    assert all(r.seal_seq is not None for r in _rows())


# --- PostgreSQL: appends run side by side --------------------------------------------------------

def _in_thread(app, fn):
    def run():
        with app.app_context(), app.test_request_context():
            try:
                fn()
            finally:
                db.session.remove()
    t = threading.Thread(target=run)
    t.start()
    return t


@pytest.mark.postgres_only
def test_an_append_does_not_wait_for_another_transaction(app, db):
    """A transaction holding an appended row open does not hold up another append (no global lock), and the
    sealer seals only what is committed, the open row once it commits."""
    holding, release = threading.Event(), threading.Event()

    def slow():
        record(None, "test.slow", object_type="thing", object_id=1)
        db.session.flush()
        holding.set()
        release.wait(10)
        db.session.commit()

    slow_thread = _in_thread(app, slow)
    assert holding.wait(10)
    t0 = time.monotonic()
    fast = _in_thread(app, lambda: _append(1, "fast"))
    fast.join(10)
    assert not fast.is_alive() and time.monotonic() - t0 < 2
    assert seal_and_commit().sealed == 1  # the fast one; the slow one is not visible yet
    release.set()
    slow_thread.join(10)
    assert seal_and_commit().sealed == 1
    rows = sorted(_rows(), key=lambda r: r.seal_seq)
    assert [r.action for r in rows] == ["test.fast0", "test.slow"]  # seal order, not id order
    assert rows[0].id > rows[1].id and verify_audit().intact


@pytest.mark.postgres_only
def test_many_writers_and_a_sealer_at_once_give_one_intact_chain(app, db):
    writers, per_writer = 12, 15
    stop = threading.Event()
    errors: list = []

    def write(k):
        def run():
            try:
                for i in range(per_writer):
                    record(None, f"test.w{k}.{i}", object_type="thing", object_id=k)
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
        return run

    def seal_loop():
        while not stop.is_set():
            seal_and_commit(batch=7)
            time.sleep(0.01)

    sealer = _in_thread(app, seal_loop)
    threads = [_in_thread(app, write(k)) for k in range(writers)]
    for t in threads:
        t.join(60)
    stop.set()
    sealer.join(60)
    assert not errors
    seal_and_commit()
    rows = _rows()
    assert len(rows) == writers * per_writer
    assert sorted(r.seal_seq for r in rows) == list(range(1, len(rows) + 1))
    report = verify_audit()
    assert report.intact and report.unsealed == 0 and report.checked == len(rows)


@pytest.mark.postgres_only
def test_two_sealers_at_once_seal_each_row_once(app, db):
    _append(40)
    barrier = threading.Barrier(2)
    done = []

    def seal():
        barrier.wait(10)
        done.append(seal_pending(batch=5).sealed)
        db.session.commit()

    threads = [_in_thread(app, seal) for _ in range(2)]
    for t in threads:
        t.join(30)
    assert sorted(done) == [0, 40]
    assert verify_audit().intact
