"""A disclosed call with funded projects of a registered and a filed organisation, full of personal data
that must never reach the public (contacts, phones, e-mails, bank accounts, signers, team members,
objectors), and calls that must not be disclosed (a draft, a call whose award list is on notice)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from grants.applications.models import ServiceArea, TeamMember
from grants.awards.models import Objection, PublicNotice
from grants.calls.models import RubricCriterion
from grants.core.timeutil import now
from grants.extensions import db
from grants.finance import services as finance
from grants.organizations.models import LegalForm
from grants.reviews.models import Review, ReviewAssignment, ReviewScore
from tests import factories
from tests.finance import factories as ff

# Personal data of the registered organisation, its people and its contract; each string is distinctive.
SECRETS_A = dict(contact_name="联系人甄秘密", contact_phone="13912345678", contact_email="zhen.mimi@example.org",
                 bank_account_name="甄秘密收款户", bank_account_number="6222020200112233445")
SECRETS_B = dict(contact_name="联系人贾隐私", contact_phone="0513-86661234", contact_email="jia.yinsi@example.org",
                 bank_account_name="贾隐私收款户", bank_account_number="6228480402564890018")
LEGAL_REPRESENTATIVE = "法定代表人钱保密"
TEAM_MEMBER = "项目社工孙不公开"
CERTIFICATE_NO = "SW-2020-778899"
MEMBER_NAME = "会员用户李私人"
MEMBER_MOBILE = "13700009999"
OBJECTOR = "异议人周匿名"
OBJECTOR_CONTACT = "13600008888"
SIGNER_TITLE = "理事长兼秘书长"


def personal_strings() -> list[str]:
    return [*SECRETS_A.values(), *SECRETS_B.values(), LEGAL_REPRESENTATIVE, TEAM_MEMBER, CERTIFICATE_NO,
            MEMBER_NAME, MEMBER_MOBILE, OBJECTOR, OBJECTOR_CONTACT, SIGNER_TITLE]


@dataclass
class World:
    unit: object
    call: object
    org_a: object
    org_b: object
    contract_a: object
    award_a: object
    award_b: object
    draft_call: object
    notice_call: object
    hidden_award: object
    finance_users: list = field(default_factory=list)


def _review(application, criterion, points: int) -> None:
    expert = factories.user(roles=("expert",))
    assignment = ReviewAssignment(application_id=application.id, expert_id=expert.id, stage="written")
    db.session.add(assignment)
    db.session.flush()
    review = Review(assignment_id=assignment.id, application_id=application.id, expert_id=expert.id,
                    stage="written", status="submitted", overall_comment="思路清晰", recommendation="fund",
                    submitted_at=now())
    review.scores = [ReviewScore(criterion_id=criterion.id, points=points)]
    db.session.add(review)
    db.session.flush()


def disclosed_world(unit=None) -> World:
    """Call inside a request context (services translate their messages)."""
    unit = unit or factories.host_unit(name="南通市民政局测试")
    call = ff.funded_call(unit, title="2025年南通市公益创投大赛", year=2025,
                          project_start_on=dt.date(2025, 7, 1), project_end_on=dt.date(2026, 6, 30))
    criterion = RubricCriterion(call_id=call.id, stage="written", name="项目设计", max_points=100)
    db.session.add(criterion)
    org_a = factories.organization(name="崇川区阳光为老服务中心", **SECRETS_A)
    org_b = factories.organization(name="和平桥街道邻里互助会", legal_form=LegalForm.FILED_COMMUNITY, **SECRETS_B)
    member = factories.member(org_a, mobile=MEMBER_MOBILE)
    member.display_name = MEMBER_NAME

    officer = ff.officer(call)
    contract_a = ff.active_contract(call, amount_fen=123_456_78, org=org_a, officer=officer)
    contract_a.signer_name = LEGAL_REPRESENTATIVE
    contract_a.signer_title = SIGNER_TITLE
    app_a = contract_a.application
    app_a.project_name = "银龄互助·幸福邻里"
    app_a.service_areas = [ServiceArea(street="和平桥街道", community="桃坞路社区", position=0),
                           ServiceArea(street="城东街道", community="", position=1)]
    app_a.team_members = [TeamMember(name=TEAM_MEMBER, role="项目主管", is_social_worker=True,
                                     certificate_no=CERTIFICATE_NO, certificate_level="social_worker")]
    app_a.final_grade = "excellent"
    db.session.flush()
    _review(app_a, criterion, 80)
    _review(app_a, criterion, 91)

    payment = ff.first_payment(contract_a)
    approver, releaser = ff.finance_user(call), ff.finance_user(call)
    finance.approve_payment(payment, approver)
    finance.release_payment(payment, releaser, "BANK-REF-0001", dt.date(2025, 7, 15))
    finance.record_reclaim(payment, releaser, 1_000_00, "部分活动未开展")

    award_b = ff.award(call, amount_fen=30_000_00, org=org_b)
    award_b.application.project_name = "=HYPERLINK(\"http://x\")四点半课堂"

    notice = PublicNotice(call_id=call.id, starts_on=dt.date(2025, 6, 2), ends_on=dt.date(2025, 6, 6),
                          published_at=now(), finalized_at=now(), show_panel_names=False)
    db.session.add(notice)
    db.session.flush()
    db.session.add(Objection(notice_id=notice.id, application_id=app_a.id, award_id=contract_a.award_id,
                             objector_name=OBJECTOR, contact=OBJECTOR_CONTACT, content="对预算有疑问。",
                             status="rejected", handling_reason="经核实预算合理。", handled_by_id=officer.id,
                             handled_at=now()))

    draft_call = ff.funded_call(unit, title="草稿中的大赛", status="draft")
    ff.award(draft_call, org=org_a)
    notice_call = ff.funded_call(unit, title="公示中的大赛", status="notice")
    hidden_award = ff.award(notice_call, org=org_b, amount_fen=77_777_77)
    db.session.commit()
    return World(unit=unit, call=call, org_a=org_a, org_b=org_b, contract_a=contract_a, award_a=contract_a.award,
                 award_b=award_b, draft_call=draft_call, notice_call=notice_call, hidden_award=hidden_award,
                 finance_users=[approver, releaser])
