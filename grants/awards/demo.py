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


def demo_award_notice(units: dict) -> None:
    from grants.awards import services
    from grants.reviews.models import (
        Conflict, ConflictSource, PanelMember, Review, ReviewAssignment, ReviewScore,
    )

    officer_cc = db.session.scalar(sa.select(User).where(User.username == "officer_cc"))
    officer = db.session.scalar(sa.select(User).where(User.username == "officer"))
    experts = list(db.session.scalars(sa.select(User).where(User.username.in_(["expert", "expert2", "expert3"]))
                                      .order_by(User.username)))
    orgs = list(db.session.scalars(sa.select(Organization).where(Organization.status == OrgStatus.VERIFIED,
                                                                 Organization.blacklisted.is_(False))
                                   .order_by(Organization.id)))
    if officer_cc is None or officer is None or len(experts) < 3 or not orgs:
        return
    today = now().astimezone(SHANGHAI)
    close_at = (today - dt.timedelta(days=40)).replace(hour=17, minute=0, second=0, microsecond=0)
    call = Call(host_unit_id=units["chongchuan"].id, title=f"{today.year}年崇川区社区公益微创投", year=today.year,
                level="district", status=CallStatus.REVIEWING, open_at=close_at - dt.timedelta(days=30),
                close_at=close_at, notice_working_days=5, description="面向崇川区社区社会组织征集社区服务微项目。",
                contract_terms="", allowed_legal_forms=[], min_grant_fen=1_000_000, max_grant_fen=10_000_000,
                aggregation="mean", reviewers_per_application=3, published_at=close_at - dt.timedelta(days=32),
                # Six projects from five organisations: the micro call lets an organisation put in two.
                max_applications_per_org=2, filed_org_max_applications=1)
    db.session.add(call)
    db.session.flush()
    cats = [CallCategory(call_id=call.id, name=n, quota_fen=q, sort=i)
            for i, (n, q) in enumerate([("为老服务", 12_000_000), ("助残服务", 8_000_000), ("社区治理", None)])]
    db.session.add_all(cats)
    db.session.add_all([CallFundingSource(call_id=call.id, kind="welfare_lottery", name="区级福利彩票公益金",
                                          amount_fen=18_000_000),
                        CallFundingSource(call_id=call.id, kind="fiscal_matching", name="区财政配套资金",
                                          amount_fen=10_000_000)])
    criteria = [RubricCriterion(call_id=call.id, stage="written", name=n, max_points=p, sort=i)
                for i, (n, p) in enumerate(RUBRIC)]
    db.session.add_all(criteria)
    db.session.flush()
    for e in experts:
        db.session.add(PanelMember(call_id=call.id, user_id=e.id, stage="written", invited_by_id=officer_cc.id))
    for i, (name, cat, yuan_, score) in enumerate(PROJECTS):
        org = orgs[i % len(orgs)]
        app = Application(call_id=call.id, organization_id=org.id, category_id=cats[cat].id,
                          number=f"{today.year}-{call.id:03d}-{i + 1:04d}", project_name=name,
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
    services.propose_awards(call, officer_cc)
    services.approve_awards(call, officer)
    try:
        services.publish_notice(call, officer_cc, show_panel_names=True)
    except services.AwardError:
        pass  # a year the holiday calendar does not know yet: the draft page shows the warning instead
    db.session.flush()
