"""Demo part: last year's city call, finalized, with three confirmed awards turned into contracts —
one in force with its mid-term report assessed (良好, second tranche payable), one in force whose mid-term
report waits for the evaluator `evaluator`, and one issued and waiting for `applicant3`'s signature.
Runs before the payments part, which works the payments these contracts requested."""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.accounts.models import User
from grants.applications.models import Application, BudgetLine, OutputTarget, ServiceArea
from grants.calls.models import Call, CallCategory, CallFundingSource, ScoreBand, TrancheTemplate
from grants.core.timeutil import SHANGHAI, now
from grants.extensions import db

PROJECTS = [  # applicant username, project, yuan
    ("applicant", "银龄互助·幸福邻里", 100_000),
    ("applicant2", "“星星的孩子”融合成长营", 80_000),
    ("applicant3", "楼道微治理·邻里议事厅", 60_000),
]
# 1×1 PNG, the "photo" evidence of the demo reports.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _call(units: dict, year: int) -> Call:
    start = dt.datetime(year, 3, 1, 9, 0, tzinfo=SHANGHAI)
    call = Call(host_unit_id=units["city"].id, title=f"{year}年南通市公益创投大赛", year=year, level="city",
                status="finalized", open_at=start, close_at=start + dt.timedelta(days=30), published_at=start,
                project_start_on=dt.date(year, 7, 1), project_end_on=dt.date(year + 1, 6, 30),
                min_grant_fen=2_000_000, max_grant_fen=20_000_000, allowed_legal_forms=[],
                description="面向全市社会组织征集为老、助残、青少年和社区治理服务项目。")
    call.categories = [CallCategory(name="为老服务", sort=0), CallCategory(name="助残服务", sort=1),
                       CallCategory(name="社区治理", sort=2)]
    call.funding_sources = [CallFundingSource(kind="welfare_lottery", name="市级福利彩票公益金", amount_fen=20_000_000),
                            CallFundingSource(kind="fiscal_matching", name="市财政配套资金", amount_fen=10_000_000)]
    call.tranches = [TrancheTemplate(seq=1, name="首期款", percent=40, trigger="signing"),
                     TrancheTemplate(seq=2, name="中期款", percent=30, trigger="midterm_assessment"),
                     TrancheTemplate(seq=3, name="尾款", percent=30, trigger="final_assessment")]
    call.score_bands = [ScoreBand(min_score=85, grade="excellent", payment_pct=100),
                        ScoreBand(min_score=70, grade="good", payment_pct=100),
                        ScoreBand(min_score=60, grade="pass", payment_pct=80),
                        ScoreBand(min_score=0, grade="fail", payment_pct=0, rectification=True)]
    db.session.add(call)
    db.session.flush()
    return call


def _award(call: Call, org, category, project: str, yuan: int, rank: int, approver):
    from grants.awards.models import Award, AwardAllocation

    fen = yuan * 100
    app = Application(call_id=call.id, organization_id=org.id, category_id=category.id,
                      number=f"{call.year}-{call.id:03d}-{rank:04d}", project_name=project, status="confirmed",
                      summary=f"{project}：面向社区居民的公益服务项目。", requested_fen=fen,
                      total_budget_fen=fen + fen // 5, own_funding_fen=fen // 5, submitted_at=call.close_at,
                      declaration_accepted_at=call.close_at)
    app.output_targets = [OutputTarget(kind="service_sessions", target=yuan // 40),
                          OutputTarget(kind="beneficiaries", target=yuan // 800),
                          OutputTarget(kind="activities", target=24)]
    app.service_areas = [ServiceArea(street=org.street, community=org.community, position=0)]
    lines = [("personnel", "项目社工补贴", fen * 25 // 100), ("activity", "社区活动与服务", fen * 55 // 100),
             ("materials", "活动物资", fen * 12 // 100)]
    lines.append(("management", "项目管理费", fen - sum(a for _k, _i, a in lines)))
    app.budget_lines = [BudgetLine(kind=k, item=i, unit_price_fen=a, quantity=1, amount_fen=a, funded_by="grant",
                                   position=n) for n, (k, i, a) in enumerate(lines)]
    app.budget_lines.append(BudgetLine(kind="other", item="自筹配套", unit_price_fen=fen // 5, quantity=1,
                                       amount_fen=fen // 5, funded_by="own", position=len(lines)))
    db.session.add(app)
    db.session.flush()
    award = Award(call_id=call.id, application_id=app.id, organization_id=org.id, category_id=category.id,
                  amount_fen=fen, status="confirmed", rank=rank, approved_by_id=approver.id,
                  approved_at=call.close_at, confirmed_at=call.close_at + dt.timedelta(days=40))
    welfare, fiscal = call.funding_sources
    # Two thirds from the welfare-lottery fund in whole yuan, as a bureau's records split it.
    from_welfare = fen * 2 // 300 * 100
    award.allocations = [AwardAllocation(funding_source_id=welfare.id, amount_fen=from_welfare),
                         AwardAllocation(funding_source_id=fiscal.id, amount_fen=fen - from_welfare)]
    db.session.add(award)
    db.session.flush()
    return award


def _report(tranche, member, narrative: str):
    from grants.assessments import services as asvc

    report = asvc.start_report(tranche, member)
    achieved = {o.kind: o.target * 11 // 20 for o in report.outputs}
    spent = {s.id: s.budget_fen * 9 // 20 for s in report.spending}
    asvc.save_report(report, narrative=narrative, achieved=achieved, spent=spent, actor=member,
                     uploads=[FileStorage(io.BytesIO(PNG), "活动照片.png")])
    asvc.submit_report(report, member)
    return report


def _bj(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=SHANGHAI)


def demo_contracts(units: dict) -> None:
    """Each step at the moment it would have happened: the two contracts in force were signed before their
    period began (July of last year) and their mid-term reports came in before the mid-term date; the
    third, issued this week for a period that starts next month, waits for its signature."""
    from grants.assessments import services as asvc
    from grants.contracts import services
    from grants.demo import demo_clock

    officer, evaluator = _user("officer"), _user("evaluator")
    members = [_user(u) for u, _p, _y in PROJECTS]
    if officer is None or evaluator is None or any(m is None or m.organization is None for m in members):
        return
    today = now().astimezone(SHANGHAI).date()
    year = today.year - 1
    call = _call(units, year)
    contracts = []
    with demo_clock(_bj(dt.date(year, 6, 18))):
        for rank, ((_u, project, yuan), member) in enumerate(zip(PROJECTS, members), start=1):
            award = _award(call, member.organization, call.categories[min(rank - 1, 2)], project, yuan, rank,
                           officer)
            contracts.append(services.create_contract_from_award(award, officer))
    first, second, third = contracts
    for c, member in ((first, members[0]), (second, members[1])):
        with demo_clock(_bj(dt.date(year, 6, 20))):
            services.issue_contract(c, officer)
        with demo_clock(_bj(dt.date(year, 6, 24))):
            services.sign_contract(c, member, signer_name=member.display_name, signer_title="理事长")
        with demo_clock(_bj(dt.date(year, 6, 26))):
            services.countersign_contract(c, officer)
    # The third organisation's project starts next month: its contract is issued now, for that period.
    start = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    with demo_clock(_bj(today - dt.timedelta(days=2))):
        services.update_contract(third, terms=third.terms, period_start_on=start, period_end_on=end, actor=officer)
        services.issue_contract(third, officer)

    with demo_clock(_bj(first.tranches[1].due_on - dt.timedelta(days=10))):
        report = _report(first.tranches[1], members[0],
                         "上半年完成入户探访 1400 人次，组建 30 人志愿者队伍，开展集体生日会和健康讲座 12 场。")
    with demo_clock(_bj(first.tranches[1].due_on + dt.timedelta(days=5))):
        assessment = asvc.accept_report(report, officer, evaluator)
    with demo_clock(_bj(first.tranches[1].due_on + dt.timedelta(days=12))):
        criteria = asvc.criteria_for(call)
        points = dict(zip([c.id for c in criteria], [26, 16, 16, 24, 2, 0]))
        asvc.submit_assessment(assessment, evaluator, points=points, satisfaction_pct=95,
                               comment="服务记录完整，资金使用规范；建议加强志愿者培训和服务对象回访。")
    with demo_clock(_bj(second.tranches[1].due_on - dt.timedelta(days=8))):
        report = _report(second.tranches[1], members[1],
                         "融合成长营已开展 9 期，服务特殊儿童 40 名及家长 60 人次，志愿者陪伴 300 小时。")
    with demo_clock(_bj(second.tranches[1].due_on + dt.timedelta(days=5))):
        asvc.accept_report(report, officer, evaluator)
    db.session.flush()
