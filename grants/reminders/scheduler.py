"""The scheduler process: exactly one active instance, the others stand by.

APScheduler 3 runs jobs twice when two processes share a job store, so there is no shared job store:
each process keeps an in-memory interval job, and only the process holding the leader lock runs it.
On PostgreSQL the lock is `pg_try_advisory_lock` on a dedicated connection kept open for the life of
the process (it is released by the server when the process dies); on SQLite it is a file lock next to
the database file. Standbys retry every few seconds, so killing the active instance hands over.

What is due is always computed from the data (jobs.run_pass), so nothing is lost while no instance runs.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
import uuid
import zlib
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from flask import Flask
from sqlalchemy.pool import NullPool

from grants.core.timeutil import now
from grants.extensions import db
from grants.reminders.jobs import PassResult, run_pass
from grants.reminders.models import SchedulerInstance

log = logging.getLogger(__name__)

# Any constant shared by every instance of this application (63-bit).
ADVISORY_LOCK_KEY = zlib.crc32(b"grants.reminders.scheduler") * 7919
DEFAULT_INTERVAL = 60
DEFAULT_STANDBY_RETRY = 5
# A standby row silent for this many heartbeat periods belongs to a dead process and is removed.
MISSED_HEARTBEATS = 3


def heartbeat_period(interval: int = DEFAULT_INTERVAL, standby_retry: int = DEFAULT_STANDBY_RETRY) -> int:
    """The longest a live instance stays silent between two beats (outside a long pass)."""
    return max(interval, standby_retry)


class PgAdvisoryLock:
    """Session-level advisory lock on its own connection (AUTOCOMMIT, outside the pool)."""

    kind = "postgresql"

    def __init__(self, url: sa.URL | str, key: int = ADVISORY_LOCK_KEY):
        self.engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.key = key
        self.conn: sa.Connection | None = None
        self.held = False

    def acquire(self) -> bool:
        try:
            if self.conn is None:
                self.conn = self.engine.connect()
            self.held = bool(self.conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except sa.exc.DBAPIError:
            self._drop()
        return self.held

    def still_held(self) -> bool:
        """False once the connection (and with it the lock) is gone."""
        if not self.held or self.conn is None:
            return False
        try:
            self.conn.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError:
            self._drop()
        return self.held

    def _drop(self) -> None:
        self.held = False
        if self.conn is not None:
            try:
                self.conn.close()
            except sa.exc.DBAPIError:
                pass
        self.conn = None

    def release(self) -> None:
        if self.conn is not None and self.held:
            try:
                self.conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except sa.exc.DBAPIError:
                pass
        self._drop()
        self.engine.dispose()


class FileLeaderLock:
    """An exclusive file lock (flock) next to the SQLite database; the OS releases it when the process dies."""

    kind = "file"

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.lock = FileLock(self.path, thread_local=False)
        self.held = False

    def acquire(self) -> bool:
        if not self.held:
            try:
                self.lock.acquire(timeout=0)
                self.held = True
            except Timeout:
                self.held = False
        return self.held

    def still_held(self) -> bool:
        return self.held and self.lock.is_locked

    def release(self) -> None:
        if self.held:
            self.lock.release(force=True)
        self.held = False


def leader_lock(app: Flask):
    """The lock that fits the configured database."""
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return PgAdvisoryLock(url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        path = Path(database).resolve().with_suffix(".scheduler.lock")
    else:
        path = Path(app.instance_path) / "scheduler.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLeaderLock(path)


class Heartbeat:
    """This process's row in scheduler_instance: active or standby, last and next pass."""

    def __init__(self, lock_kind: str, *, period_seconds: int = DEFAULT_INTERVAL):
        self.key = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock_kind = lock_kind
        self.period = dt.timedelta(seconds=period_seconds)
        # Once retired (the process is stopping), a pass still finishing in a worker thread must not
        # write the row back.
        self.retired = False

    def beat(self, *, active: bool, result: PassResult | None = None, next_at: dt.datetime | None = None,
             error: str | None = None) -> None:
        if self.retired:
            return
        try:
            row = db.session.scalar(sa.select(SchedulerInstance).where(SchedulerInstance.instance_key == self.key))
            if row is None:
                row = SchedulerInstance(instance_key=self.key, hostname=socket.gethostname()[:100], pid=os.getpid(),
                                        lock_kind=self.lock_kind, started_at=now())
                db.session.add(row)
            if active and not row.is_active:
                # The previous active instance is gone (we hold the lock): it no longer counts as active.
                db.session.execute(sa.update(SchedulerInstance).where(SchedulerInstance.instance_key != self.key)
                                   .values(is_active=False))
            row.is_active = active
            row.heartbeat_at = now()
            if result is not None:
                row.last_pass_at = result.at
                row.last_pass_ms = result.duration_ms
                row.last_pass_delivered = result.delivered
                row.last_error = "; ".join(result.errors)[:500]
            if error is not None:
                row.last_error = error[:500]
            if next_at is not None:
                row.next_pass_at = next_at
            # Standby rows silent for a few heartbeats belong to dead processes (a killed active instance is
            # marked standby above by the one that takes over). A row still marked active may be in a long
            # pass, so it goes only after a day of silence.
            db.session.execute(sa.delete(SchedulerInstance).where(
                SchedulerInstance.instance_key != self.key,
                sa.or_(sa.and_(SchedulerInstance.is_active.is_(False),
                               SchedulerInstance.heartbeat_at < now() - MISSED_HEARTBEATS * self.period),
                       SchedulerInstance.heartbeat_at < now() - dt.timedelta(days=1))))
            db.session.commit()
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            log.exception("scheduler heartbeat failed")

    def retire(self) -> None:
        self.retired = True
        try:
            db.session.execute(sa.delete(SchedulerInstance).where(SchedulerInstance.instance_key == self.key))
            db.session.commit()
        except sa.exc.SQLAlchemyError:
            db.session.rollback()


def run_once(app: Flask, echo=print) -> PassResult | None:
    """One pass if no other instance is active (cron users, tests); None when another one is."""
    with app.app_context():
        lock = leader_lock(app)
        if not lock.acquire():
            echo("另一个调度实例正在运行，本次不执行。")
            return None
        heartbeat = Heartbeat(lock.kind)
        try:
            result = run_pass()
            heartbeat.beat(active=True, result=result)
            heartbeat.retire()
            echo(result.summary())
            return result
        finally:
            lock.release()


def run_forever(app: Flask, *, interval: int, standby_retry: int, echo=print,
                stop: threading.Event | None = None) -> None:
    """Stand by until this process holds the lock, then run a pass every `interval` seconds with
    APScheduler's BlockingScheduler; if the lock is lost, go back to standing by."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    stop = stop or threading.Event()

    def _terminate(signum, frame):
        stop.set()
        raise SystemExit(0)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)

    with app.app_context():
        lock = leader_lock(app)
        heartbeat = Heartbeat(lock.kind, period_seconds=heartbeat_period(interval, standby_retry))
        try:
            while not stop.is_set():
                if not lock.acquire():
                    heartbeat.beat(active=False)
                    echo(f"备用实例 {heartbeat.key}：另一个实例正在运行，{standby_retry} 秒后重试。")
                    stop.wait(standby_retry)
                    continue
                echo(f"调度实例 {heartbeat.key} 已成为活动实例（{lock.kind} 锁），每 {interval} 秒执行一次。")
                # Shown as active at once, not only when the first (possibly long) pass has ended.
                heartbeat.beat(active=True, next_at=now())
                scheduler = BlockingScheduler(timezone=dt.timezone.utc)

                def tick():
                    with app.app_context():
                        if stop.is_set() or not lock.still_held():
                            echo("已失去调度锁，转为备用。")
                            scheduler.shutdown(wait=False)
                            return
                        try:
                            result = run_pass()
                        except Exception as exc:  # keep the scheduler alive; the next pass retries
                            db.session.rollback()
                            log.exception("scheduler pass failed")
                            heartbeat.beat(active=True, error=f"{type(exc).__name__}: {exc}")
                            return
                        job = scheduler.get_job("reminders-pass")
                        next_at = job.next_run_time if job else None
                        heartbeat.beat(active=True, result=result, next_at=next_at)
                        if (result.actions or result.delivered or result.errors or result.mail.sent
                                or result.mail.failed or result.mail.uncertain):
                            echo(result.summary())

                def seal():
                    # The audit rows appended since the last run, sealed into the hash chain in order
                    # (grants/core/audit.py, APPEND, THEN SEAL): every few seconds, apart from the slower pass.
                    with app.app_context():
                        if stop.is_set() or not lock.still_held():
                            return
                        try:
                            from grants.core.audit import seal_and_commit

                            seal_and_commit()
                        except Exception:  # the next run retries
                            db.session.rollback()
                            log.exception("audit sealing failed")

                seal_every = int(app.config.get("AUDIT_SEAL_SECONDS", 2))
                scheduler.add_job(seal, "interval", seconds=seal_every, id="audit-seal", max_instances=1,
                                  coalesce=True, misfire_grace_time=seal_every)
                scheduler.add_job(tick, "interval", seconds=interval, id="reminders-pass", max_instances=1,
                                  coalesce=True, misfire_grace_time=interval,
                                  next_run_time=dt.datetime.now(dt.timezone.utc))
                scheduler.start()  # blocks until tick() shuts it down or the process is told to stop
                if not stop.is_set():
                    lock.release()
                    time.sleep(min(standby_retry, 1))
        finally:
            lock.release()
            heartbeat.retire()
