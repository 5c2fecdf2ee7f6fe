"""docs/TOUR.md, walked with the test client on the demo data: each step is done by the user the tour names,
on the page it names, and leaves the state the next step starts from."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationStatus
from grants.awards.models import Award, AwardStatus
from grants.calls.models import Call, CallStatus, RubricCriterion
from grants.contracts.models import Contract, ContractStatus
from grants.demo import DEMO_PASSWORD
from grants.finance.models import Payment, PaymentStatus
from grants.reviews.models import ReviewAssignment
from tests import factories


@pytest.fixture()
def demo(app, db):
    from grants.demo import load_demo

    with app.test_request_context():
        load_demo()
        db.session.commit()
    yield db


def _user(db, username) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


@pytest.fixture()
def as_user(client, demo):
    def login(username):
        client.post("/logout")
        user = _user(demo, username)
        if user.has_role("finance", "admin") and not user.totp_enabled_at:  # first log-in: the authenticator app
            factories.enroll_two_factor(user)
            demo.session.commit()
        resp = client.post("/login", data={"login": username, "password": DEMO_PASSWORD})
        assert resp.status_code == 302, username
        if resp.headers["Location"].endswith("/login/2fa"):
            demo.session.refresh(user)
            assert client.post("/login/2fa", data={"code": factories.totp_code(user)}).status_code == 302
        return user

    return login


def _ok(resp):
    assert resp.status_code in (200, 302), resp.status_code
    return resp


def _todo(html: str, key: str) -> int:
    m = re.search(rf'data-todo="{key}".*?data-count="(\d+)"', html, re.S)
    return int(m.group(1)) if m else 0


def test_the_guided_tour(client, demo, as_user):
    db = demo
    closed = db.session.scalar(sa.select(Call).where(Call.title.like("%社区治理专项创投")))
    ended = db.session.scalar(sa.select(Call).where(Call.title.like("%为老助残服务专项创投")))
    apps = db.session.scalars(sa.select(Application).where(Application.call_id == closed.id)
                              .order_by(Application.id)).all()

    # 第 1 步 officer: 工作台 → 待审查申报 → each application → 审查通过
    as_user("officer")
    html = client.get("/workbench").get_data(as_text=True)
    assert _todo(html, "to_screen") >= len(apps)
    for a in apps:
        assert a.number in client.get(f"/applications/{a.id}").get_data(as_text=True)
        _ok(client.post(f"/applications/{a.id}/screen", data={"action": "mark_eligible"}))
    db.session.expire_all()
    assert {a.status for a in apps} == {ApplicationStatus.ELIGIBLE}

    # 第 2 步 officer: 创投活动 → the call → 截止申报，进入评审; 评审与立项 → 专家评审 → 自动分配
    _ok(client.post(f"/calls/{closed.id}/close"))
    _ok(client.post(f"/reviews/calls/{closed.id}/assignments/auto", data={"stage": "written", "n": "3"}))
    db.session.expire_all()
    assert closed.status == CallStatus.REVIEWING
    assignments = db.session.scalars(sa.select(ReviewAssignment).join(Application)
                                     .where(Application.call_id == closed.id)).all()
    assert len(assignments) == 3 * len(apps)

    # 第 3 步 each expert: 工作台 → 待完成评审 → 声明无利益冲突 → 评分 → 提交
    criteria = db.session.scalars(sa.select(RubricCriterion).where(RubricCriterion.call_id == closed.id,
                                                                   RubricCriterion.stage == "written")).all()
    assert criteria, "the closed call must have a written rubric for the experts"
    by_expert: dict[int, list[ReviewAssignment]] = {}
    for a in assignments:
        by_expert.setdefault(a.expert_id, []).append(a)
    for expert_id, mine in by_expert.items():
        expert = as_user(db.session.get(User, expert_id).username)
        assert _todo(client.get("/workbench").get_data(as_text=True), "review_tasks") == len(mine)
        for n, a in enumerate(mine):
            _ok(client.post(f"/reviews/assignments/{a.id}/declare", data={"has_conflict": "no"}))
            form = {"action": "submit", "overall_comment": "需求清楚，设计可行。", "recommendation": "fund"}
            for c in criteria:
                form[f"points-{c.id}"] = str(c.max_points * (80 + n) // 100)
                form[f"comment-{c.id}"] = "符合评分标准"
            _ok(client.post(f"/reviews/assignments/{a.id}", data=form))
        assert _todo(client.get("/workbench").get_data(as_text=True), "review_tasks") == 0, expert.username
    db.session.expire_all()
    assert {a.status for a in apps} == {ApplicationStatus.SCORED}

    # 第 4 步 officer drafts the award plan; 第 5 步 officer2 (分管领导) approves it from the workbench
    as_user("officer")
    _ok(client.post(f"/awards/calls/{closed.id}/propose"))
    drafts = db.session.scalars(sa.select(Award).where(Award.call_id == closed.id)).all()
    assert drafts
    from grants.applications.duplicates import duplicate_flags

    flags = duplicate_flags([a.application for a in drafts])
    for award in drafts:  # 重复申报认定 on the project page, where the plan asks for it
        if flags.get(award.application_id):
            _ok(client.post(f"/applications/{award.application_id}/duplicate",
                            data={"decision": "cleared", "reason": "服务内容不同，不属于重复资助"}))
    as_user("officer2")
    assert _todo(client.get("/workbench").get_data(as_text=True), "award_plans") == 1
    _ok(client.post(f"/awards/calls/{closed.id}/approve"))
    db.session.expire_all()
    assert {a.status for a in drafts} == {AwardStatus.APPROVED}
    assert {a.approved_by_id for a in drafts} == {_user(db, "officer2").id}

    # 第 6 步 officer: the other call's 公示 has ended → 定项, then a contract for each award, issued
    as_user("officer")
    _ok(client.post(f"/awards/calls/{ended.id}/finalize"))
    db.session.expire_all()
    assert ended.status == CallStatus.FINALIZED
    award = db.session.scalars(sa.select(Award).where(Award.call_id == ended.id).order_by(Award.rank)).first()
    assert award.status == AwardStatus.CONFIRMED
    _ok(client.post(f"/awards/{award.id}/contract"))
    contract = db.session.scalar(sa.select(Contract).where(Contract.award_id == award.id))
    _ok(client.post(f"/contracts/{contract.id}/issue"))
    db.session.expire_all()
    assert contract.status == ContractStatus.ISSUED

    # 第 7 步 the organisation's administrator signs (工作台 → 待签署的协议)
    from grants.organizations.models import OrganizationMember

    member = db.session.scalar(sa.select(User).join(OrganizationMember, OrganizationMember.user_id == User.id)
                               .where(OrganizationMember.organization_id == contract.organization_id))
    as_user(member.username)
    assert _todo(client.get("/workbench").get_data(as_text=True), "contracts_to_sign") >= 1
    _ok(client.post(f"/contracts/{contract.id}/sign", data={"signer_name": member.display_name, "signer_title": "理事长"}))
    db.session.expire_all()
    assert contract.status == ContractStatus.SIGNED_BY_ORG

    # 第 8 步 officer countersigns (工作台 → 待盖章确认的协议): the first tranche's payment is requested
    as_user("officer")
    assert _todo(client.get("/workbench").get_data(as_text=True), "to_countersign") >= 1
    _ok(client.post(f"/contracts/{contract.id}/countersign"))
    db.session.expire_all()
    assert contract.status == ContractStatus.ACTIVE
    payment = db.session.scalar(sa.select(Payment).where(Payment.contract_id == contract.id))
    assert payment.status == PaymentStatus.REQUESTED

    # 第 9 步 finance approves, finance2 releases (two people)
    as_user("finance")
    assert _todo(client.get("/workbench").get_data(as_text=True), "payments_to_approve") >= 1
    _ok(client.post(f"/finance/payments/{payment.id}/approve", data={"version": payment.version}))
    db.session.expire_all()
    assert payment.status == PaymentStatus.APPROVED
    as_user("finance2")
    assert _todo(client.get("/workbench").get_data(as_text=True), "payments_to_release") >= 1
    from grants.core.timeutil import today_local

    _ok(client.post(f"/finance/payments/{payment.id}/release",
                    data={"version": payment.version, "bank_reference": "TOUR-0001",
                          "released_on": today_local().isoformat()}))
    db.session.expire_all()
    assert payment.status == PaymentStatus.RELEASED
