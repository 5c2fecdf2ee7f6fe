"""Only one scheduler instance is active: PostgreSQL advisory lock or a file lock beside SQLite; a
standby takes over when the active process dies."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from grants.reminders.models import SchedulerInstance
from grants.reminders.scheduler import FileLeaderLock, PgAdvisoryLock, leader_lock
from tests.conftest import DB_KIND

ROOT = Path(__file__).resolve().parents[2]


def _url(db) -> str:
    return db.engine.url.render_as_string(hide_password=False)


@pytest.mark.postgres_only
def test_two_advisory_locks_cannot_both_be_held(db):
    a, b = PgAdvisoryLock(db.engine.url), PgAdvisoryLock(db.engine.url)
    try:
        assert a.acquire() is True
        assert b.acquire() is False
        assert a.still_held() and not b.still_held()
        a.release()
        assert b.acquire() is True
        assert a.acquire() is False
    finally:
        a.release()
        b.release()


@pytest.mark.postgres_only
def test_advisory_lock_dies_with_its_connection(db):
    a, b = PgAdvisoryLock(db.engine.url), PgAdvisoryLock(db.engine.url)
    try:
        assert a.acquire()
        pid = a.conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with db.engine.connect() as conn:  # the server drops the active instance's session
            conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            conn.commit()
        assert a.still_held() is False
        assert b.acquire() is True
    finally:
        a.release()
        b.release()


def test_two_file_locks_cannot_both_be_held(tmp_path):
    path = tmp_path / "db.scheduler.lock"
    a, b = FileLeaderLock(path), FileLeaderLock(path)
    try:
        assert a.acquire() is True
        assert b.acquire() is False
        a.release()
        assert b.acquire() is True
        assert a.acquire() is False
    finally:
        a.release()
        b.release()


def test_lock_matches_the_database(app, db):
    lock = leader_lock(app)
    try:
        if DB_KIND == "postgresql":
            assert isinstance(lock, PgAdvisoryLock)
        else:
            assert isinstance(lock, FileLeaderLock)
            assert lock.path.endswith(".scheduler.lock")
            assert Path(lock.path).parent == Path(db.engine.url.database).resolve().parent
    finally:
        lock.release()


HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from grants.reminders.scheduler import FileLeaderLock, PgAdvisoryLock
kind, target = sys.argv[1], sys.argv[2]
lock = PgAdvisoryLock(target) if kind == "postgresql" else FileLeaderLock(target)
print("held" if lock.acquire() else "standby", flush=True)
time.sleep(120)
"""


def test_a_second_process_is_excluded_until_the_first_dies(app, db):
    """Another process holds the lock; killing it (no clean-up) lets this one take over."""
    probe = leader_lock(app)
    target = _url(db) if probe.kind == "postgresql" else probe.path
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(ROOT)), probe.kind, target],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert probe.acquire() is False
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not probe.acquire():  # the server notices the dead session within moments
            assert time.monotonic() < deadline, "the lock was not released when its process died"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        probe.release()


def _instances(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(SchedulerInstance)).all()


def _wait_for(check, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    return check()


def test_two_scheduler_processes_one_active_standby_takes_over(app, db, tmp_path):
    """`flask scheduler run` twice: one active, one standby; kill the active one and the standby takes over."""
    env = dict(os.environ, DATABASE_URL=_url(db), GRANTS_INSTANCE_DIR=str(tmp_path), FLASK_APP="wsgi",
               PYTHONPATH=str(ROOT))
    env.pop("GRANTS_ENV", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run", "--interval", "1",
             "--standby-retry", "1"]
    procs = [subprocess.Popen(flask, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(2)]
    try:
        rows = _wait_for(lambda: (lambda r: r if len(r) == 2 and any(i.last_pass_at for i in r) else None)(
            _instances(db)), seconds=90)  # starting Flask takes seconds on a busy machine
        assert rows, "both schedulers should report in"
        active = [r for r in rows if r.is_active]
        assert len(active) == 1, [(r.pid, r.is_active) for r in rows]
        # Several passes later there is still only one active instance.
        time.sleep(2.5)
        assert [r.pid for r in _instances(db) if r.is_active] == [active[0].pid]
        victim = next(p for p in procs if p.pid == active[0].pid)
        survivor = next(p for p in procs if p.pid != active[0].pid)
        victim.kill()
        victim.wait(timeout=10)
        took_over = _wait_for(lambda: [r for r in _instances(db) if r.is_active and r.pid == survivor.pid], 30)
        assert took_over, "the standby should take over"
        assert survivor.poll() is None
        # A clean stop (SIGTERM) removes the instance's row.
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=30)
        assert _wait_for(lambda: not [r for r in _instances(db) if r.pid == survivor.pid], 10)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
