"""The audit log: record() appends a hash-chained row; verify_chain() finds the first tampered row.

LOCK ORDER — one order for every service, so two transactions never wait for each other in a circle:
  1. the audit chain's lock (`lock_chain()`: a transaction-scoped advisory lock on PostgreSQL, held to commit);
  2. then the rows the service changes, locked with SELECT … FOR UPDATE (a service's own rows first, in id
     order where it locks several: contract, then its payments; the dashboard's application rows last).
Every service that locks a row takes `lock_chain()` before it (finance `_locked`, contract transitions, the
application number, the rectification withhold, the dashboard refresh), and record() takes it too. Before, a
project hold took the chain's lock (its audit row) and then the payment rows, while approve/release took the
payment row and then the chain's lock: a deadlock in 17 of 20 rounds. SQLite serialises writers anyway.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from grants.core.models import AuditLog
from grants.core.timeutil import now
from grants.extensions import db

GENESIS = "0" * 64
_LAST_HASH_KEY = "audit_last_hash"
_PG_LOCK_KEY = 0x6772616E7473  # any constant; serialises appends across workers on PostgreSQL
_LOCKED_KEY = "audit_chain_locked"


def _canonical(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False)) if value is not None else None


def _row_hash(prev_hash: str, row: AuditLog) -> str:
    payload = json.dumps(
        [prev_hash, row.at.isoformat(), row.actor_id, row.actor_name, row.action,
         row.object_type, row.object_id, row.host_unit_id, row.before, row.after],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def lock_chain(session=None) -> None:
    """Take the audit chain's lock now, first of all locks (see LOCK ORDER above); once per transaction."""
    session = session or db.session
    if session.info.get(_LOCKED_KEY):
        return
    if session.get_bind().dialect.name == "postgresql":
        # Held until the transaction ends, so two workers cannot both chain to the same row.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    session.info[_LOCKED_KEY] = True


def _last_hash(session) -> str:
    cached = session.info.get(_LAST_HASH_KEY)
    if cached:
        return cached
    lock_chain(session)
    last = session.scalar(sa.select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1))
    return last or GENESIS


def unit_of(obj) -> int | None:
    """The host unit an object's work belongs to: its own, or its call's."""
    if obj is None:
        return None
    for attr in ("audit_unit_id", "host_unit_id"):
        value = getattr(obj, attr, None)
        if value:
            return value
    call = getattr(obj, "call", None)
    return getattr(call, "host_unit_id", None)


def record(actor, action: str, obj=None, *, before: dict | None = None, after: dict | None = None,
           object_type: str | None = None, object_id: str | int | None = None,
           host_unit_id: int | None = None) -> AuditLog:
    """Append an audit row for `action` by `actor` (None = the system) on `obj`."""
    session = db.session
    if obj is not None:
        if obj in session.new:
            session.flush()  # a new object needs its id before we can name it
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    row = AuditLog(
        at=now(),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "display_name", None) or "系统",
        action=action,
        object_type=object_type or "-",
        object_id=str(object_id if object_id is not None else "-"),
        host_unit_id=host_unit_id or unit_of(obj),
        before=_canonical(before),
        after=_canonical(after),
    )
    row.prev_hash = _last_hash(session)
    row.hash = _row_hash(row.prev_hash, row)
    session.info[_LAST_HASH_KEY] = row.hash
    session.add(row)
    return row


def verify_chain(batch: int = 5000) -> tuple[bool, AuditLog | None, int]:
    """Walk the chain in id order. Returns (intact, first bad row, rows checked)."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch)
        ).all()
        if not rows:
            return True, None, checked
        for row in rows:
            if row.prev_hash != prev or _row_hash(prev, row) != row.hash:
                return False, row, checked
            prev = row.hash
            checked += 1
            last_id = row.id
        db.session.expunge_all()


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _append_only(mapper, connection, target):
    raise RuntimeError("audit_log is append-only")


def _forget_last_hash(session, *args):
    session.info.pop(_LAST_HASH_KEY, None)
    session.info.pop(_LOCKED_KEY, None)


event.listen(Session, "after_commit", _forget_last_hash)
event.listen(Session, "after_rollback", _forget_last_hash)
event.listen(Session, "after_soft_rollback", _forget_last_hash)
