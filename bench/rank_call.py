"""Measure compute_ranking() on a call of 5,000 applications × 5 submitted reviews × 5 criteria.

    .venv/bin/python bench/rank_call.py                 # SQLite file in a temporary directory
    .venv/bin/python bench/rank_call.py --postgresql    # a throwaway database on 127.0.0.1:5432

The rows are built with bulk inserts (about 160,000 rows); the ranking is then timed cold (a fresh session
each run, nothing cached) and the figures printed. A measurement, not a test: it asserts nothing but the
shape of the result."""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import bench_app, calibration_line  # noqa: E402

N_APPS, N_REVIEWS, N_EXPERTS, N_ORGS = 5000, 5, 60, 500


def build(db, call, criteria):
    from grants.accounts.models import User, UserRole
    from grants.applications.models import Application
    from grants.core.timeutil import UTC
    from grants.organizations.models import Organization
    from grants.reviews.models import Review, ReviewAssignment, ReviewScore
    from tests import factories

    orgs = [factories.organization(name=f"基准测试组织{i}") for i in range(N_ORGS)]
    experts = [User(username=f"bench_expert{i}", display_name=f"专家{i}", password_hash="x") for i in range(N_EXPERTS)]
    db.session.add_all(experts)
    db.session.flush()
    db.session.add_all([UserRole(user_id=e.id, role="expert") for e in experts])
    db.session.flush()
    cats = [c.id for c in call.categories]
    t0 = dt.datetime(2026, 2, 1, tzinfo=UTC)
    base_id = (db.session.scalar(sa.select(sa.func.max(Application.id))) or 0) + 1
    db.session.execute(sa.insert(Application), [dict(
        id=base_id + i, call_id=call.id, organization_id=orgs[i % N_ORGS].id, category_id=cats[i % len(cats)],
        number=f"B{i:06d}", project_name=f"基准项目{i}", status="scored", requested_fen=5_000_000,
        submitted_at=t0 + dt.timedelta(seconds=i * 37 % 86400)) for i in range(N_APPS)])
    assignments, reviews, scores = [], [], []
    rid = 1
    for i in range(N_APPS):
        for k in range(N_REVIEWS):
            expert = experts[(i * N_REVIEWS + k) % N_EXPERTS]
            assignments.append(dict(id=rid, application_id=base_id + i, expert_id=expert.id, stage="written"))
            points = [(i * 7 + k * 13 + j * 3) % (c.max_points + 1) for j, c in enumerate(criteria)]
            reviews.append(dict(id=rid, assignment_id=rid, application_id=base_id + i, expert_id=expert.id,
                                stage="written", status="submitted", overall_comment="评语",
                                recommendation="fund", submitted_at=t0, points_total=sum(points)))
            scores.extend(dict(review_id=rid, criterion_id=c.id, points=p) for c, p in zip(criteria, points))
            rid += 1
    db.session.execute(sa.insert(ReviewAssignment), assignments)
    db.session.execute(sa.insert(Review), reviews)
    for start in range(0, len(scores), 20000):
        db.session.execute(sa.insert(ReviewScore), scores[start:start + 20000])
    db.session.commit()
    return len(assignments), len(scores)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with bench_app(args.postgresql) as (_app, db):
        from grants.calls.models import Call
        from grants.reviews import services as _s; compute_ranking = _s.compute_ranking
        from tests.reviews.factories import review_call

        call = review_call(aggregation="trimmed_mean")
        criteria = call.criteria_for("written")
        call_id = call.id
        started = time.perf_counter()
        n_reviews, n_scores = build(db, call, criteria)
        built = time.perf_counter() - started
        times, cpu = [], []
        for _ in range(args.runs):
            db.session.remove()
            call = db.session.get(Call, call_id)
            t, c = time.perf_counter(), time.process_time()
            rows = compute_ranking(call)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        assert len(rows) == N_APPS and rows[0].rank_overall == 1 and rows[0].review_count == N_REVIEWS
        print(f"database: {db.engine.dialect.name}; {N_APPS} applications, {n_reviews} reviews, "
              f"{n_scores} criterion scores (built in {built:.1f} s)")
        print(f"compute_ranking: min {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms over {len(times)} cold runs (wall clock); "
              f"CPU time of this process: min {min(cpu) * 1000:.0f} ms, median {statistics.median(cpu) * 1000:.0f} ms")
        print(calibration_line())
        print(f"top: {rows[0].application.number} {rows[0].final_score}; "
              f"flagged {sum(r.flagged for r in rows)}")


if __name__ == "__main__":
    main()
