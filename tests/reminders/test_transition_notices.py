"""Every state change tells its people: the table below lists, for each audited action, which notice kinds it
sends and to whom. Each test walks one workflow through the services, and every service call is checked
against the table: the notices it created (kind → recipients) are exactly those of the actions it audited.

The table must name every transition of every workflow table (and every other audited action the walks meet),
and each workflow's test must reach every (state, action) of its table: a new transition fails here until
somebody decides who hears of it.
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.applications.states import APPLICATION_WORKFLOW
from grants.brand.states import SELECTION_WORKFLOW
from grants.calls.services import CALL_WORKFLOW
from grants.contracts.states import CONTRACT_WORKFLOW, TRANCHE_WORKFLOW
from grants.core.models import AuditLog
from grants.core.timeutil import SHANGHAI
from grants.extensions import db as _db
from grants.finance.states import PAYMENT_WORKFLOW
from grants.organizations.services import ORG_WORKFLOW
from grants.reminders.models import Notification
from grants.reminders.notices import NOTICES
from tests import factories

WORKFLOWS = {w.name: w for w in (ORG_WORKFLOW, CALL_WORKFLOW, APPLICATION_WORKFLOW, CONTRACT_WORKFLOW,
                                 TRANCHE_WORKFLOW, PAYMENT_WORKFLOW, SELECTION_WORKFLOW)}

# Recipient groups: "org" the organisation's members, "officers" the unit's officers, "other_officers" the
# unit's officers but the actor, "finance" the unit's finance staff, "other_finance" those who have not yet
# acted on the payment, "verifiers" the officers of the top-level units, "evaluator"/"experts" the people
# given the task, "issuer+officers" the contract's issuer and the unit's officers.
EXPECTED: dict[str, dict[str, str]] = {
    # organisations
    "organization.register": {"org_to_verify": "verifiers"},
    "organization.update": {},
    "organization.reverify": {"org_to_verify": "verifiers"},
    "organization.change_request": {"org_change_requested": "verifiers"},
    "organization.change_approve": {"org_change_decided": "org"},
    "organization.change_reject": {"org_change_decided": "org"},
    "organization.verify": {"organization_status": "org"},
    "organization.reject": {"organization_status": "org"},
    "organization.suspend": {"organization_status": "org"},
    "organization.reinstate": {"organization_status": "org"},
    "user.create": {},
    # calls
    "call.publish": {},
    "call.close": {"call_closed": "org"},
    "call.start_notice": {},
    "call.finalize": {},
    "call.archive": {},
    # applications and screening
    "application.submit": {"application_received": "org", "application_resubmitted": "officers?"},
    "application.withdraw": {},
    "application.mark_eligible": {"screening_passed": "org"},
    "application.mark_ineligible": {"screening_ineligible": "org"},
    "application.return": {"screening_returned": "org"},
    # review
    "review.assign": {},
    "review.auto_assign": {"review_assigned": "experts"},
    "application.start_review": {},
    "conflict.declare": {"conflict_declared": "officers?"},
    "review.submit": {},
    "application.score": {"review_finished": "org"},
    "review.reopen": {"review_returned": "experts"},
    "application.reopen_review": {},
    "application.reopen_pitch": {},
    "review.shortlist": {},
    "application.shortlist": {"shortlisted": "org"},
    "application.pitch": {},
    # awards and 公示
    "award.propose": {"award_plan_approval": "other_officers"},
    "award.adjust": {},
    "award.exclude": {},
    "award.include": {},
    "conflict.auto": {},
    "award.approve": {},
    "notice.publish": {},
    "application.award": {"award_proposed": "org"},
    "objection.file": {"objection_received": "officers"},
    "objection.reject": {},
    "objection.uphold": {},
    "award.cancel": {"award_cancelled": "org"},
    "application.cancel": {},
    "award.promote": {},
    "notice.finalize": {},
    "application.confirm": {"award_confirmed": "org"},
    "application.reject": {"not_funded": "org"},
    # contracts
    "contract.create": {},
    "contract.issue": {"contract_issued": "org"},
    "contract.recall": {},
    "contract.sign": {"contract_signed": "officers"},
    "contract.reject_signature": {"signature_rejected": "org"},
    "contract.countersign": {"contract_active": "org"},
    "contract.terminate": {},
    "contract.complete": {},
    "contract.flag_reclaim": {"reclaim_flagged": "finance"},
    # tranches, reports, assessments
    "tranche.open_reporting": {},
    "tranche.make_payable": {},
    "report.start": {},
    "report.save": {},
    "tranche.submit_report": {},
    "report.submit": {"report_submitted": "officers"},
    "tranche.return_report": {},
    "tranche.return_rectification": {},
    "report.return": {"report_returned": "org"},
    "report.accept": {"report_accepted": "org", "assessment_assigned": "evaluator"},
    "tranche.assess": {},
    "assessment.submit": {"assessment_result": "org"},
    "tranche.rectify": {"rectification": "org"},
    "tranche.rectify_deadline": {"rectification": "org"},
    "tranche.withhold": {"tranche_withheld": "org"},
    "tranche.pay": {},
    # payments
    "payment.request": {"payment_requested": "finance?"},
    "payment.approve": {"payment_approved": "other_finance"},
    "payment.second_approve": {"payment_approved": "other_finance"},
    "payment.return": {"payment_returned": "officers"},
    "payment.resubmit": {"payment_requested": "other_finance"},
    "payment.release": {"payment_released": "org"},
    "payment.hold": {"payment_held": "org"},
    "payment.lift_hold": {"payment_requested": "finance"},
    "payment.reclaim": {"payment_reclaimed": "org"},
    "project_hold.place": {},
    "project_hold.lift": {},
    # brand projects
    "brand_selection.open_nominations": {},
    "brand_selection.start_scoring": {"brand_review_assigned": "experts"},
    "brand_selection.decide": {},
    "brand_selection.reopen_scoring": {},
    "brand_selection.publish": {"brand_winner": "org"},
    "brand_selection.cancel": {},
    "brand_selection.create": {},
    "brand_nomination.nominate": {},
    "brand_nomination.put_forward": {"brand_self_nominated": "officers"},
    "brand_nomination.accept": {},
    "brand_nomination.decline": {},
    "brand_panel.invite": {},
    "brand_conflict.auto": {},
    "brand_conflict.declare": {},
    "brand_review.submit": {},
    # message threads (tests/messages): the other side hears of a message, never of an internal note
    "message.post": {"message_to_organization": "org?", "message_to_staff": "officers?"},
}
# "?" marks a kind that the action sends only in some cases (a resubmission after a return, a declared
# conflict rather than "no conflict", a payment not held under a project hold); the walks pin each case.


def test_the_table_names_every_transition_and_only_real_kinds():
    every = {f"{name}.{action}" for name, wf in WORKFLOWS.items() for (_state, action) in wf.table}
    assert every - set(EXPECTED) == set(), "transitions nobody decided the notices of"
    kinds = {k for sends in EXPECTED.values() for k in sends}
    assert kinds <= set(NOTICES)
    assert set(NOTICES) - kinds == set(), "notice kinds no transition sends"


@pytest.fixture(autouse=True)
def _ctx(app):
    with app.test_request_context():
        yield


class Walk:
    """Run services and check each call's notices against EXPECTED; remember the transitions reached."""

    def __init__(self):
        self.reached: set[tuple[str, str, str]] = set()
        self.org_id = None
        self.unit_id = None

    def _last(self, model) -> int:
        return _db.session.scalar(sa.select(sa.func.max(model.id))) or 0

    def __call__(self, fn, *args, org=None, unit=None, actor=None, task=(), cases=(), **kwargs):
        """Run fn; `org`/`unit` name the recipients' organisation and unit, `task` the evaluator or experts,
        `cases` the optional ("?") kinds this call must send."""
        _db.session.flush()
        audit0, note0 = self._last(AuditLog), self._last(Notification)
        result = fn(*args, **kwargs)
        _db.session.flush()
        audits = _db.session.scalars(sa.select(AuditLog).where(AuditLog.id > audit0).order_by(AuditLog.id)).all()
        notes = _db.session.scalars(sa.select(Notification).where(Notification.id > note0)).all()
        expected: dict[str, set[int]] = {}
        for row in audits:
            assert row.action in EXPECTED, f"{row.action}: audited but not in the notice table"
            name, _dot, action = row.action.partition(".")
            if name in WORKFLOWS and isinstance(row.before, dict):
                self.reached.add((name, str(row.before.get(WORKFLOWS[name].state_attr)), action))
            for kind, group in EXPECTED[row.action].items():
                if group.endswith("?"):
                    if kind not in cases:
                        continue
                    group = group[:-1]
                expected.setdefault(kind, set()).update(self._people(group, row, org, unit, actor, task))
        got: dict[str, set[int]] = {}
        for n in notes:
            got.setdefault(n.kind, set()).add(n.user_id)
        assert got == expected, f"{fn.__name__}: {[r.action for r in audits]}"
        return result

    def _people(self, group, row, org, unit, actor, task) -> set[int]:
        from grants.reminders.notices import organization_people, unit_staff, verifying_officers

        if group == "org":
            org_id = _organization_of(row)
            if org_id is not None:
                return {u.id for u in organization_people(org_id)}
            return {u.id for o in (org if isinstance(org, list) else [org]) for u in organization_people(o.id)}
        if group == "officers":
            return {u.id for u in unit_staff(unit.id, "officer")}
        if group == "other_officers":
            return {u.id for u in unit_staff(unit.id, "officer")} - {actor.id}
        if group == "finance":
            return {u.id for u in unit_staff(unit.id, "finance")}
        if group == "other_finance":
            from grants.finance.models import Payment

            p = _db.session.get(Payment, int(row.object_id))
            done = {p.approved_by_id, p.second_approved_by_id, getattr(actor, "id", None)}
            return {u.id for u in unit_staff(unit.id, "finance")} - done
        if group == "verifiers":
            return {u.id for u in verifying_officers(org if not isinstance(org, list) else None)}
        if group in ("evaluator", "experts"):
            return {u.id for u in task}
        raise AssertionError(group)

    def covers(self, workflow, unreachable=frozenset()) -> None:
        table = {(workflow.name, str(state), action) for (state, action) in workflow.table}
        missing = table - self.reached - set(unreachable)
        assert not missing, f"transitions the walk did not reach: {sorted(missing)}"


def _organization_of(row) -> int | None:
    """The organisation an audited object belongs to, when it belongs to one."""
    from grants.applications.models import Application
    from grants.assessments.models import Assessment, ProgressReport
    from grants.awards.models import Award
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment

    models = {"application": Application, "award": Award, "contract": Contract, "payment": Payment,
              "tranche": Tranche, "progress_report": ProgressReport, "assessment": Assessment}
    if row.object_type == "organization":
        return int(row.object_id)
    model = models.get(row.object_type)
    if model is None:
        return None
    obj = _db.session.get(model, int(row.object_id))
    if hasattr(obj, "organization_id"):
        return obj.organization_id
    return _db.session.get(Contract, obj.contract_id).organization_id


@pytest.fixture()
def walk(db):
    return Walk()


def bj(y, m, d, h=9):
    return dt.datetime(y, m, d, h, tzinfo=SHANGHAI)


def test_organizations(walk, db):
    from grants.organizations import services as org

    unit = factories.host_unit()
    officer = factories.user(unit=unit)
    profile = {"legal_form": "service_institution", "uscc": factories.uscc(9001), "host_unit_id": unit.id}
    o = walk(org.register_organization, profile=profile, name="新注册组织甲", admin_username="neworg1",
             admin_name="王芳", admin_password="Str0ng!Pass2026", admin_mobile="13900000001")
    walk(org.change_status, o, "verify", officer, org=o)
    # A verified fact changes by a change request, which the unit's officers decide.
    request = walk(org.update_profile, o, {**profile, "uscc": factories.uscc(9002)}, o.members[0].user, org=o)
    walk(org.decide_change_request, request, True, "", officer, org=o)
    walk(org.change_status, o, "suspend", officer, "年检不合格", org=o)
    walk(org.change_status, o, "reinstate", officer, org=o)
    other = factories.organization(status="pending")
    factories.member(other)
    walk(org.change_status, other, "reject", officer, "材料不实", org=other)
    walk.covers(ORG_WORKFLOW)


def test_applications_from_submission_to_award(walk, db, clock, monkeypatch):
    from grants.applications import services as apps
    from grants.calls import services as calls
    from tests.applications import factories as af

    clock.set(bj(2026, 12, 1))
    unit = factories.host_unit()
    officer = factories.user(unit=unit)
    factories.user(unit=unit)
    call = af.call(unit)
    org = factories.organization()
    member = factories.member(org)
    submitted = {}
    for key in ("eligible", "ineligible", "return", "withdraw"):
        a = af.application(call, factories.organization() if key != "eligible" else org)
        people = factories.member(a.organization) if key != "eligible" else member
        walk(apps.submit_application, a, people, org=a.organization)
        submitted[key] = (a, people)
    walk(apps.withdraw_application, *submitted["withdraw"])
    draft = af.application(call, factories.organization())
    walk(apps.withdraw_application, draft, factories.member(draft.organization))
    a, _m = submitted["eligible"]
    walk(apps.screen_application, a, "mark_eligible", officer, org=a.organization)
    a, _m = submitted["ineligible"]
    walk(apps.screen_application, a, "mark_ineligible", officer, reason="不符合申报条件", org=a.organization)
    a, people = submitted["return"]
    walk(apps.screen_application, a, "return", officer, reason="预算表缺少签章", new_deadline_at=bj(2026, 12, 10),
         org=a.organization)
    walk(apps.submit_application, a, people, org=a.organization, unit=unit, cases=("application_resubmitted",))
    returned = af.application(call, factories.organization(), status="returned")
    walk(apps.withdraw_application, returned, factories.member(returned.organization))

    # The call closes: each organisation with a submitted application hears it.
    clock.set(bj(2027, 1, 2))
    walk(calls.close_call_for_review, call, officer,
         org=[submitted[k][0].organization for k in ("eligible", "ineligible", "return")])
    from tests.calls import factories as call_factories

    walk(calls.publish_call, call_factories.call(unit=unit), officer)
    finalized = af.call(unit, status="finalized")
    walk(calls.archive_call, finalized, officer)

    _review_and_award(walk, db, clock, unit, officer)
    walk.covers(APPLICATION_WORKFLOW)
    walk.covers(CALL_WORKFLOW)


def _score(walk, assignment, expert, share, **kw):
    from grants.reviews import services as rs

    criteria = assignment.application.call.criteria_for(assignment.stage)
    data = {"points": {c.id: c.max_points * share // 100 for c in criteria}, "overall_comment": "设计合理",
            "recommendation": "fund"}
    review, problems = walk(rs.save_review, assignment, expert, data, submit=True, **kw)
    assert not problems
    return review


def _review_and_award(walk, db, clock, unit, officer):
    from grants.awards import services as aw
    from grants.calls.models import CallFundingSource
    from grants.reviews import services as rs
    from grants.reviews.models import ReviewAssignment
    from tests.reviews import factories as rf

    clock.set(bj(2026, 3, 2))
    call = rf.review_call(unit, pitch=True)
    call.funding_sources = [CallFundingSource(kind="welfare_lottery", name="", amount_fen=100_000_000)]
    e1, e2, judge = rf.expert(), rf.expert(), rf.expert()
    rf.panel_member(call, e1)
    rf.panel_member(call, judge, "pitch")
    names = ("P1", "P2", "S1", "C1", "C2")
    apps = {n: rf.eligible_application(call, factories.organization()) for n in names}
    for a in apps.values():
        factories.member(a.organization)
    walk(rs.assign_expert, apps["P1"], e1, "written", officer)
    walk(rs.auto_assign, call, "written", officer, n=1, task=[e1])
    assignments = {n: db.session.scalar(sa.select(ReviewAssignment).where(
        ReviewAssignment.application_id == a.id, ReviewAssignment.expert_id == e1.id)) for n, a in apps.items()}
    for share, n in zip((95, 90, 85, 80, 75), names):
        walk(rs.declare_conflict, assignments[n], e1, has_conflict=False)
        review = _score(walk, assignments[n], e1, share, org=apps[n].organization)
    # The officer sends the last review back; the expert scores again.
    walk(rs.reopen_review, review, "请补充意见", officer, task=[e1])
    _score(walk, assignments["C2"], e1, 75, org=apps["C2"].organization)
    # An expert declares a conflict on an application: the officers must find another one.
    walk(rs.declare_conflict, rf.assignment(apps["C2"], e2, declare=None), e2, has_conflict=True, reason="亲属任职",
         unit=unit, cases=("conflict_declared",))
    walk(rs.declare_conflict, rf.assignment(apps["C1"], e2, declare=None), e2, has_conflict=False)
    walk(rs.shortlist, call, 3, officer, org=[apps[n].organization for n in ("P1", "P2", "S1")])
    for n in ("P1", "P2"):
        pitch = rf.assignment(apps[n], judge, "pitch")
        review = _score(walk, pitch, judge, 90)
    walk(rs.reopen_review, review, "请复核", officer, task=[judge])
    _score(walk, pitch, judge, 90)

    # Awards: P1 (pitched) and C1 (scored) are funded, the rest not; an objection against C1 is upheld.
    clock.set(bj(2026, 4, 1))
    chief = factories.user(unit=unit)
    walk(aw.propose_awards, call, officer, unit=unit, actor=officer)
    for award in aw.awards_of(call):
        if award.application_id not in (apps["P1"].id, apps["C1"].id):
            walk(aw.exclude_award, award, "预算有限", officer)
    c1 = next(a for a in aw.awards_of(call) if a.application_id == apps["C1"].id)
    walk(aw.adjust_award, c1, 4_000_000, "专家建议压缩设备采购", officer)
    walk(aw.approve_awards, call, chief)
    notice = walk(aw.publish_notice, call, officer, org=[apps["P1"].organization, apps["C1"].organization])
    clock.set(bj(2026, 4, 2, 9))  # objections from the notice's first day
    objection = walk(aw.file_objection, notice, apps["C1"], name="张三", contact="13900000000",
                     content="该组织的项目负责人同时在另一项目任职。", unit=unit)
    walk(aw.handle_objection, objection, "uphold", "经核实，异议成立", officer, org=apps["C1"].organization)
    clock.set(bj(2026, 4, 20))
    walk(aw.finalize_notice, call, officer, org=[apps[n].organization for n in names])


FAIL, PASS = (15, 10, 10, 15, 0, 0), (25, 15, 15, 20, 0, 0)


def _report(walk, tranche, member, unit):
    from grants.assessments import services as asvc
    from tests.contracts import factories as cf

    report = asvc.start_report(tranche, member)
    asvc.save_report(report, narrative="本期完成入户探访 1200 人次。", achieved={o.kind: o.target for o in report.outputs},
                     spent={s.id: s.budget_fen // 2 for s in report.spending}, actor=member, uploads=[cf.upload()])
    walk(asvc.submit_report, report, member, unit=unit)
    return report


def _assess(walk, report, officer, evaluator, points, *, cases=()):
    from grants.assessments import services as asvc

    assessment = walk(asvc.accept_report, report, officer, evaluator, task=[evaluator])
    criteria = asvc.criteria_for(report.contract.call)
    walk(asvc.submit_assessment, assessment, evaluator, points={c.id: p for c, p in zip(criteria, points)},
         satisfaction_pct=90, unit=report.contract.call.host_unit, cases=cases)


def test_contracts_tranches_and_payments(walk, db, app, clock, monkeypatch):
    from grants.assessments import services as asvc
    from grants.contracts import services as csvc
    from grants.finance import services as fsvc
    from tests.contracts import factories as cf
    from tests.finance import factories as ff

    clock.set(bj(2027, 1, 4))
    monkeypatch.setitem(app.config, "PAYMENT_SECOND_APPROVAL_FEN", 1_000_000)
    unit = factories.host_unit()
    call = ff.funded_call(unit)
    officer, _officer2 = factories.user(unit=unit), factories.user(unit=unit)
    f1, f2, f3 = (ff.finance_user(call) for _ in range(3))
    evaluator = cf.evaluator()

    def new_contract():
        a = ff.award(call, org=factories.organization())
        member = factories.member(a.organization)
        return walk(csvc.create_contract_from_award, a, officer), member

    k, member = new_contract()
    walk(csvc.issue_contract, k, officer)
    walk(csvc.recall_contract, k, officer)
    walk(csvc.issue_contract, k, officer)
    sign = dict(signer_name="张三", signer_title="理事长")
    walk(csvc.sign_contract, k, member, unit=unit, **sign)
    walk(csvc.reject_signature, k, officer, "签字不清")
    walk(csvc.sign_contract, k, member, unit=unit, **sign)
    walk(csvc.countersign_contract, k, officer, unit=unit, cases=("payment_requested",))

    # The first payment through every finance decision.
    p = ff.first_payment(k)
    pay = dict(unit=unit)
    walk(fsvc.approve_payment, p, f1, actor=f1, **pay)
    walk(fsvc.second_approve_payment, p, f2, actor=f2, **pay)
    walk(fsvc.return_payment, p, f3, "开户行有误", **pay)
    walk(fsvc.resubmit_payment, p, officer, actor=officer, **pay)
    walk(fsvc.return_payment, p, f1, "金额待核", **pay)
    walk(fsvc.resubmit_payment, p, f1, actor=f1, **pay)
    walk(fsvc.approve_payment, p, f1, actor=f1, **pay)
    walk(fsvc.return_payment, p, f2, "凭证不全", **pay)
    walk(fsvc.resubmit_payment, p, officer, actor=officer, **pay)
    walk(fsvc.hold_payment, p, officer, "审计核查中")
    walk(fsvc.lift_hold, p, officer, "核查完毕", **pay)
    walk(fsvc.approve_payment, p, f1, actor=f1, **pay)
    walk(fsvc.hold_payment, p, officer, "审计核查中")
    walk(fsvc.lift_hold, p, officer, "核查完毕", **pay)
    walk(fsvc.approve_payment, p, f1, actor=f1, **pay)
    walk(fsvc.second_approve_payment, p, f2, actor=f2, **pay)
    walk(fsvc.hold_payment, p, officer, "审计核查中")
    walk(fsvc.lift_hold, p, officer, "核查完毕", **pay)
    walk(fsvc.approve_payment, p, f1, actor=f1, **pay)
    walk(fsvc.second_approve_payment, p, f2, actor=f2, **pay)
    walk(fsvc.release_payment, p, f3, "REF-0001", dt.date(2027, 1, 4))
    walk(fsvc.record_reclaim, p, f1, 10_000, "违规列支")

    # Mid-term: returned, resubmitted, failed (rectification), rectified report returned, then passed.
    mid, final = k.tranches[1], k.tranches[2]
    report = _report(walk, mid, member, unit)
    walk(asvc.return_report, report, officer, "请补充签到表")
    walk(asvc.submit_report, report, member, unit=unit)
    _assess(walk, report, officer, evaluator, FAIL)
    walk(asvc.set_rectify_deadline, mid, officer, dt.date(2027, 1, 29))
    report2 = _report(walk, mid, member, unit)
    walk(asvc.return_report, report2, officer, "整改不到位")
    walk(asvc.submit_report, report2, member, unit=unit)
    monkeypatch.setitem(app.config, "PAYMENT_SECOND_APPROVAL_FEN", 100_000_000)
    _assess(walk, report2, officer, evaluator, PASS, cases=("payment_requested",))
    p2 = db.session.scalar(sa.select(type(p)).where(type(p).tranche_id == mid.id))
    walk(fsvc.approve_payment, p2, f1, actor=f1, **pay)
    walk(fsvc.release_payment, p2, f2, "REF-0002", dt.date(2027, 1, 4))
    # Final: failed, and the rectification deadline passes: withheld, reclaim flagged, the project closes.
    _assess(walk, _report(walk, final, member, unit), officer, evaluator, FAIL)
    clock.set(bj(2027, 3, 1))
    walk(asvc.withhold_after_deadline, final, officer, unit=unit)

    # A mid-term that fails twice is withheld.
    k2 = ff.active_contract(call, officer=officer, org=factories.organization())
    m2 = factories.member(k2.organization)
    _assess(walk, _report(walk, k2.tranches[1], m2, unit), officer, evaluator, FAIL)
    _assess(walk, _report(walk, k2.tranches[1], m2, unit), officer, evaluator, FAIL)

    # Terminations in every state; a project on hold holds what is requested meanwhile.
    # (draft, terminate) is in the table, but the contract's CHECK issued_has_time refuses a terminated contract
    # that was never issued, so that transition cannot happen today (left to the contracts domain).
    for status in ("issued", "signed_by_org", "active"):
        kt = cf.contract(ff.award(call, org=factories.organization()), status=status, officer=officer)
        factories.member(kt.organization)
        if status == "active":
            _report(walk, kt.tranches[1], kt.organization.members[0].user, unit)
        walk(csvc.terminate_contract, kt, officer, "组织主动退出")
    kh = ff.active_contract(call, officer=officer, org=factories.organization())
    factories.member(kh.organization)
    walk(fsvc.hold_contract_payments, kh, officer, "专项审计")
    walk(ff.assess_tranche, kh.tranches[1], evaluator=evaluator)
    walk(fsvc.lift_project_hold, kh, officer, "审计完毕", unit=unit)
    kd = ff.active_contract(call, officer=officer, org=factories.organization())
    walk(csvc.terminate_contract, kd, officer, "项目无法实施")

    walk.covers(CONTRACT_WORKFLOW, unreachable={("contract", "draft", "terminate")})
    walk.covers(TRANCHE_WORKFLOW)
    walk.covers(PAYMENT_WORKFLOW)


def test_brand_selections(walk, db):
    from grants.brand import services as bsvc
    from grants.brand.models import SelectionStatus
    from tests.brand import factories as bf
    from tests.contracts import factories as cf

    unit = factories.host_unit()
    officer = bf.officer(unit)
    s = bf.selection(unit, officer)
    walk(bsvc.open_nominations, s, officer)
    c = bf.completed_contract(cf.call(unit))
    admin = factories.member(c.organization)
    n = walk(bsvc.put_forward_project, s, c, "覆盖全街道", admin, unit=unit)
    walk(bsvc.accept_nomination, n, officer)
    expert = bf.expert(employer="南通大学")
    walk(bsvc.invite_expert, s, expert, officer)
    walk(bsvc.start_scoring, s, officer, task=[expert])
    walk(bsvc.declare_conflict, n, expert, has_conflict=False)
    walk(bsvc.save_review, n, expert, {cr.id: cr.max_points for cr in s.criteria}, "成效突出", submit=True)
    walk(bsvc.decide_winners, s, officer)
    walk(bsvc.reopen_scoring, s, officer, "请复核")
    walk(bsvc.decide_winners, s, officer)
    walk(bsvc.publish_selection, s, officer, org=c.organization)
    for status in (SelectionStatus.DRAFT, SelectionStatus.NOMINATING, SelectionStatus.SCORING):
        walk(bsvc.cancel_selection, bf.selection(unit, officer, status=status), officer, "年度计划调整")
    walk.covers(SELECTION_WORKFLOW)
