"""History import benchmark: a 5-year, 3-source programme of 400 funded projects with 1,200 payments (310
organisations), built as the Excel template, read and checked, then imported and committed (the session hook
charges every payment to the sources and writes the dashboard's rows in the same commit); then the same file
again (it finds everything and writes nothing). Target: the import under 60 s on SQLite.

    .venv/bin/python bench/history_import.py [--postgresql]
"""
from __future__ import annotations

import argparse
import time

from common import bench_app, calibration_line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    print(calibration_line())
    with bench_app(args.postgresql) as (app, db):
        from grants.history.services import import_history, read_history
        from tests import factories
        from tests.history.programme import programme

        with app.test_request_context():
            factories.host_unit(name="南通市民政局")
            db.session.commit()
            t = time.perf_counter()
            data, want = programme("南通市民政局", years=range(2016, 2021), projects_per_year=80, orgs=310,
                                   every_tranche_paid=True)
            build = time.perf_counter() - t
            t = time.perf_counter()
            plan = read_history(data)
            check = time.perf_counter() - t
            assert plan.ok, plan.problems[:5]
            t = time.perf_counter()
            result = import_history(plan, None)
            db.session.commit()
            write = time.perf_counter() - t
            t = time.perf_counter()
            again = read_history(data)
            import_history(again, None)
            db.session.commit()
            second = time.perf_counter() - t
        print(f"file: {len(data) / 1024:.0f} KB, built in {build:.1f} s; {result.calls} calls, {result.orgs} "
              f"organisations, {result.projects} projects, {result.payments} payments")
        print(f"{'PostgreSQL' if args.postgresql else 'SQLite'}: read and check {check:.1f} s, import and commit "
              f"{write:.1f} s, total {check + write:.1f} s; the same file again {second:.1f} s "
              f"({len(again.projects)} new projects)")


if __name__ == "__main__":
    main()
