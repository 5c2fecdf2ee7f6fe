"""Demo part: a district call (崇川区) already scored by the panel, its award list drafted by officer_cc,
approved by officer and published as a 公示 — so the public home shows a notice and the officer pages
show the budget bars, the notice and the objection handling."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationStatus
from grants.calls.models import Call, CallCategory, CallFundingSource, CallStatus, RubricCriterion
from grants.core.timeutil import SHANGHAI, now
from grants.extensions import db
from grants.organizations.models import Organization, OrgStatus

RUBRIC = [("需求分析", 20), ("项目设计", 30), ("可行性", 20), ("预算合理性", 15), ("创新性", 15)]
# project, category index, requested yuan, target score
PROJECTS = [
    ("银龄食堂·邻里助餐", 0, 80_000, 91), ("残障青年就业辅导站", 1, 60_000, 88), ("“小候鸟”暑期陪伴计划", 2, 50_000, 86),
    ("楼道议事会培育", 2, 40_000, 83), ("独居老人智能探访", 0, 70_000, 80), ("社区康复互助小组", 1, 45_000, 76),
]
COMMENTS = ["需求调研扎实，服务对象明确；建议细化志愿者激励机制。", "项目设计完整，预算中宣传费用偏高，可适当压缩。",
            "与社区资源衔接较好，绩效目标可量化，可行性较强。"]


def _scored_call(units: dict, unit_key: str, title: str, close_at: dt.datetime, drafter, projects, *,
                 level: str = "district", contracts_ready: bool = False) -> Call | None:
    """A call whose panel has scored every application (declared no conflict first), ready for the award draft."""
    from grants.calls.models import ScoreBand, TrancheTemplate
    from grants.reviews.models import (
        Conflict, ConflictSource, PanelMember, Review, ReviewAssignment, ReviewScore,
    )

    experts = list(db.session.scalars(sa.select(User).where(User.username.in_(["expert", "expert2", "expert3"]))
                                      .order_by(User.username)))
    orgs = list(db.session.scalars(sa.select(Organization).where(Organization.status == OrgStatus.VERIFIED,
                                                                 Organization.blacklisted.is_(False))
                                   .order_by(Organization.id)))
    if len(experts) < 3 or not orgs:
        return None
    year = now().astimezone(SHANGHAI).year
    call = Call(host_unit_id=units[unit_key].id, title=title, year=year,
                level=level, status=CallStatus.REVIEWING, open_at=close_at - dt.timedelta(days=30),
                close_at=close_at, notice_working_days=5, description="面向辖区社会组织征集社区服务项目。",
                contract_terms="", allowed_legal_forms=[], min_grant_fen=1_000_000, max_grant_fen=10_000_000,
                aggregation="mean", reviewers_per_application=3, published_at=close_at - dt.timedelta(days=32),
                # Six projects from five organisations: the micro call lets an organisation put in two.
                max_applications_per_org=2, filed_org_max_applications=1)
    if contracts_ready:  # what a contract needs: the project period, the tranche schedule and the score bands
        call.project_start_on = (close_at + dt.timedelta(days=90)).date().replace(day=1)
        call.project_end_on = call.project_start_on.replace(year=call.project_start_on.year + 1) - dt.timedelta(days=1)
        call.contract_terms = "乙方应按照申报书组织实施项目，专款专用；资助资金按评估结果分期拨付。"
        call.tranches = [TrancheTemplate(seq=1, name="首期款", percent=50, trigger="signing"),
                         TrancheTemplate(seq=2, name="尾款", percent=50, trigger="final_assessment")]
        call.score_bands = [ScoreBand(min_score=70, grade="good", payment_pct=100),
                            ScoreBand(min_score=60, grade="pass", payment_pct=80),
                            ScoreBand(min_score=0, grade="fail", payment_pct=0, rectification=True)]
    db.session.add(call)
    db.session.flush()
    cats = [CallCategory(call_id=call.id, name=n, quota_fen=q, sort=i)
            for i, (n, q) in enumerate([("为老服务", 12_000_000), ("助残服务", 8_000_000), ("社区治理", None)])]
    db.session.add_all(cats)
    db.session.add_all([CallFundingSource(call_id=call.id, kind="welfare_lottery", name="福利彩票公益金",
                                          amount_fen=18_000_000),
                        CallFundingSource(call_id=call.id, kind="fiscal_matching", name="财政配套资金",
                                          amount_fen=10_000_000)])
    criteria = [RubricCriterion(call_id=call.id, stage="written", name=n, max_points=p, sort=i)
                for i, (n, p) in enumerate(RUBRIC)]
    db.session.add_all(criteria)
    db.session.flush()
    for e in experts:
        db.session.add(PanelMember(call_id=call.id, user_id=e.id, stage="written", invited_by_id=drafter.id))
    for i, (name, cat, yuan_, score) in enumerate(projects):
        org = orgs[i % len(orgs)]
        app = Application(call_id=call.id, organization_id=org.id, category_id=cats[cat].id,
                          number=f"{year}-{call.id:03d}-{i + 1:04d}", project_name=name,
                          summary=f"{name}：面向社区居民的公益服务项目。", status=ApplicationStatus.SCORED,
                          requested_fen=yuan_ * 100, total_budget_fen=yuan_ * 120, own_funding_fen=yuan_ * 20,
                          submitted_at=close_at - dt.timedelta(days=3, hours=i), created_by_id=None)
        db.session.add(app)
        db.session.flush()
        for j, e in enumerate(experts):
            # The expert declares "无利益冲突" before seeing the application, as the review pages require.
            db.session.add(Conflict(application_id=app.id, expert_id=e.id, source=ConflictSource.DECLARED,
                                    has_conflict=False, reason="",
                                    created_at=close_at + dt.timedelta(days=8, hours=j)))
            total = score + (j - 1) * 2
            points = [p * total // 100 for _n, p in RUBRIC]
            points[1] += total - sum(points)
            assignment = ReviewAssignment(application_id=app.id, expert_id=e.id, stage="written")
            db.session.add(assignment)
            db.session.flush()
            review = Review(assignment_id=assignment.id, application_id=app.id, expert_id=e.id, stage="written",
                            status="submitted", overall_comment=COMMENTS[j], recommendation="fund",
                            submitted_at=close_at + dt.timedelta(days=10 + j))
            review.scores = [ReviewScore(criterion_id=c.id, points=pt) for c, pt in zip(criteria, points)]
            db.session.add(review)
    db.session.flush()
    db.session.refresh(call)
    return call


def demo_award_notice(units: dict) -> None:
    from grants.awards import services

    officer_cc = db.session.scalar(sa.select(User).where(User.username == "officer_cc"))
    officer = db.session.scalar(sa.select(User).where(User.username == "officer"))
    if officer_cc is None or officer is None:
        return
    today = now().astimezone(SHANGHAI)
    close_at = (today - dt.timedelta(days=40)).replace(hour=17, minute=0, second=0, microsecond=0)
    call = _scored_call(units, "chongchuan", f"{today.year}年崇川区社区公益微创投", close_at, officer_cc, PROJECTS)
    if call is None:
        return
    services.propose_awards(call, officer_cc)
    services.approve_awards(call, officer)
    try:
        services.publish_notice(call, officer_cc, show_panel_names=True)
    except services.AwardError:
        pass  # a year the holiday calendar does not know yet: the draft page shows the warning instead
    db.session.flush()


ENDED_PROJECTS = [
    ("长者助浴·居家上门服务", 0, 70_000, 90), ("听障儿童语言康复陪伴", 1, 55_000, 87),
    ("社区“睦邻点”议事协商", 2, 40_000, 84), ("失能老人家庭照护者喘息服务", 0, 60_000, 81),
]


def demo_notice_ended(units: dict) -> None:
    """A city call whose award list `officer` drafted, the 分管领导 `officer2` approved and whose 公示 (five working
    days) ended last week without objections: today the officer confirms it (定项) and makes the contracts."""
    from grants.awards import services
    from grants.demo import demo_clock

    officer = db.session.scalar(sa.select(User).where(User.username == "officer"))
    chief = db.session.scalar(sa.select(User).where(User.username == "officer2"))
    if officer is None or chief is None:
        return
    today = now().astimezone(SHANGHAI)
    close_at = (today - dt.timedelta(days=60)).replace(hour=17, minute=0, second=0, microsecond=0)
    call = _scored_call(units, "city", f"{today.year}年南通市为老助残服务专项创投", close_at, officer, ENDED_PROJECTS,
                        level="city", contracts_ready=True)
    if call is None:
        return
    with demo_clock((close_at + dt.timedelta(days=20)).astimezone(dt.timezone.utc)):
        drafts = services.propose_awards(call, officer)
        # The demo organisations hold other grants: the officer checked each flag (重复申报认定) before approval.
        from grants.applications.duplicates import decide_duplicate, duplicate_flags

        flags = duplicate_flags([a.application for a in drafts])
        for award in drafts:
            if flags.get(award.application_id):
                decide_duplicate(award.application, "cleared", "服务对象和内容与该组织其他在资助项目不同，不属于重复资助。",
                                 officer)
        db.session.flush()
    with demo_clock((close_at + dt.timedelta(days=22)).astimezone(dt.timezone.utc)):
        services.approve_awards(call, chief)
    # Published 25 days ago: five working days are over whatever the holidays in between.
    with demo_clock((today - dt.timedelta(days=25)).replace(hour=10, minute=0).astimezone(dt.timezone.utc)):
        try:
            services.publish_notice(call, officer, show_panel_names=True)
        except services.AwardError:
            pass
    db.session.flush()
