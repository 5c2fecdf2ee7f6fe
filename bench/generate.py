"""Province-scale data for the benchmark, built through the mapped model classes (bulk inserts in chunks,
every row passing the tables' constraints) in consistent states.

    .venv/bin/python bench/generate.py [--scale 1.0] [--postgresql]    # builds, prints the row counts

At --scale 1 (the default): 20,000 organisations (one applicant account each), 5 yearly calls, 50,000
applications (10,000 per call, each with 3 budget lines and 2 output targets), 500 experts on every call's
panel, 250,000 reviews (5 per application, one per assignment, 5 criterion scores each), 10,000 awards and
contracts (2,500 in each of the four past calls), 30,000 tranches with their payments (released, approved,
requested), progress reports and assessments. --scale shrinks or grows the organisations, applications,
reviews and contracts; the expert pool, the staff and the calls stay the same size, so the lists a page shows
(an expert's tasks, a call's applications, a ledger) grow with the scale.

The calls, relative to today: four finalised calls whose contracts were completed (the two oldest), run
(the next) or are running (last year's: a few issued or signed by the organisation and not yet
countersigned, mid-term reports due, submitted, under rectification, payments requested and approved), and
this year's call under expert review (every application with five assignments, a quarter with one review
still a draft)."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import insert_rows  # noqa: E402

UTC = dt.timezone.utc
N_ORGS, N_CALLS, N_APPS, N_REVIEWS_PER_APP, N_CONTRACTS = 20_000, 5, 50_000, 5, 10_000
N_EXPERTS, N_EVALUATORS, N_CRITERIA = 500, 20, 5
PASSWORD = "Bench-Passw0rd"


@dataclass
class Generated:
    """What the benchmark needs to find its pages: ids of users by role and of the calls."""
    scale: float
    counts: dict[str, int] = field(default_factory=dict)
    officer: str = ""
    finance: str = ""
    applicant: str = ""
    expert: str = ""
    call_ids: list[int] = field(default_factory=list)   # oldest first; the last one is under review
    contract_id: int = 0
    application_id: int = 0
    built_s: float = 0.0

    @property
    def review_call_id(self) -> int:
        return self.call_ids[-1]

    @property
    def running_call_id(self) -> int:
        return self.call_ids[-2]


def scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def generate(db, scale: float = 1.0, now: dt.datetime | None = None) -> Generated:
    """Build everything in the (empty, migrated) database of the current app context; commit."""
    from grants.accounts.models import User, UserRole
    from grants.accounts.services import hash_password
    from grants.applications.models import Application, BudgetLine, OutputTarget
    from grants.assessments.models import Assessment, ProgressReport
    from grants.awards.models import Award, AwardAllocation
    from grants.calls.models import (
        Call, CallCategory, CallFundingSource, RubricCriterion, ScoreBand, TrancheTemplate,
    )
    from grants.contracts.models import Contract, Tranche
    from grants.demo import make_uscc
    from grants.finance.models import Payment
    from grants.organizations.models import HostUnit, Organization, OrganizationMember
    from grants.reviews.models import ExpertProfile, PanelMember, Review, ReviewAssignment, ReviewScore

    started = time.perf_counter()
    now = (now or dt.datetime.now(UTC)).replace(microsecond=0)
    today = now.date()
    n_orgs, n_apps = scaled(N_ORGS, scale), scaled(N_APPS, scale)
    apps_per_call = n_apps // N_CALLS
    n_apps = apps_per_call * N_CALLS
    awards_per_call = min(apps_per_call, scaled(N_CONTRACTS, scale) // (N_CALLS - 1))
    n_experts = min(N_EXPERTS, max(N_REVIEWS_PER_APP * 2, n_apps // 2))
    pw = hash_password(PASSWORD)
    out = Generated(scale=scale)

    # --- host units and staff ---------------------------------------------------------------------
    db.session.add(HostUnit(name="基准省民政厅", short_name="省民政厅", level="city", region_name="基准省"))
    db.session.flush()
    city = db.session.scalar(sa.select(HostUnit.id))
    insert_rows(db, HostUnit, [dict(name=f"基准市{i}民政局", short_name=f"基准市{i}", level="district",
                                    parent_id=city, region_name=f"基准市{i}") for i in range(10)])
    staff = [("bench_officer", "officer"), ("bench_officer2", "officer"), ("bench_finance", "finance"),
             ("bench_finance2", "finance"), ("bench_admin", "admin")]
    insert_rows(db, User, [dict(username=u, display_name=f"工作人员{i}", password_hash=pw, host_unit_id=city,
                                email=f"{u}@example.org") for i, (u, _r) in enumerate(staff)])
    uid = dict(db.session.execute(sa.select(User.username, User.id)).all())
    insert_rows(db, UserRole, [dict(user_id=uid[u], role=r) for u, r in staff])
    officer, approver, releaser = uid["bench_officer"], uid["bench_finance"], uid["bench_finance2"]
    out.officer, out.finance = "bench_officer", "bench_finance"

    # --- organisations, one applicant account each ---------------------------------------------------
    districts = ["崇川区", "海门区", "通州区", "如东县", "启东市", "如皋市", "海安市"]
    orgs = []
    for i in range(n_orgs):
        filed = i % 10 == 0
        name = f"基准社会组织{i:05d}"
        orgs.append(dict(
            id=i + 1, name=name, legal_form="filed_community" if filed else ("association", "service_institution",
                                                                             "foundation")[i % 3],
            uscc=None if filed else make_uscc("2", "320602", i + 1), filing_number=f"基准备{i}" if filed else None,
            filing_office="基准街道" if filed else None, registered_on=dt.date(2010 + i % 12, 1 + i % 12, 1),
            registration_authority="基准市民政局", rating=i % 6, district=districts[i % len(districts)],
            street="和平桥街道", community="桃坞路社区", contact_name="联系人", contact_phone="0513-80000000",
            bank_account_name=name, bank_name="基准银行", bank_account_number=f"6228{i:012d}",
            status="verified", verified_at=now - dt.timedelta(days=400), created_at=now - dt.timedelta(days=2000 - i % 1000)))
    insert_rows(db, Organization, orgs)
    base_user = db.session.scalar(sa.select(sa.func.max(User.id))) + 1
    insert_rows(db, User, [dict(id=base_user + i, username=f"bench_member{i}", display_name=f"成员{i}",
                                password_hash=pw, email=f"m{i}@example.org") for i in range(n_orgs)])
    insert_rows(db, UserRole, [dict(user_id=base_user + i, role="applicant") for i in range(n_orgs)])
    insert_rows(db, OrganizationMember, [dict(organization_id=i + 1, user_id=base_user + i, is_admin=True)
                                         for i in range(n_orgs)])

    # --- experts and evaluators -------------------------------------------------------------------------
    base_expert = base_user + n_orgs
    insert_rows(db, User, [dict(id=base_expert + i, username=f"bench_expert{i}", display_name=f"专家{i}",
                                password_hash=pw, affiliation="基准大学") for i in range(n_experts)])
    insert_rows(db, UserRole, [dict(user_id=base_expert + i, role="expert") for i in range(n_experts)])
    insert_rows(db, ExpertProfile, [dict(user_id=base_expert + i, specialties=["为老服务", "青少年"],
                                         employer="基准大学", title="教授") for i in range(n_experts)])
    base_eval = base_expert + n_experts
    insert_rows(db, User, [dict(id=base_eval + i, username=f"bench_evaluator{i}", display_name=f"评估员{i}",
                                password_hash=pw) for i in range(N_EVALUATORS)])
    insert_rows(db, UserRole, [dict(user_id=base_eval + i, role="evaluator") for i in range(N_EVALUATORS)])
    experts = [base_expert + i for i in range(n_experts)]
    out.expert = "bench_expert0"

    # --- calls with their categories, sources, rubric, tranche plan and score bands --------------------------
    calls = []
    for k in range(N_CALLS):
        year = now.year - (N_CALLS - 1) + k
        current = k == N_CALLS - 1
        open_at = (now - dt.timedelta(days=120)) if current else dt.datetime(year, 3, 1, tzinfo=UTC)
        calls.append(dict(
            id=k + 1, host_unit_id=city, title=f"{year}年度基准省公益创投", year=year, level="city",
            description="基准测试数据", status="reviewing" if current else "finalized", open_at=open_at,
            close_at=open_at + dt.timedelta(days=45), review_start_at=open_at + dt.timedelta(days=50),
            review_end_at=open_at + dt.timedelta(days=90), project_start_on=dt.date(year, 7, 1),
            project_end_on=dt.date(year + 1, 6, 30), min_grant_fen=3_000_000, max_grant_fen=20_000_000,
            max_applications_per_org=1, aggregation="trimmed_mean" if k % 2 else "mean",
            allowed_legal_forms=[], published_at=open_at - dt.timedelta(days=10),
            created_at=open_at - dt.timedelta(days=20)))
    insert_rows(db, Call, calls)
    out.call_ids = [c["id"] for c in calls]
    cat_names = ["为老服务", "青少年服务", "助残服务", "社区治理"]
    insert_rows(db, CallCategory, [dict(id=k * 4 + j + 1, call_id=k + 1, name=n, sort=j)
                                   for k in range(N_CALLS) for j, n in enumerate(cat_names)])
    # Capped: CallFundingSource.amount_fen is a 32-bit integer column (at most 21,474,836.47 yuan).
    budget = min(apps_per_call * 10_000_000, 2_000_000_000)
    insert_rows(db, CallFundingSource, [dict(id=k * 2 + 1, call_id=k + 1, kind="welfare_lottery",
                                             name="福彩公益金", amount_fen=budget * 7 // 10) for k in range(N_CALLS)]
                + [dict(id=k * 2 + 2, call_id=k + 1, kind="fiscal_matching", name="财政配套",
                        amount_fen=budget * 3 // 10) for k in range(N_CALLS)])
    crit_names = ["需求分析", "项目设计", "团队能力", "预算合理性", "预期成效"]
    insert_rows(db, RubricCriterion, [dict(id=k * N_CRITERIA + j + 1, call_id=k + 1, stage="written", name=n,
                                           max_points=20, sort=j)
                                      for k in range(N_CALLS) for j, n in enumerate(crit_names)])
    insert_rows(db, TrancheTemplate, [dict(call_id=k + 1, seq=s, name=n, percent=p, trigger=t)
                                      for k in range(N_CALLS) for s, n, p, t in (
                                          (1, "首期款", 40, "signing"), (2, "中期款", 30, "midterm_assessment"),
                                          (3, "尾款", 30, "final_assessment"))])
    insert_rows(db, ScoreBand, [dict(call_id=k + 1, min_score=m, grade=g, payment_pct=p, rectification=r)
                                for k in range(N_CALLS) for m, g, p, r in (
                                    (90, "excellent", 100, False), (75, "good", 100, False),
                                    (60, "pass", 80, False), (0, "fail", 0, True))])
    insert_rows(db, PanelMember, [dict(call_id=k + 1, user_id=e, stage="written", invited_by_id=officer)
                                  for k in range(N_CALLS) for e in experts])

    # --- applications (budgets and targets), assignments, reviews, scores ------------------------------------
    apps, lines, targets, assigns, reviews, scores = [], [], [], [], [], []
    aid = rid = 0
    for k in range(N_CALLS):
        call = calls[k]
        current = k == N_CALLS - 1
        submitted_base = call["open_at"] + dt.timedelta(days=10)
        for i in range(apps_per_call):
            aid += 1
            requested = (3 + (aid * 7) % 15) * 1_000_000   # 3万-17万 yuan, whole yuan amounts
            draft_review = current and i % 4 == 0
            if current:
                status = "under_review" if draft_review else "scored"
            else:
                status = "confirmed" if i < awards_per_call else "not_awarded"
            apps.append(dict(
                id=aid, call_id=k + 1, organization_id=(i + k * 4001) % n_orgs + 1, category_id=k * 4 + i % 4 + 1,
                number=f"SB{call['year']}-{k + 1}-{i + 1:06d}", project_name=f"基准项目{aid}",
                summary="项目简介" * 20, need_analysis="需求分析" * 30, objectives="项目目标" * 10,
                target_groups="社区老年人", activity_description="活动说明" * 20, status=status,
                requested_fen=requested, own_funding_fen=requested // 5, total_budget_fen=requested * 6 // 5,
                declaration_accepted_at=submitted_base, submitted_at=submitted_base + dt.timedelta(seconds=aid % 86400),
                created_at=submitted_base - dt.timedelta(days=3), updated_at=submitted_base))
            for pos, (kind, share, funded) in enumerate((("personnel", 3, "grant"), ("activity", 6, "grant"),
                                                         ("management", 1, "grant"))):
                lines.append(dict(application_id=aid, position=pos, kind=kind, item=f"{kind}费用",
                                  unit_price_fen=requested * share // 10, quantity=1,
                                  amount_fen=requested * share // 10, funded_by=funded))
            lines.append(dict(application_id=aid, position=3, kind="activity", item="自筹活动费用",
                              unit_price_fen=requested // 5, quantity=1, amount_fen=requested // 5, funded_by="own"))
            targets.append(dict(application_id=aid, kind="beneficiaries", target=100 + aid % 400))
            targets.append(dict(application_id=aid, kind="service_sessions", target=20 + aid % 40))
            for r in range(N_REVIEWS_PER_APP):
                rid += 1
                expert = experts[(aid * N_REVIEWS_PER_APP + r) % n_experts]
                pts = [8 + (aid * 7 + r * 3 + c * 5) % 13 for c in range(N_CRITERIA)]
                done = not (draft_review and r == 0)
                at = call["review_start_at"] + dt.timedelta(hours=rid % 700)
                assigns.append(dict(id=rid, application_id=aid, expert_id=expert, stage="written",
                                    assigned_by_id=officer, created_at=call["review_start_at"]))
                reviews.append(dict(id=rid, assignment_id=rid, application_id=aid, expert_id=expert, stage="written",
                                    status="submitted" if done else "draft", overall_comment="评审意见" if done else "",
                                    recommendation=("fund", "fund_with_changes", "reject")[rid % 3] if done else None,
                                    points_total=sum(pts), created_at=at, updated_at=at,
                                    submitted_at=at if done else None))
                scores.extend(dict(review_id=rid, criterion_id=k * N_CRITERIA + c + 1, points=p)
                              for c, p in enumerate(pts))
        # Flush per call to keep memory flat at large scales.
        insert_rows(db, Application, apps, fill={"category_id": None})
        insert_rows(db, BudgetLine, lines)
        insert_rows(db, OutputTarget, targets)
        insert_rows(db, ReviewAssignment, assigns)
        insert_rows(db, Review, reviews)
        insert_rows(db, ReviewScore, scores, chunk=20_000)
        out.counts["applications"] = out.counts.get("applications", 0) + len(apps)
        out.counts["reviews"] = out.counts.get("reviews", 0) + len(reviews)
        out.counts["review scores"] = out.counts.get("review scores", 0) + len(scores)
        apps, lines, targets, assigns, reviews, scores = [], [], [], [], [], []

    # --- awards, allocations, contracts, tranches, payments, reports, assessments -----------------------------
    awards, allocs, contracts, tranches, payments, reports, assessments = [], [], [], [], [], [], []
    cid = tid = pid = rpid = 0
    for k in range(N_CALLS - 1):
        call = calls[k]
        age = N_CALLS - 2 - k   # 0: last year's call, running now
        for i in range(awards_per_call):
            cid += 1
            app_id = k * apps_per_call + i + 1
            org = (i + k * 4001) % n_orgs + 1
            amount = (3 + (app_id * 7) % 15) * 1_000_000
            approved_at = call["review_end_at"] + dt.timedelta(days=10)
            awards.append(dict(id=cid, call_id=k + 1, application_id=app_id, organization_id=org,
                               category_id=k * 4 + i % 4 + 1, amount_fen=amount, status="confirmed", rank=i + 1,
                               proposed_by_id=officer, approved_by_id=officer, approved_at=approved_at,
                               confirmed_at=approved_at + dt.timedelta(days=10), created_at=approved_at))
            allocs.append(dict(award_id=cid, funding_source_id=k * 2 + 1, amount_fen=amount * 7 // 10))
            allocs.append(dict(award_id=cid, funding_source_id=k * 2 + 2, amount_fen=amount * 3 // 10))
            issued = approved_at + dt.timedelta(days=20)
            if age >= 2:
                status = "completed"
            elif age == 1:
                status = "active"
            else:
                status = "issued" if i % 20 == 0 else "signed_by_org" if i % 20 == 1 else "active"
            signed = status != "issued"
            countersigned = status in ("active", "completed")
            contracts.append(dict(
                id=cid, award_id=cid, call_id=k + 1, application_id=app_id, organization_id=org, seq=i + 1,
                number=f"HT{call['year']}-{k + 1}-{i + 1:05d}", project_name=f"基准项目{app_id}", amount_fen=amount,
                status=status, period_start_on=call["project_start_on"], period_end_on=call["project_end_on"],
                terms="合同条款", party_a_name="基准省民政厅", party_b_name=f"基准社会组织{org - 1:05d}",
                party_b_uscc="", party_b_bank_account_name=f"基准社会组织{org - 1:05d}", party_b_bank_name="基准银行",
                party_b_bank_account_number=f"6228{org - 1:012d}", created_by_id=officer, created_at=issued,
                issued_by_id=officer, issued_at=issued, signer_name="张三" if signed else "",
                signed_by_id=base_user + org - 1 if signed else None,
                signed_at=issued + dt.timedelta(days=3) if signed else None,
                countersigned_by_id=officer if countersigned else None,
                countersigned_at=issued + dt.timedelta(days=4) if countersigned else None,
                completed_at=issued + dt.timedelta(days=400) if status == "completed" else None))
            plan = ((1, "首期款", 40, "signing"), (2, "中期款", 30, "midterm_assessment"),
                    (3, "尾款", 30, "final_assessment"))
            mid_due = call["project_start_on"] + dt.timedelta(days=180)
            for seq, name, pct, trigger in plan:
                tid += 1
                planned = amount * pct // 100
                t = dict(id=tid, contract_id=cid, seq=seq, name=name, percent=pct, trigger=trigger,
                         planned_fen=planned, status="scheduled", rectify_reason="",
                         due_on=None if seq == 1 else mid_due if seq == 2 else call["project_end_on"])
                # What happened to this tranche: paid, payment pending, or a step of the report cycle.
                if not countersigned:
                    state = "scheduled"
                elif seq == 1 or age >= 2 or (age == 1 and seq == 2):
                    state = "paid"
                elif age == 1:  # the final tranche of the call that ended
                    state = ("paid", "payable", "payable_approved", "report_submitted", "due")[i % 5]
                elif seq == 2:
                    state = ("paid", "payable", "payable_approved", "report_submitted", "due", "rectifying",
                             "scheduled", "scheduled")[i % 8]
                else:
                    state = "scheduled"
                t_time = issued + dt.timedelta(days=5 + 180 * (seq - 1))
                if state in ("paid", "payable", "payable_approved"):
                    t.update(status="paid" if state == "paid" else "payable", payable_fen=planned, withheld_fen=0,
                             payment_pct=100, payable_at=t_time, settled_at=t_time if state == "paid" else None)
                    if seq > 1:
                        t["grade"] = "good"
                    pid += 1
                    p = dict(id=pid, tranche_id=tid, contract_id=cid, call_id=k + 1, organization_id=org,
                             amount_fen=planned, requested_at=t_time, requested_by_id=officer,
                             payee_name=f"基准社会组织{org - 1:05d}", payee_bank_name="基准银行",
                             payee_account_number=f"6228{org - 1:012d}", status="requested")
                    if state != "payable":
                        p.update(status="approved", approved_by_id=approver, approved_at=t_time + dt.timedelta(days=1))
                    if state == "paid":
                        p.update(status="released", release_by_id=releaser, released_at=t_time + dt.timedelta(days=2),
                                 released_on=(t_time + dt.timedelta(days=2)).date(), bank_reference=f"BK{pid:09d}")
                    payments.append(p)
                elif state == "rectifying":
                    t.update(status="rectifying", rectify_due_on=today + dt.timedelta(days=i % 30),
                             rectify_reason="中期评估不合格，需整改", grade="fail")
                elif state in ("due", "report_submitted"):
                    t["status"] = state
                else:
                    t["status"] = "scheduled"
                tranches.append(t)
                # Reports and assessments for gated tranches past their report.
                if seq > 1 and t["status"] in ("paid", "payable", "report_submitted", "rectifying"):
                    rpid += 1
                    sub = t_time - dt.timedelta(days=20)
                    accepted = t["status"] != "report_submitted"
                    reports.append(dict(id=rpid, tranche_id=tid, contract_id=cid,
                                        kind="midterm" if seq == 2 else "final", round=1,
                                        status="accepted" if accepted else "submitted", narrative="项目进展" * 30,
                                        created_by_id=base_user + org - 1, created_at=sub, updated_at=sub,
                                        submitted_by_id=base_user + org - 1, submitted_at=sub,
                                        accepted_by_id=officer if accepted else None,
                                        accepted_at=sub + dt.timedelta(days=3) if accepted else None))
                    a = dict(tranche_id=tid, report_id=rpid, contract_id=cid, round=1, status="assigned",
                             evaluator_id=base_eval + cid % N_EVALUATORS, assigned_by_id=officer,
                             assigned_at=sub + dt.timedelta(days=3))
                    if accepted:
                        failed = t["status"] == "rectifying"
                        a.update(status="submitted", satisfaction_pct=90, normal_points=50 if failed else 80,
                                 bonus_points=0, penalty_points=0, total_score=50 if failed else 80,
                                 grade="fail" if failed else "good", payment_pct=0 if failed else 100,
                                 passed=not failed, comment="评估意见", submitted_at=sub + dt.timedelta(days=10))
                    assessments.append(a)
    insert_rows(db, Award, awards)
    insert_rows(db, AwardAllocation, allocs)
    insert_rows(db, Contract, contracts)
    insert_rows(db, Tranche, tranches)
    insert_rows(db, Payment, payments)
    insert_rows(db, ProgressReport, reports)
    insert_rows(db, Assessment, assessments)
    # Bulk inserts bypass the session hook that keeps the dashboard's per-project figures (as an import would).
    from grants.dashboard.summary import rebuild_all

    rebuild_all()
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:  # committed, or the statistics are rolled back with the transaction
            conn.execute(sa.text("ANALYZE"))

    by_status: dict[str, int] = {}
    for p in payments:
        by_status[p["status"]] = by_status.get(p["status"], 0) + 1
    out.counts.update({"organisations": n_orgs, "calls": N_CALLS, "experts": n_experts, "awards": len(awards),
                       "contracts": len(contracts), "tranches": len(tranches), "payments": len(payments),
                       **{f"payments {s}": n for s, n in sorted(by_status.items())},
                       "progress reports": len(reports), "assessments": len(assessments)})
    # The applicant: the member of the organisation with the most applications (and a contract if any).
    org_id = db.session.scalar(sa.select(Application.organization_id).group_by(Application.organization_id)
                               .order_by(sa.func.count().desc(), Application.organization_id).limit(1))
    out.applicant = f"bench_member{org_id - 1}"
    out.contract_id = db.session.scalar(sa.select(Contract.id).where(Contract.status == "active")
                                        .order_by(Contract.id.desc()).limit(1))
    out.application_id = db.session.scalar(sa.select(Contract.application_id).where(Contract.id == out.contract_id))
    out.built_s = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    from bench.common import bench_app, calibration_line

    with bench_app(args.postgresql) as (_app, db):
        g = generate(db, args.scale)
        print(f"database: {db.engine.dialect.name}; scale {args.scale}; built in {g.built_s:.0f} s")
        for k, v in g.counts.items():
            print(f"  {v:>10,} {k}")
        print(calibration_line())


if __name__ == "__main__":
    main()
