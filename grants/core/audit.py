"""The audit log: record() appends a row; seal_pending() links the appended rows into the hash chain, in order,
shortly after; verify_audit() finds the first tampered row; checkpoints signed with a key outside the database
(AUDIT_KEY) reveal rows cut off the end and rewritten chains.

APPEND, THEN SEAL. record() takes no lock: it writes the row with its own content hash (`hash` =
_row_hash(UNSEALED, row), `prev_hash` and `seal_seq` empty), so any number of transactions append at once.
Until 2026-12 every append took one global lock (an advisory lock held to commit) to read the chain's head, and
under a deadline rush every submission in the programme queued on it (docs/BENCHMARKS.md, deadline rush).
seal_pending() — the scheduler runs it every AUDIT_SEAL_SECONDS, and before each checkpoint — takes the
sealing lock, checks each committed unsealed row against its content hash (a row changed since it was written
is reported and not sealed over), and gives it the next `seal_seq`, `prev_hash` = the chain's head and `hash` =
_row_hash(prev_hash, row). The chain's order is `seal_seq`, not `id` (ids are handed out at insert, rows become
visible at commit, in another order). verify_audit() walks the sealed rows in seal order (a missing seal_seq is
a deleted row) and checks every unsealed row's content hash; `audit verify` names the oldest unsealed row (old
ones mean the scheduler, and so the sealer, is not running).

LOCK ORDER — one order for every service, so two transactions never wait for each other in a circle: the rows a
service changes, locked with SELECT … FOR UPDATE, a service's own rows first, in id order where it locks
several (contract, then its payments; the dashboard's application rows last). The audit log adds no lock of its
own any more (only the sealer and the checkpoint writer take the sealing lock, and hold no row locks of others).
`lock_chain()` is kept for the services that call it before their row locks, and takes nothing. SQLite
serialises writers anyway.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from grants.core.models import AuditLog
from grants.core.timeutil import now
from grants.extensions import db

GENESIS = "0" * 64
UNSEALED = "unsealed"  # what an unsealed row's content hash is chained to
_PG_LOCK_KEY = 0x6772616E7473  # any constant; the sealing lock on PostgreSQL
_LOCKED_KEY = "audit_chain_locked"


def _canonical(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False)) if value is not None else None


def _row_hash(prev_hash: str, row: AuditLog) -> str:
    fields = [prev_hash, row.at.isoformat(), row.actor_id, row.actor_name, row.action,
              row.object_type, row.object_id, row.host_unit_id, row.before, row.after]
    # Version 1 rows (before revision 0004) were hashed without the unit columns, which the migration filled
    # afterwards; version 2 rows hash them too, so moving a row out of a unit's sight breaks the chain.
    if (row.hash_version or 1) >= 2:
        fields += [row.unit_id, row.unit2_id]
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def lock_chain(session=None) -> None:
    """Nothing to take any more: appending to the audit log needs no lock (see APPEND, THEN SEAL above). Kept
    so that the services' calls before their row locks stay where the LOCK ORDER note puts them."""


def lock_sealing(session=None) -> None:
    """The sealing lock, held to the end of the transaction: one sealer (or checkpoint writer) at a time."""
    session = session or db.session
    if session.info.get(_LOCKED_KEY):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    session.info[_LOCKED_KEY] = True


@dataclass
class SealResult:
    sealed: int = 0
    refused: list[int] = field(default_factory=list)  # unsealed rows whose content no longer matches


def _chain_head(session) -> tuple[int, str, int | None]:
    """(last seal_seq, its hash, its row id) of the sealed chain; (0, GENESIS, None) when empty."""
    head = session.execute(sa.select(AuditLog.seal_seq, AuditLog.hash, AuditLog.id)
                           .where(AuditLog.seal_seq.is_not(None))
                           .order_by(AuditLog.seal_seq.desc()).limit(1)).first()
    return (head[0], head[1], head[2]) if head else (0, GENESIS, None)


def seal_pending(session=None, batch: int = 2000, limit: int | None = None) -> SealResult:
    """Link the committed unsealed rows into the chain, oldest id first, in the caller's transaction (the
    caller commits). Stops at a row whose content changed since it was written: that row stays unsealed and
    verify_audit() names it; sealing over it would bless the change."""
    session = session or db.session
    lock_sealing(session)
    seq, prev, _id = _chain_head(session)
    result = SealResult()
    table = AuditLog.__table__
    while limit is None or result.sealed < limit:
        rows = session.scalars(sa.select(AuditLog).where(AuditLog.seal_seq.is_(None)).order_by(AuditLog.id)
                               .limit(batch).execution_options(populate_existing=True)).all()
        if not rows:
            break
        updates = []
        for row in rows:
            if row.hash != _row_hash(UNSEALED, row):
                result.refused.append(row.id)
                break
            seq += 1
            new_hash = _row_hash(prev, row)
            updates.append({"row_id": row.id, "seq": seq, "prev": prev, "new_hash": new_hash})
            prev = new_hash
        if updates:
            # Core UPDATE: the ORM guard keeps every other path from changing a row.
            session.execute(table.update().where(table.c.id == sa.bindparam("row_id"))
                            .values(seal_seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev"),
                                    hash=sa.bindparam("new_hash")), updates)
            result.sealed += len(updates)
        for row in rows:
            session.expunge(row)
        if result.refused or len(rows) < batch:
            break
    return result


def seal_and_commit(batch: int = 2000) -> SealResult:
    """The scheduler's step: seal what is pending, commit, and log a refused (changed) row."""
    result = seal_pending(batch=batch)
    db.session.commit()
    if result.refused:
        import logging

        logging.getLogger(__name__).error("audit row %s changed before it was sealed: not sealed", result.refused[0])
    return result


# Objects that belong to no unit: their rows are platform-wide, read only by admins and city-level auditors.
PLATFORM_OBJECT_TYPES = frozenset({"holiday", "holiday_year", "outbox_mail", "outbox_sms", "reminder_rule",
                                   "two_factor_policy", "notice_template", "webhook_endpoint", "webhook_delivery"})
# The relations walked from an object towards the unit whose work it is (the first that leads to one wins).
_UNIT_PATHS = ("call", "contract", "tranche", "application", "notice", "selection", "payment", "report",
               "assignment", "nomination", "organization", "user")  # a token or a message: its holder's unit


def _path_unit(obj, depth: int = 0) -> int | None:
    if obj is None or depth > 6:
        return None
    if obj.__tablename__ == "host_unit":
        return obj.id
    value = getattr(obj, "host_unit_id", None)
    if value:
        return value
    for attr in _UNIT_PATHS:
        nxt = getattr(obj, attr, None)
        if nxt is not None and hasattr(nxt, "__tablename__"):
            found = _path_unit(nxt, depth + 1)
            if found:
                return found
    call_id = getattr(obj, "call_id", None)
    if call_id:
        from grants.calls.models import Call

        call = db.session.get(Call, call_id)
        return call.host_unit_id if call else None
    return None


def units_of(obj) -> tuple[int | None, int | None]:
    """The host unit(s) whose work `obj` is — the one place every audit row's units come from.

    Calls and everything of a call (applications, awards, notices, objections, panels, conflicts, reviews,
    contracts, tranches, reports, assessments, payments, holds) belong to the call's host unit; brand
    selections to theirs; an organisation to the unit it is registered with; an expert profile to the unit
    that recruited the expert; a user to their unit (an applicant to their organisation's, an expert to their
    profile's); a host unit to its parent and to itself. Holidays, mail and platform rules belong to none.
    """
    if obj is None:
        return None, None
    table = obj.__tablename__
    if table in PLATFORM_OBJECT_TYPES:
        return None, None
    if table == "host_unit":
        return (obj.parent_id, obj.id) if obj.parent_id else (obj.id, None)
    if table == "user":
        if obj.host_unit_id:
            return obj.host_unit_id, None
        if obj.membership is not None:
            return obj.membership.organization.host_unit_id, None
        from grants.reviews.models import ExpertProfile

        unit = db.session.scalar(sa.select(ExpertProfile.host_unit_id).where(ExpertProfile.user_id == obj.id))
        return unit, None
    if table == "panel_member":
        # The panel is the call's; the expert's recruiting unit also sees where its experts serve.
        from grants.reviews.models import ExpertProfile

        expert_unit = db.session.scalar(sa.select(ExpertProfile.host_unit_id)
                                        .where(ExpertProfile.user_id == obj.user_id))
        call_unit = _path_unit(obj)
        return call_unit, (expert_unit if expert_unit != call_unit else None)
    return _path_unit(obj), None


def unit_of(obj) -> int | None:
    """The (first) host unit an object's work belongs to."""
    return units_of(obj)[0]


class AuditUnitMissing(AssertionError):
    """A row that should belong to a unit got none (raised only where AUDIT_REQUIRE_UNIT is set: the tests)."""


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
    unit, unit2 = units_of(obj)
    if host_unit_id and host_unit_id != unit:
        unit, unit2 = host_unit_id, unit2 or unit
    if unit is None and unit2 is not None:
        unit, unit2 = unit2, None
    if unit is None and obj is not None and object_type not in PLATFORM_OBJECT_TYPES and _require_unit() \
            and not _platform_user(obj):
        raise AuditUnitMissing(f"audit row {action} on {object_type} #{object_id} has no host unit")
    row = AuditLog(
        at=now(),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "display_name", None) or "系统",
        action=action,
        object_type=object_type or "-",
        object_id=str(object_id if object_id is not None else "-"),
        host_unit_id=unit,
        unit_id=unit,
        unit2_id=unit2,
        hash_version=2,
        before=_canonical(before),
        after=_canonical(after),
    )
    row.prev_hash = None
    row.hash = _row_hash(UNSEALED, row)  # the row's own content; sealed into the chain by seal_pending()
    session.add(row)
    return row


def _require_unit() -> bool:
    from flask import current_app, has_app_context

    return has_app_context() and bool(current_app.config.get("AUDIT_REQUIRE_UNIT"))


def _platform_user(obj) -> bool:
    """Accounts outside every unit (administrators, third-party evaluators, experts not yet in a pool) and their
    API tokens."""
    return obj is not None and obj.__tablename__ in ("user", "api_token")


def verify_chain(batch: int = 5000) -> tuple[bool, AuditLog | None, int]:
    """Walk the chain in id order. Returns (intact, first bad row, rows checked)."""
    report = verify_audit(batch=batch, with_checkpoints=False)
    return report.intact, report.first_bad, report.checked_before_bad


# --- checkpoints -------------------------------------------------------------------------------------

def audit_key() -> bytes:
    """The checkpoint signing key: AUDIT_KEY (never stored in the database), stretched to 32 bytes."""
    from flask import current_app

    secret = current_app.config.get("AUDIT_KEY") or ""
    if not secret:
        raise RuntimeError("AUDIT_KEY is not set: checkpoints cannot be signed or checked")
    return hashlib.sha256(b"grants-audit-checkpoint:" + secret.encode("utf-8")).digest()


def _checkpoint_message(last_id: int, last_hash: str, row_count: int, at) -> bytes:
    return f"{last_id}|{last_hash}|{row_count}|{at.isoformat()}".encode()


def sign_checkpoint(last_id: int, last_hash: str, row_count: int, at) -> str:
    return hmac.new(audit_key(), _checkpoint_message(last_id, last_hash, row_count, at), hashlib.sha256).hexdigest()


def write_checkpoint(source: str = "cli"):
    """Sign the current chain head (last id, its hash, the number of rows) and store the checkpoint."""
    from grants.core.models import AuditCheckpoint

    seal_pending()  # seal what is pending (under the sealing lock, kept to commit: the head stays put)
    count, last_hash, last_id = _chain_head(db.session)
    last_id = last_id or 0
    at = now()
    cp = AuditCheckpoint(at=at, last_id=last_id, last_hash=last_hash, row_count=count, source=source,
                         signature=sign_checkpoint(last_id, last_hash, count, at))
    db.session.add(cp)
    db.session.flush()
    return cp


def checkpoint_if_due(at=None):
    """The scheduler's checkpoint: when AUDIT_KEY is set, the chain head has moved since the last checkpoint
    and that one is older than AUDIT_CHECKPOINT_MINUTES. Returns the new checkpoint or None."""
    import datetime as _dt

    from flask import current_app

    from grants.core.models import AuditCheckpoint

    if not current_app.config.get("AUDIT_KEY"):
        return None
    at = at or now()
    last = db.session.scalar(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    seal_pending()
    head = _chain_head(db.session)[2] or 0  # the sealed chain's last row (what a checkpoint would name)
    if last is not None and (last.last_id == head or
                             at - last.at < _dt.timedelta(minutes=current_app.config.get("AUDIT_CHECKPOINT_MINUTES", 60))):
        return None
    return write_checkpoint(source="scheduler")


def checkpoint_line(cp) -> str:
    """One checkpoint as a line of text, to keep outside the database (a file, a mail to the auditors)."""
    return json.dumps({"id": cp.id, "at": cp.at.isoformat(), "last_id": cp.last_id, "last_hash": cp.last_hash,
                       "row_count": cp.row_count, "signature": cp.signature}, ensure_ascii=False)


@dataclass
class VerifyReport:
    """What `audit verify` found: the first row whose hash breaks, ids missing, checkpoints that disagree."""
    intact: bool = True
    checked: int = 0
    first_bad: AuditLog | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (missing from, missing to) id ranges
    problems: list[str] = field(default_factory=list)
    checkpoints_checked: int = 0
    checked_before_bad: int = 0  # rows that verified before the first bad one
    unsealed: int = 0  # rows appended and not sealed into the chain yet (checked against their own hash)
    oldest_unsealed: object = None  # when the oldest of them was written


def verify_audit(batch: int = 5000, with_checkpoints: bool = True, external: list[dict] | None = None) -> VerifyReport:
    """Walk the sealed chain in seal order and hold it against the signed checkpoints (stored and `external`
    ones), then check every unsealed row against its own content hash.

    A checkpoint says "row <last_id> existed with hash <last_hash>, and there were <row_count> rows": a chain
    cut short (deleted tail), a chain recomputed from some row on (rewritten: the hash at last_id differs), and
    deleted rows in the middle (ids missing, fewer rows) all disagree with it. Its signature needs AUDIT_KEY,
    which the database does not hold, so a forged checkpoint is caught too.
    """
    from grants.core.models import AuditCheckpoint

    report = VerifyReport()
    checkpoints: list[dict] = []
    if with_checkpoints:
        for cp in db.session.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
            checkpoints.append({"id": cp.id, "at": cp.at, "last_id": cp.last_id, "last_hash": cp.last_hash,
                                "row_count": cp.row_count, "signature": cp.signature, "where": "db"})
    for item in external or []:
        import datetime as _dt

        at = item["at"] if not isinstance(item["at"], str) else _dt.datetime.fromisoformat(item["at"])
        checkpoints.append({**item, "at": at, "where": "file"})
    by_last_id: dict[int, list[dict]] = {}
    for cp in checkpoints:
        expected = sign_checkpoint(cp["last_id"], cp["last_hash"], cp["row_count"], cp["at"])
        if not hmac.compare_digest(expected, cp["signature"]):
            report.intact = False
            report.problems.append(f"检查点 #{cp.get('id')}（{cp['where']}）签名无效：检查点被伪造或改动")
            continue
        by_last_id.setdefault(cp["last_id"], []).append(cp)

    prev = GENESIS
    last_seq = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.seal_seq > last_seq).order_by(AuditLog.seal_seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            # seal_seq is handed out without gaps (a rolled-back sealing hands back its whole batch): a gap is
            # a sealed row deleted.
            gap = (last_seq + 1, row.seal_seq - 1) if row.seal_seq != last_seq + 1 else None
            broken = row.prev_hash != prev or _row_hash(prev, row) != row.hash
            if gap:
                report.gaps.append(gap)
                report.problems.append(f"封存序号 {gap[0]}–{gap[1]} 缺失（第 {row.id} 条之前）：已封存的记录被删除")
            if report.first_bad is None and broken:
                report.first_bad = row
            if report.first_bad is None:
                report.checked_before_bad += 1
            report.checked += 1
            for cp in by_last_id.pop(row.id, []):
                report.checkpoints_checked += 1
                if cp["last_hash"] != row.hash:
                    report.problems.append(
                        f"检查点 #{cp.get('id')}（{cp['at'].isoformat()}）记录的第 {row.id} 条哈希与现存不同：哈希链被重算改写")
                if cp["row_count"] != report.checked:
                    report.problems.append(
                        f"检查点 #{cp.get('id')} 时共 {cp['row_count']} 条，现存截至第 {row.id} 条只有 {report.checked} 条：中间记录被删除")
            prev = row.hash
            last_seq = row.seal_seq
            last_id = row.id
        for row in rows:  # keep memory flat over millions of rows, leaving the caller's objects alone
            db.session.expunge(row)
    # The rows appended since the last sealing: each must still match the content hash it was written with.
    after_id = 0
    while True:
        rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.seal_seq.is_(None), AuditLog.id > after_id)
                                  .order_by(AuditLog.id).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            report.unsealed += 1
            report.oldest_unsealed = report.oldest_unsealed or row.at
            if row.prev_hash is not None or row.hash != _row_hash(UNSEALED, row):
                if report.first_bad is None:
                    report.first_bad = row
            elif report.first_bad is None:
                report.checked_before_bad += 1
            report.checked += 1
            after_id = row.id
        for row in rows:
            db.session.expunge(row)
    # Checkpoints naming rows that no longer exist: the tail (or those rows) was deleted.
    for cp_id, cps in sorted(by_last_id.items()):
        if cp_id == 0:
            continue
        for cp in cps:
            report.checkpoints_checked += 1
            report.problems.append(
                f"检查点 #{cp.get('id')}（{cp['at'].isoformat()}）记录的第 {cp['last_id']} 条已不存在"
                f"（现存最后一条为第 {last_id} 条）：末尾记录被删除")
    if report.first_bad is not None or report.problems:
        report.intact = False
    return report


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _append_only(mapper, connection, target):
    raise RuntimeError("audit_log is append-only")


def _checkpoints_append_only(mapper, connection, target):
    raise RuntimeError("audit_checkpoint is append-only")


def _register_checkpoint_guard():
    from grants.core.models import AuditCheckpoint

    event.listen(AuditCheckpoint, "before_update", _checkpoints_append_only)
    event.listen(AuditCheckpoint, "before_delete", _checkpoints_append_only)


_register_checkpoint_guard()


def _forget_last_hash(session, *args):
    session.info.pop(_LOCKED_KEY, None)


event.listen(Session, "after_commit", _forget_last_hash)
event.listen(Session, "after_rollback", _forget_last_hash)
event.listen(Session, "after_soft_rollback", _forget_last_hash)
