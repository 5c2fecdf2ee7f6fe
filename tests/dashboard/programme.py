"""A multi-year programme built through the services, as the bureau would run it.

The host-unit tree is made with create_host_unit; every step after the call's set-up goes through the
domain services: submit_application / withdraw_application, screen_application, close_call_for_review,
the review workflow's transitions, include_application → approve_awards → publish_notice →
finalize_notice (which confirms the awards and charges them to the funding sources), the contract
workflow, reports and assessments (whose score bands decide payable and withheld amounts), payment
approval and release, and reclaims. Calls and the drafts' content are set up with the test factories.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from grants.applications import services as app_svc
from grants.applications.models import ServiceArea
from grants.applications.states import APPLICATION_WORKFLOW
from grants.assessments import services as as_svc
from grants.awards import services as award_svc
from grants.calls.models import CallFundingSource, CallStatus, ScoreBand, TrancheTemplate
from grants.calls.services import close_call_for_review
from grants.core.timeutil import UTC, today_local
from grants.extensions import db
from grants.finance import services as fin_svc
from grants.finance.models import Payment
from grants.organizations.services import create_host_unit
from tests import factories
from tests.applications import factories as af
from tests.contracts import factories as cf

BANDS = [(85, "excellent", 100, False), (70, "good", 100, False), (60, "pass", 80, False), (0, "fail", 0, True)]
# Rubric points (项目实施 30, 人力物资 20, 财务 20, 成效 30, bonus 5, penalty 10) giving each grade.
SCORES = {"excellent": (28, 18, 18, 28, 0, 0), "good": (25, 15, 15, 20, 0, 0), "pass": (20, 12, 12, 18, 0, 0),
          "fail": (15, 10, 10, 15, 0, 0)}
STREETS = [("和平桥街道", "桃坞路社区"), ("和平桥街道", "城东社区"), ("观音山街道", "观音山社区"),
           ("城东街道", "永兴社区"), ("城东街道", ""), ("幸福街道", "幸福社区")]


@dataclass
class Programme:
    city: object
    districts: list
    streets: list
    officer: object
    approver: object
    finance: object
    finance2: object
    evaluator: object
    orgs: list
    members: dict
    calls: dict = field(default_factory=dict)  # year → city call
    extra_calls: list = field(default_factory=list)


def _at(year: int, month: int, day: int, hour: int = 2) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=UTC)


def build_tree(actor=None):
    city = create_host_unit(name="统计市民政局", short_name="统计市", level="city", parent=None, region_name="统计市",
                            actor=actor)
    d1 = create_host_unit(name="甲区民政局", short_name="甲区", level="district", parent=city, region_name="甲区",
                          actor=actor)
    d2 = create_host_unit(name="乙区民政局", short_name="乙区", level="district", parent=city, region_name="乙区",
                          actor=actor)
    s1 = create_host_unit(name="甲区和平桥街道办事处", short_name="和平桥", level="street", parent=d1, actor=actor)
    s2 = create_host_unit(name="甲区观音山街道办事处", short_name="观音山", level="street", parent=d1, actor=actor)
    s3 = create_host_unit(name="乙区城东街道办事处", short_name="城东", level="street", parent=d2, actor=actor)
    return city, [d1, d2], [s1, s2, s3]


def setup_programme(clock) -> Programme:
    clock.set(_at(2024, 1, 5))
    city, districts, streets = build_tree()
    district_of = ["甲区", "甲区", "甲区", "乙区", "乙区", "丙区", "乙区", ""]
    orgs = [factories.organization(name=f"统计测试社工服务中心{i}", district=d) for i, d in enumerate(district_of)]
    p = Programme(
        city=city, districts=districts, streets=streets,
        officer=factories.user(roles=("officer",), unit=city, username="stat_officer"),
        approver=factories.user(roles=("officer",), unit=city, username="stat_approver"),
        finance=factories.user(roles=("finance",), unit=city, username="stat_finance"),
        finance2=factories.user(roles=("finance",), unit=city, username="stat_finance2"),
        evaluator=factories.user(roles=("evaluator",), username="stat_evaluator"),
        orgs=orgs, members={o.id: factories.member(o) for o in orgs},
    )
    return p


def make_call(unit, year: int, *, sources=(("welfare_lottery", 60_000_000), ("fiscal_matching", 40_000_000)),
              title: str | None = None):
    """A published call open in March of `year` with two categories, two sources, three tranches and bands."""
    call = af.call(unit, title=title or f"{year}年{unit.short_name}公益创投大赛", year=year, level=unit.level,
                   open_at=_at(year, 3, 1), close_at=_at(year, 4, 1),
                   project_start_on=dt.date(year, 5, 1), project_end_on=dt.date(year, 12, 31))
    call.funding_sources = [CallFundingSource(kind=k, name="", amount_fen=a) for k, a in sources]
    call.tranches = [TrancheTemplate(seq=1, name="首期款", percent=40, trigger="signing"),
                     TrancheTemplate(seq=2, name="中期款", percent=30, trigger="midterm_assessment"),
                     TrancheTemplate(seq=3, name="尾款", percent=30, trigger="final_assessment")]
    call.score_bands = [ScoreBand(min_score=m, grade=g, payment_pct=pc, rectification=r) for m, g, pc, r in BANDS]
    db.session.flush()
    return call


def apply(p: Programme, call, org, *, requested_fen: int, category: int, areas, submit=True):
    """The organisation drafts (factory content) and submits through the service."""
    a = af.application(call, org, requested_fen=requested_fen)
    a.category = call.categories[category]
    for item in a.activities:
        item.start_on, item.end_on = dt.date(call.year, 5, 10), dt.date(call.year, 6, 30)
    a.service_areas = [ServiceArea(street=s, community=c, position=i) for i, (s, c) in enumerate(areas)]
    db.session.flush()
    if submit:
        problems = app_svc.submit_application(a, p.members[org.id])
        assert problems == {}, problems
    return a


def _release(p: Programme, tranche) -> Payment:
    payment = db.session.query(Payment).filter_by(tranche_id=tranche.id).one()
    fin_svc.approve_payment(payment, p.finance)
    fin_svc.release_payment(payment, p.finance2, f"BANK-{tranche.id:06d}", today_local())
    return payment


def _report_and_assess(p: Programme, contract, tranche, grade: str, achieved: dict):
    member = p.members[contract.organization_id]
    report = as_svc.start_report(tranche, member)
    as_svc.save_report(report, narrative="本期开展入户探访和集体活动，进展顺利。", achieved=achieved, spent={},
                       actor=member, uploads=[cf.upload()])
    as_svc.submit_report(report, member)
    assessment = as_svc.accept_report(report, p.officer, p.evaluator)
    criteria = as_svc.criteria_for(contract.call)
    points = {c.id: s for c, s in zip(criteria, SCORES[grade])}
    as_svc.submit_assessment(assessment, p.evaluator, points=points, satisfaction_pct=90)
    return report


def run_year(p: Programme, clock, year: int, plan: list[dict], *, progress: str) -> object:
    """One city call: applications per `plan`, screening, awards, notice, contracts and payments.

    plan rows: org (index), requested (fen), category (0/1), areas, and optionally draft / withdraw /
    ineligible / award (fen) / mid / final (grades) / reclaim (fen of the first payment) / unreleased
    (the mid-term payment is approved but not paid out).
    progress: 'signed' (first tranche paid), 'mid' (mid-term assessed and paid) or 'done' (finals too).
    """
    call = make_call(p.city, year)
    p.calls[year] = call
    clock.set(_at(year, 3, 10))
    apps = []
    for row in plan:
        a = apply(p, call, p.orgs[row["org"]], requested_fen=row["requested"], category=row.get("category", 0),
                  areas=row.get("areas", STREETS[:1]), submit=not row.get("draft"))
        if row.get("withdraw"):
            app_svc.withdraw_application(a, p.members[a.organization_id])
        apps.append(a)

    clock.set(_at(year, 4, 3))
    for row, a in zip(plan, apps):
        if row.get("draft") or row.get("withdraw"):
            continue
        if row.get("ineligible"):
            app_svc.screen_application(a, "mark_ineligible", p.officer, reason="登记证书已过期")
        else:
            app_svc.screen_application(a, "mark_eligible", p.officer)
    close_call_for_review(call, p.officer)
    for row, a in zip(plan, apps):
        if str(a.status) == "eligible":
            APPLICATION_WORKFLOW.transition(a, "start_review", p.officer)
            APPLICATION_WORKFLOW.transition(a, "score", p.officer)
    for row, a in zip(plan, apps):
        if row.get("award"):
            award_svc.include_application(call, a, row["award"], "按专家评审排名", p.officer)
    award_svc.approve_awards(call, p.approver)
    award_svc.publish_notice(call, p.officer)
    clock.set(_at(year, 4, 25))
    confirmed = {aw.application_id: aw for aw in award_svc.finalize_notice(call, p.officer)}
    assert call.status == CallStatus.FINALIZED

    clock.set(_at(year, 5, 6))
    for row, a in zip(plan, apps):
        award = confirmed.get(a.id)
        if award is None:
            continue
        contract = cf.contract(award, status="active", officer=p.officer, signer=p.members[a.organization_id])
        first = _release(p, contract.tranches[0])
        targets = {t.kind: t.target for t in a.output_targets}
        if progress in ("mid", "done"):
            clock.set(_at(year, 8, 5))
            mid = row.get("mid", "good")
            _report_and_assess(p, contract, contract.tranches[1], mid, {k: v // 2 for k, v in targets.items()})
            if mid == "fail":  # rectification round, then it passes
                _report_and_assess(p, contract, contract.tranches[1], "pass", {k: v // 2 for k, v in targets.items()})
            if row.get("unreleased"):  # approved, not yet paid out: not in the paid figures
                payment = db.session.query(Payment).filter_by(tranche_id=contract.tranches[1].id).one()
                fin_svc.approve_payment(payment, p.finance)
            else:
                _release(p, contract.tranches[1])
        if progress == "done":
            clock.set(_at(year, 12, 10))
            final = row.get("final", "good")
            achieved = {k: v * row.get("achieved_pct", 100) // 100 for k, v in targets.items()}
            _report_and_assess(p, contract, contract.tranches[2], final, achieved)
            if final == "fail":  # failed twice: withheld, and the bureau reclaims part of the first payment
                _report_and_assess(p, contract, contract.tranches[2], "fail", achieved)
            else:
                _release(p, contract.tranches[2])
        if row.get("reclaim"):
            fin_svc.record_reclaim(first, p.finance, row["reclaim"], "结项评估不合格，追回部分资金")
        clock.set(_at(year, 5, 6))
    db.session.flush()
    return call


def build(clock) -> Programme:
    """Three years of the city's programme plus a district and a street call in the last year."""
    p = setup_programme(clock)
    A = STREETS
    run_year(p, clock, 2024, [
        dict(org=0, requested=8_000_000, category=0, areas=[A[0], A[1]], award=7_000_000, mid="excellent",
             final="excellent"),
        dict(org=1, requested=6_000_000, category=1, areas=[A[2]], award=6_000_000, mid="pass", final="good"),
        dict(org=2, requested=5_000_000, category=0, areas=[A[3]], award=4_500_000, mid="good", final="fail",
             achieved_pct=40, reclaim=300_000),
        dict(org=3, requested=9_000_000, category=1, areas=[A[0]], ineligible=True),
        dict(org=4, requested=7_000_000, category=0, areas=[A[5]]),  # scored, not awarded
        dict(org=5, requested=3_000_000, category=1, areas=[A[4]], withdraw=True),
        dict(org=6, requested=4_000_000, category=0, areas=[A[1]], draft=True),
    ], progress="done")
    run_year(p, clock, 2025, [
        dict(org=0, requested=9_000_000, category=1, areas=[A[0]], award=8_000_000, mid="fail", final="pass",
             achieved_pct=120),
        dict(org=3, requested=5_000_000, category=0, areas=[A[3], A[5]], award=5_000_000, mid="good",
             final="excellent"),
        dict(org=5, requested=4_000_000, category=0, areas=[A[4]], award=3_333_333, mid="good", final="good"),
        dict(org=7, requested=6_000_000, category=1, areas=[A[2]]),
        dict(org=1, requested=2_000_000, category=0, areas=[A[1]], ineligible=True),
    ], progress="done")
    run_year(p, clock, 2026, [
        dict(org=1, requested=7_000_000, category=0, areas=[A[1]], award=7_000_000, mid="good"),
        dict(org=2, requested=6_000_000, category=1, areas=[A[2]], award=5_500_000, mid="pass"),
        dict(org=4, requested=8_000_000, category=0, areas=[A[0]], award=6_000_000, unreleased=True),
        dict(org=6, requested=3_000_000, category=1, areas=[A[3]]),
    ], progress="mid")
    # The district 甲区 and the street 和平桥 run their own calls in 2026; 乙区 only drafts one.
    clock.set(_at(2026, 2, 1))
    d_call = make_call(p.districts[0], 2026, sources=(("welfare_lottery", 20_000_000), ("social", 5_000_000)))
    s_call = make_call(p.streets[0], 2026, sources=(("fiscal_matching", 5_000_000),))
    draft = make_call(p.districts[1], 2026)
    draft.status = CallStatus.DRAFT
    clock.set(_at(2026, 3, 10))
    apply(p, d_call, p.orgs[0], requested_fen=4_000_000, category=0, areas=[A[0]])
    apply(p, s_call, p.orgs[2], requested_fen=2_000_000, category=1, areas=[A[1]])
    p.extra_calls = [d_call, s_call, draft]
    db.session.flush()
    return p
