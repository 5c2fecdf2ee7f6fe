"""Demo part: the call of two years ago, finished — two projects carried through every tranche (reports,
assessments, payments approved by `finance` and released by `finance2`) and completed with their final
grades (优秀 and 良好) — and the city's brand-project selection over them, scored by two experts and
published, so the dashboard's grade distribution, the disclosure pages and the organisation record show a
finished programme and its 品牌项目. Runs before the contracts part (so the payments part only works the
payments of last year's contracts)."""
from __future__ import annotations

import datetime as dt

from grants.core.timeutil import SHANGHAI, now, today_local
from grants.extensions import db

FINISHED = [  # applicant username, project, yuan, final grade, reports' narrative
    ("applicant", "银龄助餐·社区长者食堂", 120_000, "excellent",
     "长者食堂全年供餐 2.1 万人次，培育助餐志愿者 45 名，独居老人每日探访全覆盖。"),
    ("applicant2", "助残就业·阳光工坊", 90_000, "good",
     "阳光工坊开展职业技能培训 30 期，18 名残疾人实现辅助性就业，家属喘息服务 400 小时。"),
]
# Assessment points per grade on the default rubric (实施 30, 成效 20, 满意度 20, 财务 30, bonus, penalty).
POINTS = {"excellent": (28, 18, 18, 28, 2, 0), "good": (25, 15, 15, 20, 0, 0)}


def _bj(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=SHANGHAI)


def _release(tranche, finance, finance2, day: dt.date) -> None:
    """Approved by `finance` and released by `finance2` on `day` (and the next working hours)."""
    from grants.demo import demo_clock
    from grants.finance import services
    from grants.finance.models import Payment

    payment = db.session.query(Payment).filter_by(tranche_id=tranche.id).one()
    with demo_clock(_bj(day, 9)):
        services.approve_payment(payment, finance)
        if services.needs_second_approval(payment):
            services.second_approve_payment(payment, finance2 if payment.approved_by_id != finance2.id else finance)
    with demo_clock(_bj(day, 15)):
        services.release_payment(payment, finance2, f"DEMO{today_local():%Y%m%d}{payment.id:04d}", today_local())


def _report_and_assess(contract, tranche, member, officer, evaluator, grade: str, narrative: str) -> dt.date:
    """The report ten days before its due date, accepted and assessed within a fortnight; returns the
    day the tranche can be paid."""
    from grants.assessments import services as asvc
    from grants.contracts.demo import _report
    from grants.demo import demo_clock

    due = tranche.due_on
    with demo_clock(_bj(due - dt.timedelta(days=10))):
        report = _report(tranche, member, narrative)
    with demo_clock(_bj(due + dt.timedelta(days=3))):
        assessment = asvc.accept_report(report, officer, evaluator)
    with demo_clock(_bj(due + dt.timedelta(days=10))):
        points = dict(zip([c.id for c in asvc.criteria_for(contract.call)], POINTS[grade]))
        asvc.submit_assessment(assessment, evaluator, points=points, satisfaction_pct=96,
                               comment="服务记录完整，资金使用规范，成效数据可核实。")
    return due + dt.timedelta(days=15)


def demo_finished_projects(units: dict) -> None:
    """Every step dated when it would have happened: contracts signed in June of the call's year, before the
    project period, the tranches paid after each assessment, the projects completed the next summer and
    the brand selection scored and published that autumn."""
    from grants.brand import services as brand
    from grants.contracts import services as contracts
    from grants.contracts.demo import _award, _call, _user
    from grants.contracts.models import ContractStatus
    from grants.demo import demo_clock

    officer, evaluator = _user("officer"), _user("evaluator")
    finance, finance2 = _user("finance"), _user("finance2")
    experts = [_user("expert"), _user("expert2")]
    members = [_user(u) for u, *_rest in FINISHED]
    if None in (officer, evaluator, finance, finance2, *experts) or any(m is None or m.organization is None
                                                                        for m in members):
        return
    call = _call(units, now().astimezone(SHANGHAI).year - 2)
    year = call.year
    finished = []
    for rank, ((_u, project, yuan, grade, narrative), member) in enumerate(zip(FINISHED, members), start=1):
        with demo_clock(_bj(dt.date(year, 6, 18))):
            award = _award(call, member.organization, call.categories[rank - 1], project, yuan, rank, officer)
            contract = contracts.create_contract_from_award(award, officer)
        with demo_clock(_bj(dt.date(year, 6, 20))):
            contracts.issue_contract(contract, officer)
        with demo_clock(_bj(dt.date(year, 6, 24))):
            contracts.sign_contract(contract, member, signer_name=member.display_name, signer_title="理事长")
        with demo_clock(_bj(dt.date(year, 6, 26))):
            contracts.countersign_contract(contract, officer)
        _release(contract.tranches[0], finance, finance2, dt.date(year, 7, 3))
        for tranche in contract.tranches[1:]:
            pay_on = _report_and_assess(contract, tranche, member, officer, evaluator, grade, narrative)
            _release(tranche, finance, finance2, pay_on)
        if contract.status != ContractStatus.COMPLETED:
            with demo_clock(_bj(contract.period_end_on + dt.timedelta(days=20))):
                contracts.complete_contract(contract, officer)
        finished.append(contract)
    db.session.flush()

    # The brand selection of the following autumn: scored before its deadline, then decided and published.
    autumn = dt.date(year + 1, 9, 1)
    deadline = dt.datetime.combine(dt.date(year + 1, 9, 30), dt.time(23, 59), tzinfo=SHANGHAI)
    with demo_clock(_bj(autumn)):
        selection = brand.create_selection(units["city"].id, officer, title=f"{year}年度南通市公益创投品牌项目",
                                           year=year, winners_count=1, call_ids=[call.id],
                                           scoring_deadline_at=deadline)
        brand.open_nominations(selection, officer)
        nominations = [brand.nominate_project(selection, c, reason, officer) for c, reason in zip(finished, (
            "长者食堂模式可复制，已在三个街道推广，服务对象满意度 98%。",
            "辅助性就业成效明显，获评市级助残示范项目。"))]
        for e in experts:
            brand.invite_expert(selection, e, officer)
    with demo_clock(_bj(autumn + dt.timedelta(days=9))):
        brand.start_scoring(selection, officer)
    with demo_clock(_bj(autumn + dt.timedelta(days=16))):
        for e in experts:
            for n, share in zip(nominations, (95, 82)):
                brand.declare_conflict(n, e, has_conflict=False)
                points = {c.id: c.max_points * share // 100 for c in selection.criteria}
                brand.save_review(n, e, points, "项目成效突出，模式清晰，具有推广价值。", submit=True)
    with demo_clock(_bj(dt.date(year + 1, 10, 9))):
        brand.decide_winners(selection, officer, note="按专家评分排名确定。")
        brand.publish_selection(selection, officer)
    db.session.flush()
