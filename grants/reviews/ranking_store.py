"""The stored ranking of a call (评分排序): computed once per change, read by page.

Every change the ranking depends on — a review submitted or reopened, an assignment added or removed (which
also covers a conflict of interest taking an expert off), a pitch score, a call setting (aggregation, pitch
weight, criteria, quotas…) — calls `mark_ranking_stale(call_id)` in its own transaction, which bumps the
call's `ranking_state.version`. Readers call `ensure_ranking(call)`: when the stored rows were computed at an
older version, the ranking is recomputed once under a lock on the call's ranking_state row (SELECT … FOR
UPDATE on PostgreSQL; SQLite serialises writers anyway) and stored with the version it was computed at. A
writer committing while the recomputation runs waits for the lock and bumps the version after it, so the
rows are stale again and the next reader recomputes: the stored ranking never outlives a change.

Pages then read one page of rows (`ranking_page`), joined with the applications' live columns (name,
status, organisation), so a page of a 10,000-application call costs two small queries.
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.core.timeutil import now
from grants.extensions import db
from grants.reviews.models import RankingRowStored, RankingState


def _insert(table):
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def mark_ranking_stale(call_id: int) -> None:
    """Bump the call's ranking version (in the caller's transaction; the row lock is held until it commits)."""
    stmt = _insert(RankingState.__table__).values(call_id=call_id, version=1)
    stmt = stmt.on_conflict_do_update(index_elements=["call_id"],
                                      set_={"version": RankingState.__table__.c.version + 1})
    db.session.execute(stmt)


def ranking_is_stale(call_id: int) -> bool:
    row = db.session.execute(sa.select(RankingState.version, RankingState.computed_version)
                             .where(RankingState.call_id == call_id)).first()
    return row is None or row.computed_version != row.version


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def recompute(call) -> int:
    """Recompute and store the call's ranking if it is stale, under the lock; commits. Returns the version."""
    from grants.reviews.services import compute_ranking

    db.session.execute(_insert(RankingState.__table__).values(call_id=call.id, version=0)
                       .on_conflict_do_nothing(index_elements=["call_id"]))
    state = db.session.execute(sa.select(RankingState.version, RankingState.computed_version)
                               .where(RankingState.call_id == call.id).with_for_update()).one()
    if state.computed_version == state.version:  # another request recomputed while this one waited
        db.session.commit()
        return state.version
    rows = compute_ranking(call, rows_only=True)
    table = RankingRowStored.__table__
    db.session.execute(sa.delete(table).where(table.c.call_id == call.id))
    values = [dict(call_id=call.id, application_id=r.application.id, category_id=r.category_id,
                   rank_overall=r.rank_overall, rank_in_category=r.rank_in_category,
                   written_score=_text(r.written_score), pitch_score=_text(r.pitch_score),
                   final_score=_text(r.final_score), std_dev=_text(r.std_dev), spread=_text(r.spread),
                   flagged=bool(r.flagged), review_count=r.review_count, pitch_review_count=r.pitch_review_count,
                   assigned_count=r.assigned_count, complete=bool(r.complete), mean_z=r.mean_z,
                   review_sums=",".join(str(s) for s in sorted(r.review_sums)), max_points=r.max_points)
              for r in rows]
    for start in range(0, len(values), 5000):
        db.session.execute(sa.insert(table), values[start:start + 5000])
    db.session.execute(sa.update(RankingState.__table__).where(RankingState.__table__.c.call_id == call.id)
                       .values(computed_version=state.version, computed_at=now()))
    db.session.commit()
    return state.version


def ensure_ranking(call) -> None:
    """Make the stored ranking current (one cheap query when it already is)."""
    if ranking_is_stale(call.id):
        recompute(call)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _rows_stmt(call_id: int):
    from grants.applications.models import Application
    from grants.calls.models import CallCategory
    from grants.organizations.models import Organization

    t = RankingRowStored
    return (sa.select(t, Application.number, Application.project_name, Application.status,
                      Application.submitted_at, Application.requested_fen, Application.category_id,
                      Application.organization_id, Organization.name, CallCategory.name)
            .join(Application, Application.id == t.application_id)
            .join(Organization, Organization.id == Application.organization_id)
            .outerjoin(CallCategory, CallCategory.id == Application.category_id)
            .where(t.call_id == call_id))


def _to_row(stored: RankingRowStored, number, name, status, submitted_at, requested, cat_id, org_id, org, cat):
    from grants.reviews.services import RankedApplication, RankingRow, _Named, spread_threshold

    spread = _decimal(stored.spread)
    app = RankedApplication(stored.application_id, number, name, status, submitted_at, requested, cat_id,
                            _Named(org), _Named(cat) if cat_id is not None else None)
    return RankingRow(
        application=app, category_id=stored.category_id, written_score=_decimal(stored.written_score),
        pitch_score=_decimal(stored.pitch_score), final_score=_decimal(stored.final_score),
        review_count=stored.review_count, std_dev=_decimal(stored.std_dev), spread=spread,
        # the threshold is configuration, read now rather than kept with the row
        flagged=spread is not None and spread > spread_threshold(), rank_overall=stored.rank_overall,
        rank_in_category=stored.rank_in_category,
        pitch_review_count=stored.pitch_review_count, assigned_count=stored.assigned_count,
        complete=stored.complete, mean_z=stored.mean_z,
        review_sums=[int(s) for s in stored.review_sums.split(",") if s], max_points=stored.max_points)


def ranking_page(call, *, offset: int, limit: int, category: int | None = None) -> tuple[list, int]:
    """One page of the stored ranking (RankingRow objects with column-only applications) and the total
    number of rows, overall or within a category. Call ensure_ranking first."""
    t = RankingRowStored
    stmt = _rows_stmt(call.id)
    count = sa.select(sa.func.count()).select_from(t).where(t.call_id == call.id)
    if category is not None:
        stmt = stmt.where(t.category_id == category).order_by(t.rank_in_category)
        count = count.where(t.category_id == category)
    else:
        stmt = stmt.order_by(t.rank_overall)
    total = db.session.scalar(count) or 0
    rows = [_to_row(*r) for r in db.session.execute(stmt.limit(limit).offset(offset))]
    return rows, total


def stored_ranking(call) -> list:
    """The whole stored ranking, best first (for tests and exports; pages use ranking_page)."""
    stmt = _rows_stmt(call.id).order_by(RankingRowStored.rank_overall)
    return [_to_row(*r) for r in db.session.execute(stmt)]


def rank_of(call, application_id: int) -> int | None:
    """The application's overall rank in the stored ranking (None when it is not ranked)."""
    ensure_ranking(call)
    return db.session.scalar(sa.select(RankingRowStored.rank_overall).where(
        RankingRowStored.call_id == call.id, RankingRowStored.application_id == application_id))
