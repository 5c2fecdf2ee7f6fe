"""Measure the stored ranking: one recompute (compute + store) of a call of 10,000 applications × 5 submitted
reviews × 5 criteria, and the ranking page read from the stored rows (first and 50th page, alternately).

    .venv/bin/python bench/stored_ranking.py --postgresql [--apps 10000] [--runs 20]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import rank_call  # noqa: E402
from bench.common import bench_app, calibration_line  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--apps", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rank_call.N_APPS = args.apps
    with bench_app(args.postgresql) as (app, db):
        from grants.calls.models import Call
        from grants.reviews import ranking_store
        from tests import factories
        from tests.reviews.factories import review_call

        call = review_call(aggregation="trimmed_mean")
        call_id = call.id
        rank_call.build(db, call, call.criteria_for("written"))
        recompute = []
        for _ in range(3):
            ranking_store.mark_ranking_stale(call_id)
            db.session.commit()
            db.session.remove()
            call = db.session.get(Call, call_id)
            t = time.perf_counter()
            ranking_store.ensure_ranking(call)
            recompute.append(time.perf_counter() - t)
        officer = factories.user(roles=("officer",), unit=call.host_unit)
        db.session.commit()
        client = app.test_client()
        resp = client.post("/login", data={"login": officer.username, "password": factories.PASSWORD})
        assert resp.status_code == 302, resp.status_code
        pages = []
        for i in range(args.runs):
            url = f"/reviews/calls/{call_id}/ranking?page={1 if i % 2 else 50}"
            t = time.perf_counter()
            resp = client.get(url)
            pages.append(time.perf_counter() - t)
            assert resp.status_code == 200, resp.status_code
        pages.sort()
        p95 = pages[max(0, int(len(pages) * 0.95) - 1)]
        print(f"database: {db.engine.dialect.name}; {args.apps} applications × {rank_call.N_REVIEWS} reviews")
        print(f"recompute (compute + store): min {min(recompute) * 1000:.0f} ms, "
              f"median {statistics.median(recompute) * 1000:.0f} ms over {len(recompute)} runs")
        print(f"ranking page from stored rows: median {statistics.median(pages) * 1000:.1f} ms, "
              f"p95 {p95 * 1000:.1f} ms over {len(pages)} requests (in-process test client)")
        print(calibration_line())


if __name__ == "__main__":
    main()
