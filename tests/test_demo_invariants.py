"""The demo obeys the rules the application enforces: it is loaded, then the application's own checks run
over it — conflicts declared before any score, the per-organisation limits, one application-number format,
contracts signed for periods that fit their dates, money released after signing and not on the day the demo
was loaded, and no scoring reminder for a brand selection already published."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from grants.applications.models import Application, ApplicationStatus
from grants.applications.services import eligibility_problems, limit_problems
from grants.brand.models import BrandReview, BrandSelection
from grants.contracts.models import Contract
from grants.core.timeutil import SHANGHAI, to_local, today_local
from grants.finance.models import Payment, PaymentStatus
from grants.reviews.models import Conflict, Review, ReviewStatus

NUMBER = re.compile(r"^(\d{4})-(\d{3,})-(\d{4})$")


@pytest.fixture()
def demo(app, db):
    from grants.demo import load_demo

    with app.test_request_context():
        load_demo()
        db.session.commit()
        yield db


def _day(value: dt.datetime) -> dt.date:
    return to_local(value).date()


def test_every_score_follows_a_declared_no_conflict(demo):
    declared = {(c.expert_id, c.application_id): c for c in demo.session.scalars(sa.select(Conflict))}
    reviews = demo.session.scalars(sa.select(Review).where(Review.status == ReviewStatus.SUBMITTED)).all()
    assert reviews
    for r in reviews:
        c = declared.get((r.expert_id, r.application_id))
        assert c is not None and c.has_conflict is False, f"review {r.id}: no 无利益冲突 declared"
        assert c.created_at <= r.submitted_at
    for r in demo.session.scalars(sa.select(BrandReview).where(BrandReview.status == "submitted")):
        assert r.nomination_id is not None


def test_applications_keep_the_calls_limits_and_one_number_format(demo):
    apps = demo.session.scalars(sa.select(Application).where(
        Application.status != ApplicationStatus.DRAFT)).unique().all()
    assert apps
    for a in apps:
        assert limit_problems(a) == [], (a.number, a.call.title)
        if a.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.RETURNED):
            assert eligibility_problems(a) == [], (a.number, a.call.title)
        m = NUMBER.match(a.number or "")
        assert m and a.number.startswith(f"{a.call.year}-{a.call_id:03d}-"), a.number


def test_contracts_are_issued_and_signed_for_periods_that_fit(demo):
    today = today_local()
    contracts = demo.session.scalars(sa.select(Contract)).unique().all()
    assert len(contracts) == 5
    for c in contracts:
        assert c.issued_at is not None and _day(c.issued_at) <= c.period_start_on, c.number
        if c.signed_at is not None:
            assert c.issued_at <= c.signed_at <= c.countersigned_at, c.number
            # signed before the period it commits to starts (not in a later year, not on the demo's day)
            assert _day(c.countersigned_at) <= c.period_start_on, c.number
        if c.period_end_on < today:  # a project of an earlier year: nothing of it is dated today
            for at in (c.issued_at, c.signed_at, c.countersigned_at):
                assert at is None or _day(at) < today, c.number


def test_payments_are_released_after_signing_in_their_project_years(demo):
    released = demo.session.scalars(sa.select(Payment).where(Payment.status == PaymentStatus.RELEASED)).all()
    assert len(released) >= 7
    for p in released:
        c = p.contract
        assert _day(c.countersigned_at) <= p.released_on <= c.period_end_on + dt.timedelta(days=60), p.id
        assert p.released_on < today_local(), p.id
        assert p.approved_at <= p.released_at


def test_a_published_brand_selection_sends_no_scoring_reminder(demo):
    from grants.reminders.jobs import run_pass
    from grants.reminders.models import Delivery

    selection = demo.session.scalar(sa.select(BrandSelection))
    assert selection.status == "published"
    assert _day(selection.scoring_deadline_at) < today_local()
    run_pass()
    demo.session.commit()
    brand_rules = demo.session.scalars(sa.select(Delivery.rule).where(Delivery.subject_type == "brand_selection"))
    assert list(brand_rules) == []
    notes = demo.session.execute(sa.text("SELECT title, body FROM notification")).all()
    today = today_local().isoformat()
    assert not any("完成评分" in (t + b) and today in (t + b) for t, b in notes)
