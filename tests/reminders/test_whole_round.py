"""A whole round of one host unit, walked day by day through December 2026 with one pass a day at 09:00
Beijing time (what `flask scheduler run --once` from a daily cron does): every reminder rule fires, and
each day's deliveries are exactly the hand-written table below.

The unit's calls in that month: call A is open (a draft, and a submitted application that is returned on
12-03 with a new deadline), call B is in expert review, call C's 公示 is running, and call D's projects run
(a contract issued on 12-02 and left unsigned, a mid-term report due, a payment approved on 12-03 and not
released, a report submitted on 12-04 whose assessment is not done, a rectification deadline that is
missed, so the pass withholds that tranche). A brand-project selection of another unit is in scoring, with one
nomination its panel's brand_expert has not scored yet.

Deadline reminders count back from the deadline (a call closing at 17:00 on 12-15 has its "7 days" moment
at 17:00 on 12-08, so the 09:00 pass of 12-09 sends it); dates without a time (reports, rectification,
公示) end at midnight Beijing time; "after" rules count from the event, at the event's time of day.
Occurrences carry the deadline or event in UTC (HHMM), so a moved deadline starts afresh.
"""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.core.timeutil import SHANGHAI
from grants.reminders.models import Delivery
from grants.reminders.registry import RULES
from tests import factories
from tests.applications import factories as app_factories
from tests.contracts import factories as contract_factories
from tests.finance import factories as finance_factories
from tests.reminders import factories as rf
from tests.reviews import factories as review_factories

FIRST_DAY, LAST_DAY = dt.date(2026, 12, 1), dt.date(2026, 12, 31)
PASS_TIME = dt.time(9, 0)


def bj(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


# Who is who (usernames). Organisations: org_a (call A draft), org_b (returned application), org_c (unsigned
# contract), org_p (report due, payment), org_q (assessment), org_r (rectification).
OFFICERS = ("officer", "officer_2", "officer_3", "officer_4", "officer_5")  # the unit's officers (see _officers)
ORG_A = ("a_admin", "a_staff")
ORG_P = ("p_admin", "p_signer")  # p_signer: the member who signed the contract
ORG_R = ("r_admin", "r_signer")

# Deadlines and events, and the occurrence stamps (UTC) they give.
CALL_A_CLOSE = bj(12, 15, 17)           # 09:00 UTC 12-15 → "@202612150900"
RETURN_DEADLINE = bj(12, 10, 17)        # "@202612100900"
REVIEW_END = bj(12, 18, 17)             # "@202612180900"
NOTICE_ENDS_ON = dt.date(2026, 12, 20)  # ends 12-21 00:00 Beijing = 12-20 16:00 UTC → "@202612201600"
REPORT_DUE_ON = dt.date(2026, 12, 20)   # "@202612201600"
RECTIFY_DUE_ON = dt.date(2026, 12, 24)  # "@202612241600"
BRAND_SCORING_DUE = bj(12, 11, 17)      # "@202612110900"
# Events at the 09:00 pass (01:00 UTC): returned 12-03, issued 12-02 ("@202612020100"),
# approved Thursday 12-03 ("@202612030100"), report submitted 12-04 ("@202612040100").


def _each(rule: str, users, occurrence: str) -> set[tuple[str, str, str]]:
    return {(rule, u, occurrence) for u in users}


EXPECTED: dict[dt.date, set[tuple[str, str, str]]] = {
    # Contract issued 12-02 09:00; report due 12-20 (end of day): 14 days before = 12-07 00:00.
    dt.date(2026, 12, 7): _each("contract_unsigned", ["c_admin"], "after5d@202612020100")
                          | _each("report_due", ORG_P, "14d@202612201600"),
    # Return deadline 12-10 17:00: 3 days before = 12-07 17:00 → next pass. Payment approved Thu 12-03:
    # + 3 working days = Tue 12-08 09:00.
    dt.date(2026, 12, 8): _each("return_deadline", ["b_admin"], "3d@202612100900")
                          | _each("payment_unreleased", ["finance_1", "finance_2"], "after3wd@202612030100"),
    # Call A closes 12-15 17:00: 7 days before = 12-08 17:00. Brand scoring closes 12-11 17:00 (the same).
    dt.date(2026, 12, 9): _each("call_closing", ORG_A, "7d@202612150900")
                          | _each("brand_scoring_due", ["brand_expert"], "3d@202612110900"),
    dt.date(2026, 12, 10): _each("return_deadline", ["b_admin"], "1d@202612100900")
                           | _each("contract_unsigned_officer", OFFICERS, "after8d@202612020100"),
    dt.date(2026, 12, 11): _each("brand_scoring_due", ["brand_expert"], "1d@202612110900"),
    dt.date(2026, 12, 12): _each("brand_scoring_due", ["brand_expert"], "overdue@202612110900"),
    dt.date(2026, 12, 13): _each("call_closing", ORG_A, "3d@202612150900"),
    # Report submitted 12-04 09:00, assessment still assigned 10 days later: evaluator and officers.
    dt.date(2026, 12, 14): _each("report_due", ORG_P, "7d@202612201600")
                           | _each("assessment_overdue", ("evaluator",) + OFFICERS, "after10d@202612040100"),
    dt.date(2026, 12, 15): _each("call_closing", ORG_A, "1d@202612150900"),
    # Review period ends 12-18 17:00; expert_1 has not submitted (expert_2 has, expert_3 declared a conflict).
    dt.date(2026, 12, 16): _each("review_due", ["expert_1"], "3d@202612180900"),
    dt.date(2026, 12, 18): _each("review_due", ["expert_1"], "1d@202612180900"),
    dt.date(2026, 12, 19): _each("review_due", ["expert_1"], "overdue@202612180900")
                           | _each("review_overdue", OFFICERS, "overdue@202612180900"),
    # 公示 ends with 12-20: a day before (12-20 00:00) and when it has ended (12-21 00:00).
    dt.date(2026, 12, 20): _each("notice_ending", OFFICERS, "1d@202612201600")
                           | _each("report_due", ORG_P, "1d@202612201600"),
    dt.date(2026, 12, 21): _each("notice_ending", OFFICERS, "overdue@202612201600"),
    # Report overdue by 1 day (12-22 00:00): the organisation, and the officers as escalation;
    # rectification due with 12-24: 3 days before = 12-22 00:00.
    dt.date(2026, 12, 22): _each("report_due", ORG_P, "overdue1d@202612201600")
                           | _each("report_overdue", OFFICERS, "overdue1d@202612201600")
                           | _each("rectify_due", ORG_R, "3d@202612241600"),
    dt.date(2026, 12, 24): _each("rectify_due", ORG_R, "1d@202612241600"),
    # Rectification deadline missed: the pass withholds the tranche, and tells the organisation and, as
    # escalation, the officers.
    dt.date(2026, 12, 25): _each("rectify_due", ORG_R + OFFICERS, "overdue@202612241600"),
    dt.date(2026, 12, 28): _each("report_due", ORG_P, "overdue7d@202612201600"),
}


@pytest.fixture()
def _cron_daily(app, monkeypatch):
    """A daily pass is the operator's schedule here: a reminder picked up by the next day's pass is on time."""
    monkeypatch.setitem(app.config, "REMINDER_LATE_AFTER_MINUTES", 24 * 60)
    with app.test_request_context():  # the contract and finance factories speak Chinese through gettext
        yield


def _round(db):
    """The unit, its people and its calls as they stand on 12-01 09:00; returns the day's scripted events."""
    from grants.assessments.models import Assessment, ProgressReport
    from grants.awards.models import PublicNotice
    from grants.contracts import services as contract_services
    from grants.finance import services as finance_services

    unit = factories.host_unit()
    officer = factories.user(unit=unit, username="officer")
    finance_1 = factories.user(roles=("finance",), unit=unit, username="finance_1")
    factories.user(roles=("finance",), unit=unit, username="finance_2")
    evaluator = contract_factories.evaluator(username="evaluator")
    orgs = {}
    for key in "abcpqr":
        orgs[key] = factories.organization(name=f"整轮测试组织{key.upper()}")
        factories.member(orgs[key], username=f"{key}_admin")
    a_staff = factories.member(orgs["a"], is_admin=False, username="a_staff")

    # Call A, open: a draft (by a non-admin member) and a submitted application.
    call_a = app_factories.call(unit, close_at=CALL_A_CLOSE)
    rf.application(call_a, orgs["a"], author=a_staff)
    submitted = rf.application(call_a, orgs["b"], status="submitted")

    # Call B, in expert review.
    call_b = review_factories.review_call(unit, review_end_at=REVIEW_END)
    experts = [review_factories.expert(username=f"expert_{i}") for i in (1, 2, 3)]
    under_review = review_factories.eligible_application(call_b, orgs["a"], status="under_review")
    review_factories.assignment(under_review, experts[0])
    review_factories.submitted_review(review_factories.assignment(under_review, experts[1]), [15, 25, 15, 10, 10])
    review_factories.assignment(under_review, experts[2], declare=True)

    # Call C, 公示 running.
    call_c = rf.call(close_at=bj(10, 1), unit=unit, status="notice")
    db.session.add(PublicNotice(call_id=call_c.id, starts_on=dt.date(2026, 12, 14), ends_on=NOTICE_ENDS_ON))

    # Call D, the projects: one contract still a draft (issued on 12-02), three active ones.
    call_d = finance_factories.funded_call(unit)
    unsigned = contract_factories.contract(finance_factories.award(call_d, org=orgs["c"]), officer=officer)
    with_report = finance_factories.active_contract(call_d, org=orgs["p"], officer=officer)
    with_report.tranches[1].status, with_report.tranches[1].due_on = "due", REPORT_DUE_ON
    assessed = finance_factories.active_contract(call_d, org=orgs["q"], officer=officer)
    rectifying = finance_factories.active_contract(call_d, org=orgs["r"], officer=officer)
    t = rectifying.tranches[1]
    t.status, t.due_on, t.rectify_due_on, t.rectify_reason = "rectifying", dt.date(2026, 11, 20), RECTIFY_DUE_ON, "整改"
    db.session.flush()
    # The award approvers the factories created are officers of the unit too: give them stable names.
    from grants.accounts.models import User, UserRole

    others = db.session.scalars(sa.select(User).join(UserRole).where(
        User.host_unit_id == unit.id, UserRole.role == "officer", User.id != officer.id).order_by(User.id)).all()
    assert len(others) == len(OFFICERS) - 1
    for i, u in enumerate(others, start=2):
        u.username = f"officer_{i}"
    # So are the members who signed the active contracts for their organisations.
    from grants.organizations.models import OrganizationMember

    for key in "pqr":
        signers = db.session.scalars(sa.select(User).join(OrganizationMember).where(
            OrganizationMember.organization_id == orgs[key].id, User.username != f"{key}_admin")).all()
        assert len(signers) == 1
        signers[0].username = f"{key}_signer"
    # A brand-project selection of another unit in scoring: brand_expert has not scored its nomination,
    # brand_excused declared a conflict.
    from grants.brand import services as brand_services
    from tests.brand import factories as brand_factories
    from tests.contracts import factories as cf

    brand_unit = factories.host_unit()
    brand_officer = brand_factories.officer(brand_unit)
    selection = brand_factories.selection(brand_unit, brand_officer, status="nominating", deadline=BRAND_SCORING_DUE)
    nomination = brand_services.nominate_project(selection, brand_factories.completed_contract(cf.call(brand_unit)),
                                                 "成效显著", brand_officer)
    brand_expert = review_factories.expert(username="brand_expert")
    brand_excused = review_factories.expert(username="brand_excused")
    for e in (brand_expert, brand_excused):
        brand_services.invite_expert(selection, e, brand_officer)
    brand_services.start_scoring(selection, brand_officer)
    brand_services.declare_conflict(nomination, brand_excused, has_conflict=True, reason="曾任该组织理事")
    db.session.commit()

    def return_application():
        submitted.status, submitted.return_deadline_at = "returned", RETURN_DEADLINE

    def issue_contract():
        contract_services.issue_contract(unsigned, officer)

    def return_and_approve():
        return_application()
        finance_services.approve_payment(finance_factories.first_payment(with_report), finance_1)

    def submit_report():
        tranche = assessed.tranches[1]
        tranche.status = "report_submitted"
        report = ProgressReport(tranche_id=tranche.id, contract_id=assessed.id, kind="midterm", round=1,
                                status="accepted", submitted_at=bj(12, 4))
        db.session.add(report)
        db.session.flush()
        db.session.add(Assessment(tranche_id=tranche.id, report_id=report.id, contract_id=assessed.id, round=1,
                                  evaluator_id=evaluator.id, status="assigned"))

    return {dt.date(2026, 12, 2): issue_contract, dt.date(2026, 12, 3): return_and_approve,
            dt.date(2026, 12, 4): submit_report}


def _walk(db, clock, passes, *, outage=frozenset()):
    """Walk December with `passes()` at 09:00 each day except the outage days; returns
    {day: {(rule, username, occurrence): late}} of the in-app deliveries each day."""
    from grants.accounts.models import User

    clock.set(dt.datetime.combine(FIRST_DAY, PASS_TIME, tzinfo=SHANGHAI))
    events = _round(db)
    names = dict(db.session.execute(sa.select(User.id, User.username)).all())
    seen = 0
    actual: dict[dt.date, dict[tuple[str, str, str], bool]] = {}
    day = FIRST_DAY
    while day <= LAST_DAY:
        clock.set(dt.datetime.combine(day, PASS_TIME, tzinfo=SHANGHAI))
        if day in events:
            events[day]()
            db.session.commit()
        if day not in outage:
            passes()
        rows = db.session.execute(sa.select(Delivery.id, Delivery.rule, Delivery.recipient_id, Delivery.occurrence,
                                            Delivery.late)
                                  .where(Delivery.channel == "in_app", Delivery.id > seen).order_by(Delivery.id)).all()
        if rows:
            seen = rows[-1].id
            actual[day] = {(r.rule, names[r.recipient_id], r.occurrence): r.late for r in rows}
            assert len(actual[day]) == len(rows), f"{day}: a reminder went out twice"
        day += dt.timedelta(days=1)
    return actual, seen


def _compare(actual, expected) -> None:
    for d in sorted(set(expected) | set(actual)):
        got, want = set(actual.get(d, {})), expected.get(d, set())
        assert got == want, f"{d}: unexpected {sorted(got - want)}, missing {sorted(want - got)}"


def _lapsed_tranches(db):
    from grants.contracts.models import Tranche

    return [(t.status, t.rectify_lapsed_at) for t in
            db.session.scalars(sa.select(Tranche).where(Tranche.rectify_lapsed_at.is_not(None)))]


def test_a_whole_round_day_by_day(db, clock, run_pass, _cron_daily):
    actual, seen = _walk(db, clock, run_pass)
    _compare(actual, EXPECTED)
    late = [(d, key) for d, rows in actual.items() for key, is_late in rows.items() if is_late]
    assert not late, f"reminders of a daily pass marked late: {late}"
    assert {rule for entries in EXPECTED.values() for rule, _u, _o in entries} == set(RULES)
    # The missed rectification deadline withheld that tranche in the 12-25 pass, and only then.
    assert _lapsed_tranches(db) == [("withheld", dt.datetime.combine(dt.date(2026, 12, 25), PASS_TIME,
                                                                     tzinfo=SHANGHAI))]
    # A second pass on the last day, and a pass a week later, send nothing new.
    run_pass()
    clock.advance(dt.timedelta(days=7))
    run_pass()
    assert db.session.scalar(sa.select(sa.func.max(Delivery.id)).where(Delivery.channel == "in_app")) == seen


def _expected_after_outage(outage: list[dt.date], resume: dt.date) -> dict[dt.date, dict]:
    """What the table says, except that the days of the outage send nothing and the first pass after it
    sends, per rule and recipient, the latest reminder that came due meanwhile (earlier ones of the same
    subject have lapsed: no flood), marked late when its moment fell in the outage."""
    expected = {d: {key: False for key in keys} for d, keys in EXPECTED.items() if d not in outage and d != resume}
    latest: dict[tuple[str, str], tuple[str, bool]] = {}
    for d in [*outage, resume]:
        for rule, user, occurrence in sorted(EXPECTED.get(d, ())):
            latest[(rule, user)] = (occurrence, d != resume)
    expected[resume] = {(rule, user, occurrence): late for (rule, user), (occurrence, late) in latest.items()}
    return expected


@pytest.mark.parametrize("outage", [
    [dt.date(2026, 12, 19), dt.date(2026, 12, 20), dt.date(2026, 12, 21)],  # review overdue, 公示 ends, report due
    [dt.date(2026, 12, 23), dt.date(2026, 12, 24), dt.date(2026, 12, 25)],  # the rectification deadline passes
], ids=["review-and-notice", "rectification"])
def test_a_three_day_outage_sends_each_missed_reminder_once(db, clock, run_pass, _cron_daily, outage):
    """The scheduler is down for three days: the first pass after it sends what was missed, once, marked
    late; the tranche whose rectification deadline passed meanwhile is withheld then, once."""
    resume = outage[-1] + dt.timedelta(days=1)
    actual, _seen = _walk(db, clock, run_pass, outage=frozenset(outage))
    expected = _expected_after_outage(outage, resume)
    _compare(actual, {d: set(keys) for d, keys in expected.items()})
    assert actual[resume] == expected[resume]  # and which of them are late
    assert any(expected[resume].values())
    rectified_on = resume if dt.date(2026, 12, 25) in outage else dt.date(2026, 12, 25)
    assert _lapsed_tranches(db) == [("withheld", dt.datetime.combine(rectified_on, PASS_TIME, tzinfo=SHANGHAI))]


@pytest.mark.postgres_only
def test_two_schedulers_for_a_month_send_no_duplicate(app, db, clock, _cron_daily):
    """Two scheduler instances run their pass at the same moment every day of the month (threads with their
    own sessions and connections, lined up by a barrier): each reminder goes out once, the table holds, and
    the automatic withholding happens once."""
    import threading

    from grants.core.models import AuditLog
    from grants.extensions import db as _db
    from grants.reminders.jobs import run_pass
    from grants.reminders.models import Notification

    def two_passes():
        barrier = threading.Barrier(2, timeout=30)
        outcomes: list = [None, None]

        def run(i):
            with app.app_context(), app.test_request_context():
                try:
                    barrier.wait()
                    outcomes[i] = run_pass()
                except Exception as exc:  # noqa: BLE001 - checked below
                    outcomes[i] = exc
                finally:
                    _db.session.remove()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        for outcome in outcomes:
            assert not isinstance(outcome, Exception), outcome
            assert not outcome.errors, outcome.errors

    actual, _seen = _walk(db, clock, two_passes)
    _compare(actual, EXPECTED)
    in_app = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(Delivery.channel == "in_app"))
    assert in_app == sum(len(v) for v in EXPECTED.values())
    reminder_notes = db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                       .where(Notification.kind.in_(("deadline", "deadline_cc", "escalation"))))
    assert reminder_notes == in_app  # no notification without its ledger row, none twice
    assert len(_lapsed_tranches(db)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "tranche.withhold", AuditLog.actor_id.is_(None))) == 1
