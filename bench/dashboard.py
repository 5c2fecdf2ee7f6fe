"""Measure the dashboard (统计) over a province-sized programme: 5 years, 50,000 applications, 10,000 funded
projects with their contracts, tranches, payments, reclaims, reports and outputs.

    .venv/bin/python bench/dashboard.py                 # SQLite file in a temporary directory
    .venv/bin/python bench/dashboard.py --postgresql    # a throwaway database on 127.0.0.1:5432

The rows are built with bulk inserts. Timed, wall clock over --runs runs after one warm-up: the figures alone
(services.dashboard_for, all years and one year) and the whole pages as an officer of the city bureau
requests them (GET /dashboard/ with its charts and tables, one year, and a drill-down list). A measurement,
not a test."""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import calibration_line, insert_rows, make_app, throwaway_database  # noqa: E402

UTC = dt.timezone.utc
YEARS = (2022, 2023, 2024, 2025, 2026)
N_DISTRICTS, STREETS_PER_DISTRICT = 10, 6
N_ORGS, N_APPS, N_FUNDED = 3000, 50_000, 10_000
CATEGORIES = ("为老服务", "助残服务", "济困救助", "青少年服务", "社区治理", "社会组织能力建设")
SOURCES = (("welfare_lottery", 60), ("fiscal_matching", 30), ("social", 10))


def _ids(db, column, where=None) -> list[int]:
    stmt = sa.select(column).order_by(column)
    return db.session.scalars(stmt if where is None else stmt.where(where)).all()


def build(db) -> dict[str, int]:
    from grants.applications.models import Application, OutputTarget, ServiceArea
    from grants.assessments.models import ProgressReport, ReportOutput
    from grants.awards.models import Award, AwardAllocation
    from grants.calls.models import Call, CallCategory, CallFundingSource
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment, Reclaim
    from grants.organizations.models import HostUnit, Organization

    db.session.add(HostUnit(name="基准市民政局", short_name="基准市", level="city"))
    db.session.flush()
    city = db.session.scalar(sa.select(HostUnit.id))
    insert_rows(db, HostUnit, [dict(name=f"基准第{d}区民政局", short_name=f"第{d}区", level="district", parent_id=city,
                                region_name=f"第{d}区") for d in range(N_DISTRICTS)])
    districts = _ids(db, HostUnit.id, HostUnit.level == "district")
    insert_rows(db, HostUnit, [dict(name=f"基准第{d}区第{s}街道", short_name=f"{d}-{s}街道", level="street", parent_id=pid,
                                region_name="") for d, pid in enumerate(districts) for s in range(STREETS_PER_DISTRICT)])
    from grants.accounts.services import create_user

    officer = create_user(username="bench_officer", display_name="基准主管", password="Bench2026!", roles={"officer"},
                          host_unit_id=city, check_password_strength=False)
    releaser = create_user(username="bench_finance", display_name="基准财务", password="Bench2026!",
                           roles={"finance"}, host_unit_id=city, check_password_strength=False)
    db.session.flush()

    # Each year: the city's call and calls of half of the districts.
    calls = []
    for y in YEARS:
        calls.append(dict(host_unit_id=city, title=f"{y}年基准市公益创投大赛", year=y, level="city"))
        calls += [dict(host_unit_id=d, title=f"{y}年第{i}区公益创投", year=y, level="district")
                  for i, d in enumerate(districts) if (i + y) % 2 == 0]
    for c in calls:
        c.update(status="finalized", open_at=dt.datetime(c["year"], 3, 1, tzinfo=UTC),
                 close_at=dt.datetime(c["year"], 4, 1, tzinfo=UTC), published_at=dt.datetime(c["year"], 2, 20, tzinfo=UTC))
    insert_rows(db, Call, calls)
    call_rows = db.session.execute(sa.select(Call.id, Call.year).order_by(Call.id)).all()
    insert_rows(db, CallCategory, [dict(call_id=cid, name=n, sort=i) for cid, _y in call_rows for i, n in enumerate(CATEGORIES)])
    insert_rows(db, CallFundingSource, [dict(call_id=cid, kind=k, name="", amount_fen=pct * 10_000_000)
                                    for cid, _y in call_rows for k, pct in SOURCES])
    cats: dict[int, list[int]] = {}
    for cid, call_id in db.session.execute(sa.select(CallCategory.id, CallCategory.call_id).order_by(CallCategory.id)):
        cats.setdefault(call_id, []).append(cid)
    srcs: dict[int, list[int]] = {}
    for sid, call_id in db.session.execute(sa.select(CallFundingSource.id, CallFundingSource.call_id)
                                           .order_by(CallFundingSource.id)):
        srcs.setdefault(call_id, []).append(sid)

    insert_rows(db, Organization, [dict(name=f"基准社会组织{i}", legal_form="service_institution", filing_number=f"BF{i}",
                                    district=f"第{i % N_DISTRICTS}区", status="verified") for i in range(N_ORGS)])
    orgs = _ids(db, Organization.id)

    statuses = ("submitted", "ineligible", "not_awarded", "not_awarded", "scored", "withdrawn", "draft")
    apps = []
    for i in range(N_APPS):
        call_id, year = call_rows[i % len(call_rows)]
        funded = i < N_FUNDED
        apps.append(dict(id=1 + i, call_id=call_id, organization_id=orgs[i % N_ORGS],
                         category_id=cats[call_id][i % len(CATEGORIES)], number=f"{year}-{i:06d}",
                         project_name=f"基准项目{i}", status="confirmed" if funded else statuses[i % len(statuses)],
                         requested_fen=5_000_000 + (i % 7) * 100_000, own_funding_fen=0, total_budget_fen=5_000_000,
                         submitted_at=dt.datetime(year, 3, 20, tzinfo=UTC),
                         final_grade=("excellent", "good", "pass", "fail")[i % 4] if funded and year < 2026 else None))
    insert_rows(db, Application, apps)
    insert_rows(db, ServiceArea, [dict(application_id=a["id"], position=0, street=f"街道{i % 400}",
                                   community=f"社区{i % 1500}") for i, a in enumerate(apps)])
    insert_rows(db, OutputTarget, [dict(application_id=a["id"], kind=k, target=t) for a in apps
                               for k, t in (("service_sessions", 2000), ("beneficiaries", 150), ("volunteers", 20))])

    awards, allocs, contracts, tranches, payments, reports, outputs, reclaims = [], [], [], [], [], [], [], []
    seq: dict[int, int] = {}
    for i in range(N_FUNDED):
        a = apps[i]
        call_id, year = a["call_id"], int(a["number"][:4])
        amount = 4_000_000 + (i % 5) * 250_000 + 1
        awards.append(dict(id=1 + i, call_id=call_id, application_id=a["id"], organization_id=a["organization_id"],
                           category_id=a["category_id"], amount_fen=amount, status="confirmed", approved_by_id=officer.id,
                           approved_at=dt.datetime(year, 4, 20, tzinfo=UTC), confirmed_at=dt.datetime(year, 4, 30, tzinfo=UTC)))
        first = amount * 2 // 3
        allocs += [dict(award_id=1 + i, funding_source_id=srcs[call_id][0], amount_fen=first),
                   dict(award_id=1 + i, funding_source_id=srcs[call_id][1 + i % 2], amount_fen=amount - first)]
        seq[call_id] = seq.get(call_id, 0) + 1
        done = year < 2026
        contracts.append(dict(id=1 + i, award_id=1 + i, call_id=call_id, application_id=a["id"],
                              organization_id=a["organization_id"], seq=seq[call_id], number=f"HT{year}-{i:06d}",
                              project_name=a["project_name"], amount_fen=amount, status="completed" if done else "active",
                              period_start_on=dt.date(year, 5, 1), period_end_on=dt.date(year, 12, 31),
                              party_a_name="基准市民政局", party_b_name=f"基准社会组织{i % N_ORGS}",
                              issued_at=dt.datetime(year, 5, 1, tzinfo=UTC), signed_at=dt.datetime(year, 5, 2, tzinfo=UTC),
                              signer_name="张三", countersigned_at=dt.datetime(year, 5, 3, tzinfo=UTC),
                              completed_at=dt.datetime(year, 12, 31, tzinfo=UTC) if done else None))
        p1, p2 = amount * 40 // 100, amount * 30 // 100
        p3 = amount - p1 - p2
        withheld = p2 // 5 if i % 4 == 2 else 0
        tid = 3 * i + 1
        tranches += [
            dict(id=tid, contract_id=1 + i, seq=1, name="首期款", percent=40, trigger="signing", planned_fen=p1,
                 status="paid", payable_fen=p1, withheld_fen=0, payment_pct=100),
            dict(id=tid + 1, contract_id=1 + i, seq=2, name="中期款", percent=30, trigger="midterm_assessment",
                 planned_fen=p2, status="paid", payable_fen=p2 - withheld, withheld_fen=withheld,
                 payment_pct=80 if withheld else 100),
            dict(id=tid + 2, contract_id=1 + i, seq=3, name="尾款", percent=30, trigger="final_assessment", planned_fen=p3,
                 status="paid" if done else "due", payable_fen=p3 if done else None, withheld_fen=0 if done else None)]
        for k, (t, fen) in enumerate(((tid, p1), (tid + 1, p2 - withheld)) + (((tid + 2, p3),) if done else ())):
            payments.append(dict(id=len(payments) + 1, tranche_id=t, contract_id=1 + i, call_id=call_id,
                                 organization_id=a["organization_id"], amount_fen=fen, status="released",
                                 requested_at=dt.datetime(year, 6 + 3 * k, 1, tzinfo=UTC), approved_by_id=officer.id,
                                 approved_at=dt.datetime(year, 6 + 3 * k, 2, tzinfo=UTC), release_by_id=releaser.id,
                                 released_at=dt.datetime(year, 6 + 3 * k, 3, tzinfo=UTC),
                                 released_on=dt.date(year, 6 + 3 * k, 3), bank_reference=f"B{len(payments):08d}",
                                 reclaimed_fen=0))
        if i % 50 == 3:
            reclaims.append(dict(payment_id=len(payments) - 1, amount_fen=100_000, reason="追回部分资金",
                                 recorded_at=dt.datetime(year, 12, 20, tzinfo=UTC)))
        for k, (t, kind) in enumerate(((tid + 1, "midterm"),) + (((tid + 2, "final"),) if done else ())):
            rid = len(reports) + 1
            reports.append(dict(id=rid, tranche_id=t, contract_id=1 + i, kind=kind, round=1, status="accepted",
                                narrative="进展顺利", submitted_at=dt.datetime(year, 8 + 3 * k, 1, tzinfo=UTC)))
            outputs += [dict(report_id=rid, kind=kk, target=tt, achieved=tt * (k + 1) // 2)
                        for kk, tt in (("service_sessions", 2000), ("beneficiaries", 150), ("volunteers", 20))]
    insert_rows(db, Award, awards)
    insert_rows(db, AwardAllocation, allocs)
    insert_rows(db, Contract, contracts)
    insert_rows(db, Tranche, tranches, fill={"rectify_reason": ""})
    for r in reclaims:
        payments[r["payment_id"] - 1]["reclaimed_fen"] = r["amount_fen"]
    insert_rows(db, Payment, payments)
    insert_rows(db, Reclaim, reclaims)
    insert_rows(db, ProgressReport, reports)
    insert_rows(db, ReportOutput, outputs)
    db.session.commit()
    # Bulk inserts bypass the session hook that keeps the per-project figures: rebuild them (as after an import).
    from grants.dashboard.summary import rebuild_all

    rebuild_all()
    db.session.commit()
    return dict(calls=len(call_rows), applications=len(apps), awards=len(awards), contracts=len(contracts),
                tranches=len(tranches), payments=len(payments), reclaims=len(reclaims), reports=len(reports))


def _time(fn, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds of each run (the database server's CPU is not in the
    second: on PostgreSQL it is the Python side alone)."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print each query's time for the all-years figures")
    args = parser.parse_args()
    with throwaway_database(args.postgresql) as (url, tmp):
        app = make_app(url, tmp)
        from grants.extensions import db

        with app.app_context():
            started = time.perf_counter()
            with app.test_request_context():
                counts = build(db)
            built = time.perf_counter() - started
            if db.engine.dialect.name == "postgresql":
                # ANALYZE must be committed: rolled back, it leaves the planner without statistics (and
                # guessing 0.5 % for every status filter), unlike a database that autovacuum has analysed.
                with db.engine.begin() as conn:
                    conn.execute(sa.text("ANALYZE"))
            db.session.remove()
            from werkzeug.datastructures import MultiDict

            from grants.dashboard.services import Filters, dashboard_for
            from grants.organizations.models import HostUnit

            city = db.session.scalar(sa.select(HostUnit.id).where(HostUnit.level == "city"))
            board, _calls = dashboard_for(city, Filters())
            t = board.total
            print(f"database: {db.engine.dialect.name}; rows: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
                  + f" (built in {built:.0f} s)")
            print(f"figures: {t.received:,} received, {t.funded:,} funded, awarded ¥{t.awarded_fen / 100:,.2f}, "
                  f"paid ¥{t.paid_fen / 100:,.2f}, {t.streets} streets, {t.communities} communities")

            def figures(**a):
                def run():
                    db.session.remove()
                    dashboard_for(city, Filters.from_args(MultiDict(a)))
                return run

            client = app.test_client()
            resp = client.post("/login", data={"login": "bench_officer", "password": "Bench2026!"})
            assert resp.status_code == 302, resp.status_code

            def page(url):
                def run():
                    db.session.remove()
                    r = client.get(url)
                    assert r.status_code == 200, (url, r.status_code)
                return run

            if args.profile:
                timings = []

                def before(conn, cursor, statement, parameters, context, executemany):
                    context._started = time.perf_counter()

                def after(conn, cursor, statement, parameters, context, executemany):
                    timings.append(((time.perf_counter() - context._started) * 1000, " ".join(statement.split())))

                sa.event.listen(db.engine, "before_cursor_execute", before)
                sa.event.listen(db.engine, "after_cursor_execute", after)
                figures()()
                sa.event.remove(db.engine, "before_cursor_execute", before)
                sa.event.remove(db.engine, "after_cursor_execute", after)
                for ms, st in timings:
                    print(f"{ms:8.1f} ms  {st[:230]}")
            rows = [
                ("figures, all 5 years", figures()),
                ("figures, year 2025", figures(year="2025")),
                ("GET /dashboard/", page("/dashboard/")),
                ("GET /dashboard/?year=2025", page("/dashboard/?year=2025")),
                ("GET /dashboard/?from=2023&to=2025&level=district", page("/dashboard/?from=2023&to=2025&level=district")),
                ("GET /dashboard/items?set=paid", page("/dashboard/items?set=paid&category=为老服务")),
                ("GET /dashboard/export.xlsx", page("/dashboard/export.xlsx")),
            ]
            print(f"{'ms over ' + str(args.runs) + ' runs':<50}{'min':>8}{'median':>8}{'max':>8}{'CPU med':>9}")
            for label, fn in rows:
                ms, cpu = _time(fn, args.runs)
                print(f"{label:<50}{min(ms):>8.0f}{statistics.median(ms):>8.0f}{max(ms):>8.0f}"
                      f"{statistics.median(cpu):>9.0f}")
            print(calibration_line())
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
