"""Measure the audit page (审计日志) over 1,000,000 audit rows: a city, 10 districts and 60 streets, 600 staff
users, rows spread over three years and every unit (one in twenty platform-wide), before/after in Chinese with
amounts.

    .venv/bin/python bench/audit_page.py                 # SQLite file in a temporary directory
    .venv/bin/python bench/audit_page.py --postgresql    # a throwaway database on 127.0.0.1:5432
    .venv/bin/python bench/audit_page.py --rows 200000   # a smaller log

Timed, wall clock of the whole page (GET /audit … as a logged-in user, template rendered) over --runs requests
after one warm-up, for each case: a city auditor's newest page, a district auditor's newest page, a deep page
(keyset `before=`), and the district auditor filtering by action, by actor, by a month's date range and by a
street unit. Prints min / median / p95 / max per case. A measurement, not a test; the target is p95 < 150 ms
on PostgreSQL."""
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
N_DISTRICTS, STREETS_PER_DISTRICT, N_STAFF = 10, 6, 600
ACTIONS = ("application.submit", "payment.request", "payment.approve", "conflict.declare", "review.submit",
           "contract.sign", "organization.update", "objection.reject", "assessment.submit", "user.login")
START = dt.datetime(2024, 1, 1, tzinfo=UTC)


def build(db, n_rows: int) -> dict:
    from grants.accounts.models import User, UserRole
    from grants.core.models import AuditLog
    from grants.organizations.models import HostUnit

    db.session.add(HostUnit(name="基准市民政局", short_name="基准市", level="city"))
    db.session.flush()
    city = db.session.scalar(sa.select(HostUnit.id))
    insert_rows(db, HostUnit, [dict(name=f"基准第{d}区民政局", short_name=f"第{d}区", level="district", parent_id=city,
                                region_name=f"第{d}区") for d in range(N_DISTRICTS)])
    districts = db.session.scalars(sa.select(HostUnit.id).where(HostUnit.level == "district").order_by(HostUnit.id)).all()
    insert_rows(db, HostUnit, [dict(name=f"基准第{d}区第{s}街道", short_name=f"{d}-{s}街道", level="street", parent_id=pid,
                                region_name="") for d, pid in enumerate(districts) for s in range(STREETS_PER_DISTRICT)])
    units = db.session.scalars(sa.select(HostUnit.id).order_by(HostUnit.id)).all()
    streets = [u for u in units if u != city and u not in districts]

    from grants.accounts.services import hash_password

    pw = hash_password("Bench2026!")
    insert_rows(db, User, [dict(username=f"staff{i}", display_name=f"工作人员{i}", password_hash=pw,
                                host_unit_id=units[i % len(units)], is_active_account=True, failed_logins=0,
                                must_change_password=False, created_at=START) for i in range(N_STAFF)])
    staff = db.session.execute(sa.select(User.id, User.host_unit_id).order_by(User.id)).all()
    insert_rows(db, UserRole, [dict(user_id=uid, role="officer") for uid, _u in staff])
    insert_rows(db, User, [dict(username=u, display_name=n, password_hash=pw, host_unit_id=h, is_active_account=True,
                                failed_logins=0, must_change_password=False, created_at=START)
                           for u, n, h in (("city_auditor", "市级审计", city), ("district_auditor", "区级审计", districts[0]))])
    for username in ("city_auditor", "district_auditor"):
        uid = db.session.scalar(sa.select(User.id).where(User.username == username))
        db.session.add(UserRole(user_id=uid, role="auditor"))
    db.session.commit()

    span = (3 * 365 * 86400) / n_rows
    by_unit: dict[int, list[int]] = {}
    for uid, unit in staff:
        by_unit.setdefault(unit, []).append(uid)
    t0 = time.perf_counter()
    if db.engine.dialect.name == "postgresql":
        _insert_pg(db, n_rows, span, units, streets, [uid for uid, _u in staff])
    else:
        _insert_python(db, n_rows, span, units, streets, by_unit, staff)
    print(f"inserted {n_rows:,} audit rows in {time.perf_counter() - t0:.0f} s")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE audit_log"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    last_id = db.session.scalar(sa.select(sa.func.max(AuditLog.id)))
    month = (START + dt.timedelta(days=400)).date()
    return {"city": city, "district": districts[0], "street": streets[0], "deep_before": last_id // 2,
            "actor": staff[0][0], "month_from": month.isoformat(),
            "month_to": (month + dt.timedelta(days=30)).isoformat()}


def _insert_python(db, n_rows, span, units, streets, by_unit, staff) -> None:
    from grants.core.models import AuditLog

    rows = []
    for i in range(n_rows):
        unit = None if i % 20 == 7 else units[(i * 7) % len(units)]
        actors = by_unit.get(unit) or [staff[0][0]]
        actor = None if i % 11 == 5 else actors[i % len(actors)]
        action = ACTIONS[i % len(ACTIONS)]
        rows.append(dict(
            at=START + dt.timedelta(seconds=int(i * span)), actor_id=actor,
            actor_name="系统" if actor is None else f"工作人员{actor}", action=action, object_type=action.split(".")[0],
            object_id=str(i % 50_000 + 1), host_unit_id=unit, unit_id=unit,
            unit2_id=streets[i % len(streets)] if i % 13 == 0 else None, hash_version=2,
            before={"status": "requested", "amount_fen": 1_000_000 + i % 9999},
            after={"status": "approved", "amount_fen": 1_000_000 + i % 9999, "reason": "经核查材料齐全，同意拨付"},
            prev_hash=f"{i:064x}", hash=f"{i + 1:064x}"))
        if len(rows) == 20_000:
            insert_rows(db, AuditLog, rows)
            db.session.commit()
            rows = []
    insert_rows(db, AuditLog, rows)
    db.session.commit()


def _insert_pg(db, n_rows, span, units, streets, actors) -> None:
    """The same rows made by PostgreSQL itself (generate_series): a million rows in a minute, not an hour."""
    arr = lambda xs: "ARRAY[" + ",".join(map(str, xs)) + "]"  # noqa: E731
    actions = "ARRAY[" + ",".join(f"'{a}'" for a in ACTIONS) + "]"
    sql = f"""
        INSERT INTO audit_log (at, actor_id, actor_name, action, object_type, object_id, host_unit_id, unit_id,
                               unit2_id, hash_version, before, after, prev_hash, hash)
        SELECT TIMESTAMPTZ '{START.isoformat()}' + make_interval(secs => floor(i * {span})),
               a.actor, COALESCE('工作人员' || a.actor, '系统'), a.action, split_part(a.action, '.', 1),
               (i % 50000 + 1)::text, u.unit, u.unit,
               CASE WHEN i % 13 = 0 THEN ({arr(streets)})[1 + i % {len(streets)}] END, 2,
               json_build_object('status', 'requested', 'amount_fen', 1000000 + i % 9999),
               json_build_object('status', 'approved', 'amount_fen', 1000000 + i % 9999,
                                 'reason', '经核查材料齐全，同意拨付'),
               lpad(to_hex(i), 64, '0'), lpad(to_hex(i + 1), 64, '0')
        FROM generate_series(0, {n_rows - 1}) AS i,
             LATERAL (SELECT CASE WHEN i % 20 = 7 THEN NULL ELSE ({arr(units)})[1 + (i * 7) % {len(units)}] END
                      AS unit) u,
             LATERAL (SELECT CASE WHEN i % 11 = 5 THEN NULL ELSE ({arr(actors)})[1 + i % {len(actors)}] END AS actor,
                             ({actions})[1 + i % {len(ACTIONS)}] AS action) a
    """
    db.session.execute(sa.text(sql))
    db.session.commit()


def timed(client, path: str, runs: int) -> list[float]:
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        resp = client.get(path)
        out.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    print(calibration_line())
    with throwaway_database(args.postgresql) as (url, tmp):
        app = make_app(url, tmp)
        with app.app_context():
            from grants.extensions import db

            ids = build(db, args.rows)
            cases = {
                "city auditor, newest page": ("city_auditor", "/audit"),
                "district auditor, newest page": ("district_auditor", "/audit"),
                "district auditor, deep page (before=)": ("district_auditor", f"/audit?before={ids['deep_before']}"),
                "district auditor, one action": ("district_auditor", "/audit?action=payment.approve"),
                "district auditor, one actor": ("district_auditor", f"/audit?actor_id={ids['actor']}"),
                "district auditor, a month": ("district_auditor",
                                              f"/audit?date_from={ids['month_from']}&date_to={ids['month_to']}"),
                "district auditor, a street": ("district_auditor", f"/audit?unit_id={ids['street']}"),
                "city auditor, action + month": ("city_auditor", f"/audit?action=payment.request&date_from="
                                                                 f"{ids['month_from']}&date_to={ids['month_to']}"),
            }
            all_times = []
            print(f"{'case':<42} {'min':>7} {'median':>7} {'p95':>7} {'max':>7}  (ms, {args.runs} runs)")
            for label, (username, path) in cases.items():
                client = app.test_client()
                resp = client.post("/login", data={"login": username, "password": "Bench2026!"})
                assert resp.status_code == 302, "log-in failed"
                times = timed(client, path, args.runs)
                all_times += times
                print(f"{label:<42} {min(times):7.1f} {statistics.median(times):7.1f} {p95(times):7.1f} "
                      f"{max(times):7.1f}")
            print(f"{'all cases':<42} {min(all_times):7.1f} {statistics.median(all_times):7.1f} "
                  f"{p95(all_times):7.1f} {max(all_times):7.1f}")
            db.session.remove()
            db.engine.dispose()
    print(calibration_line())


if __name__ == "__main__":
    main()
