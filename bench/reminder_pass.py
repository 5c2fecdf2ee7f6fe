"""Measure one reminder pass (jobs.run_pass, what `flask scheduler run --once` runs) over 50,000 contracts
with 3 tranches each (150,000 tranches), their 50,000 first-tranche payments, and 50,000 applications in
open and past calls (plus the 50,000 confirmed applications and awards the contracts come from).

    .venv/bin/python bench/reminder_pass.py                 # SQLite file in a temporary directory
    .venv/bin/python bench/reminder_pass.py --postgresql    # a throwaway database on 127.0.0.1:5432

The rows are built with bulk inserts in chunks, with status mixes that make a few thousand reminders due
(drafts in calls closing soon, returned applications, reports due or overdue, rectification deadlines,
contracts issued and unsigned, payments approved and not released). One warm-up pass delivers them; the
steady passes after it (the scheduler's normal state: everything due was delivered) are timed, wall clock and
CPU time of this process. A measurement, not a test."""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import bench_app, calibration_line, insert_rows  # noqa: E402

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 Beijing time
N_ORGS, N_APPS, N_CONTRACTS, N_CALLS = 2000, 50_000, 50_000, 100


def build(db) -> dict[str, int]:
    from grants.accounts.models import User, UserRole
    from grants.applications.models import Application
    from grants.awards.models import Award
    from grants.calls.models import Call
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment
    from grants.organizations.models import HostUnit, Organization, OrganizationMember

    db.session.add(HostUnit(name="基准测试民政局", short_name="基准局", level="city"))
    db.session.flush()
    unit_id = db.session.scalar(sa.select(HostUnit.id))
    staff = [dict(username=f"bench_staff{i}", display_name=f"工作人员{i}", password_hash="x", host_unit_id=unit_id,
                  email=f"staff{i}@example.org") for i in range(4)]
    insert_rows(db, User, staff)
    staff_ids = db.session.scalars(sa.select(User.id).where(User.username.like("bench_staff%")).order_by(User.id)).all()
    insert_rows(db, UserRole, [dict(user_id=staff_ids[0], role="officer"), dict(user_id=staff_ids[1], role="officer"),
                           dict(user_id=staff_ids[2], role="finance"), dict(user_id=staff_ids[3], role="finance")])
    approver, releaser = staff_ids[2], staff_ids[3]

    # Calls: 2 open (closing in 2 and 5 days), 98 past ones whose projects run now.
    insert_rows(db, Call, [dict(host_unit_id=unit_id, title=f"基准测试第{i}届", year=2000 + i % 27, level="city",
                            status="published" if i < 2 else "finalized", open_at=NOW - dt.timedelta(days=30),
                            close_at=NOW + dt.timedelta(days=2 + 3 * i) if i < 2 else NOW - dt.timedelta(days=200 + i),
                            published_at=NOW - dt.timedelta(days=30)) for i in range(N_CALLS)])
    call_ids = db.session.scalars(sa.select(Call.id).order_by(Call.id)).all()
    insert_rows(db, Organization, [dict(name=f"基准测试组织{i}", legal_form="filed_community", filing_number=f"基准备{i}",
                                    status="verified") for i in range(N_ORGS)])
    org_ids = db.session.scalars(sa.select(Organization.id).order_by(Organization.id)).all()
    insert_rows(db, User, [dict(username=f"bench_member{i}", display_name=f"成员{i}", password_hash="x",
                            email=f"m{i}@example.org") for i in range(N_ORGS)])
    member_ids = db.session.scalars(sa.select(User.id).where(User.username.like("bench_member%"))
                                    .order_by(User.id)).all()
    insert_rows(db, OrganizationMember, [dict(organization_id=o, user_id=u, is_admin=True)
                                     for o, u in zip(org_ids, member_ids)])

    # 50,000 applications: drafts and returned ones in the open calls, the rest history.
    apps = []
    for i in range(N_APPS):
        org = org_ids[i % N_ORGS]
        if i < 1000:
            apps.append(dict(call_id=call_ids[i % 2], organization_id=org, status="draft"))
        elif i < 1100:
            apps.append(dict(call_id=call_ids[i % 2], organization_id=org, status="returned", number=f"R{i:06d}",
                             submitted_at=NOW - dt.timedelta(days=5),
                             return_deadline_at=NOW + dt.timedelta(days=1 + i % 4)))
        elif i < 3000:
            apps.append(dict(call_id=call_ids[i % 2], organization_id=org, status="submitted", number=f"S{i:06d}",
                             submitted_at=NOW - dt.timedelta(days=3)))
        else:
            apps.append(dict(call_id=call_ids[2 + i % 98], organization_id=org, status="not_awarded",
                             number=f"H{i:06d}", submitted_at=NOW - dt.timedelta(days=400)))
    insert_rows(db, Application, apps)

    # 50,000 contracts, each from its own confirmed application and award.
    base = (db.session.scalar(sa.select(sa.func.max(Application.id))) or 0) + 1
    insert_rows(db, Application, [dict(id=base + i, call_id=call_ids[2 + i % 98], organization_id=org_ids[i % N_ORGS],
                                   status="confirmed", number=f"C{i:06d}", project_name=f"基准项目{i}",
                                   requested_fen=5_000_000, submitted_at=NOW - dt.timedelta(days=300))
                              for i in range(N_CONTRACTS)])
    insert_rows(db, Award, [dict(id=1 + i, call_id=call_ids[2 + i % 98], application_id=base + i,
                             organization_id=org_ids[i % N_ORGS], amount_fen=5_000_000, status="confirmed",
                             approved_by_id=staff_ids[0], approved_at=NOW - dt.timedelta(days=250),
                             confirmed_at=NOW - dt.timedelta(days=240)) for i in range(N_CONTRACTS)])
    contracts, tranches, payments = [], [], []
    seq_per_call: dict[int, int] = {}
    for i in range(N_CONTRACTS):
        call_id = call_ids[2 + i % 98]
        seq_per_call[call_id] = seq_per_call.get(call_id, 0) + 1
        unsigned = i % 100 == 0  # 500 issued and unsigned, issued 0-19 days ago
        issued_at = NOW - dt.timedelta(days=i // 100 % 20, hours=3) if unsigned else NOW - dt.timedelta(days=230)
        signed = None if unsigned else issued_at + dt.timedelta(days=3)
        contracts.append(dict(id=1 + i, award_id=1 + i, call_id=call_id, application_id=base + i,
                              organization_id=org_ids[i % N_ORGS], seq=seq_per_call[call_id], number=f"HT{i:06d}",
                              project_name=f"基准项目{i}", amount_fen=5_000_000,
                              status="issued" if unsigned else "active",
                              period_start_on=dt.date(2026, 1, 1), period_end_on=dt.date(2026, 12, 31),
                              party_a_name="基准测试民政局", party_b_name=f"基准测试组织{i % N_ORGS}",
                              created_by_id=staff_ids[0], issued_by_id=staff_ids[0], issued_at=issued_at,
                              signed_by_id=None if unsigned else member_ids[i % N_ORGS], signed_at=signed,
                              signer_name="" if unsigned else "张三",
                              countersigned_by_id=None if unsigned else staff_ids[0],
                              countersigned_at=None if unsigned else signed + dt.timedelta(days=1)))
        tid = 3 * i + 1
        first_paid = not unsigned
        tranches.append(dict(id=tid, contract_id=1 + i, seq=1, name="首期款", percent=40, trigger="signing",
                             planned_fen=2_000_000, status="paid" if first_paid else "scheduled",
                             payable_fen=2_000_000 if first_paid else None, withheld_fen=0 if first_paid else None,
                             payment_pct=100 if first_paid else None))
        # Mid-term report: due dates spread over two years around now; long past ones are paid, recent and
        # coming ones due (or reported), a few under rectification with a deadline in the coming days.
        mid_due = NOW.date() + dt.timedelta(days=(i % 731) - 365)
        mid = dict(id=tid + 1, contract_id=1 + i, seq=2, name="中期款", percent=30, trigger="midterm_assessment",
                   planned_fen=1_500_000, status="scheduled", due_on=mid_due)
        if not unsigned:
            if mid_due < NOW.date() - dt.timedelta(days=40):
                mid.update(status="paid", payable_fen=1_500_000, withheld_fen=0, payment_pct=100)
            elif i % 50 == 1:
                mid.update(status="rectifying", rectify_due_on=NOW.date() + dt.timedelta(days=i % 7 - 2),
                           rectify_reason="中期评估不合格")
            elif mid_due <= NOW.date() + dt.timedelta(days=20):
                mid.update(status="due" if i % 3 else "report_submitted")
        tranches.append(mid)
        tranches.append(dict(id=tid + 2, contract_id=1 + i, seq=3, name="尾款", percent=30, trigger="final_assessment",
                             planned_fen=1_500_000, status="scheduled", due_on=dt.date(2027, 1, 15)))
        if first_paid:
            pending = i % 200 == 1  # 250 approved, not yet released, approved 0-9 days ago
            approved_at = NOW - dt.timedelta(days=i // 200 % 10, hours=1) if pending else NOW - dt.timedelta(days=225)
            payments.append(dict(id=1 + i, tranche_id=tid, contract_id=1 + i, call_id=call_id,
                                 organization_id=org_ids[i % N_ORGS], amount_fen=2_000_000,
                                 status="approved" if pending else "released", requested_at=approved_at,
                                 approved_by_id=approver, approved_at=approved_at,
                                 release_by_id=None if pending else releaser,
                                 released_at=None if pending else approved_at + dt.timedelta(days=1),
                                 released_on=None if pending else (approved_at + dt.timedelta(days=1)).date(),
                                 bank_reference=None if pending else f"BANK{i:07d}"))
    insert_rows(db, Contract, contracts)
    insert_rows(db, Tranche, tranches, fill={"rectify_reason": ""})
    insert_rows(db, Payment, payments)
    db.session.commit()
    return dict(applications=N_APPS + N_CONTRACTS, contracts=len(contracts), tranches=len(tranches),
                payments=len(payments))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the top functions of one steady pass")
    args = parser.parse_args()
    with bench_app(args.postgresql) as (_app, db):
        from grants.reminders.jobs import run_pass
        from grants.reminders.models import Delivery

        run_pass(NOW - dt.timedelta(days=1))  # the scheduler was running before the data arrived
        started = time.perf_counter()
        counts = build(db)
        built = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:  # committed, or the planner's statistics are rolled back
                conn.execute(sa.text("ANALYZE"))
        db.session.remove()
        t = time.perf_counter()
        first = run_pass(NOW)
        first_s = time.perf_counter() - t
        assert not first.errors, first.errors
        walls, cpus = [], []
        for k in range(args.runs):
            db.session.remove()
            at = NOW + dt.timedelta(minutes=1 + k)
            t, c = time.perf_counter(), time.process_time()
            result = run_pass(at)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            assert not result.errors and result.delivered == 0, (result.errors, result.delivered)
        by_rule = dict(db.session.execute(sa.select(Delivery.rule, sa.func.count()).where(
            Delivery.channel == "in_app").group_by(Delivery.rule)).all())
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            run_pass(NOW + dt.timedelta(minutes=30))
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        print(f"database: {db.engine.dialect.name}; rows: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
              + f" (built in {built:.0f} s)")
        print(f"warm-up pass: {first_s * 1000:.0f} ms, delivered {first.delivered} reminders "
              f"(in-app per rule: {', '.join(f'{k} {v}' for k, v in sorted(by_rule.items()))})")
        print(f"{'steady pass':<14}{'min':>8}{'median':>8}{'max':>8}   (ms, {len(walls)} passes, nothing new due)")
        print(f"{'wall clock':<14}{min(walls) * 1000:>8.0f}{statistics.median(walls) * 1000:>8.0f}"
              f"{max(walls) * 1000:>8.0f}")
        print(f"{'CPU (process)':<14}{min(cpus) * 1000:>8.0f}{statistics.median(cpus) * 1000:>8.0f}"
              f"{max(cpus) * 1000:>8.0f}")
        print(calibration_line())


if __name__ == "__main__":
    main()
