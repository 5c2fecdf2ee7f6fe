"""工作台 to-dos: each role's items and counts, the host-unit scope, and a fixed number of queries."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from grants.applications.models import ApplicationStatus
from grants.extensions import db as _db
from grants.main.workbench import counts, nav_counts, sections
from grants.organizations.models import OrgStatus
from tests import factories
from tests.applications import factories as app_factories
from tests.finance import factories as fin


@pytest.fixture(autouse=True)
def _request_context(app):
    with app.test_request_context():
        yield


class QueryCounter:
    def __init__(self):
        self.n = 0

    def __enter__(self):
        sa.event.listen(_db.engine, "before_cursor_execute", self._seen)
        return self

    def _seen(self, *args, **kwargs):
        self.n += 1

    def __exit__(self, *exc):
        sa.event.remove(_db.engine, "before_cursor_execute", self._seen)


def _tree():
    city = factories.host_unit(level="city")
    district = factories.host_unit(level="district", parent=city)
    return city, district


def _section(user, key):
    return next(s for s in sections(user) if s.key == key)


def test_officer_sees_screening_and_verification_within_their_subtree(db):
    city, district = _tree()
    officer, officer_cc = app_factories.officer_for(city), app_factories.officer_for(district)
    city_call, district_call = app_factories.call(city), app_factories.call(district)
    for _ in range(2):
        app_factories.application(city_call, status=ApplicationStatus.SUBMITTED)
    waiting = app_factories.application(district_call, status=ApplicationStatus.SUBMITTED)
    resub = app_factories.application(district_call, status=ApplicationStatus.SUBMITTED)
    resub.screened_at = resub.submitted_at  # returned once, submitted again
    app_factories.application(city_call)  # a draft is nobody's to-do but its organisation's
    factories.organization(status=OrgStatus.PENDING, unit=district)
    factories.organization(status=OrgStatus.PENDING, unit=factories.host_unit())  # another tree
    db.session.flush()

    mine = counts(officer)
    assert (mine["to_screen"], mine["resubmitted"], mine["orgs_to_verify"]) == (3, 1, 1)
    theirs = counts(officer_cc)
    assert (theirs["to_screen"], theirs["resubmitted"], theirs["orgs_to_verify"]) == (1, 1, 1)
    screen = _section(officer_cc, "to_screen")
    assert [i.url for i in screen.items] == [f"/applications/{waiting.id}"]
    assert _section(officer_cc, "resubmitted").items[0].url == f"/applications/{resub.id}"


def test_officer_counts_cost_one_statement_whatever_the_data_size(db):
    city, district = _tree()
    officer = app_factories.officer_for(city)
    call_ = app_factories.call(district)

    def measure():
        _db.session.expire_all()
        with QueryCounter() as c:
            n = counts(officer)
        with QueryCounter() as s:
            page = sections(officer)
        return n["to_screen"], c.n, s.n, len(page[1].items)

    app_factories.application(call_, status=ApplicationStatus.SUBMITTED, complete=False)
    small = measure()
    for _ in range(12):
        app_factories.application(call_, status=ApplicationStatus.SUBMITTED, complete=False)
    big = measure()
    assert small[0] == 1 and big[0] == 13
    # the user's roles and membership, the unit tree, and one statement for every count
    assert small[1] == big[1] <= 5
    # the same + one query per kind that has items: fixed, and the list is capped
    assert small[2] == big[2] and big[3] == 5


def test_finance_to_approve_then_release_by_another_person(db):
    contract = fin.active_contract()
    call_ = contract.call
    approver, releaser = fin.finance_user(call_), fin.finance_user(call_)
    outsider = factories.user(roles=("finance",))
    payment = fin.first_payment(contract)
    assert counts(approver)["payments_to_approve"] == 1
    assert counts(outsider)["payments_to_approve"] == 0  # another unit's payments are not theirs

    from grants.finance.services import approve_payment

    approve_payment(payment, approver)
    db.session.flush()
    assert counts(approver)["payments_to_release"] == 0  # never release what one approved
    assert counts(releaser)["payments_to_release"] == 1
    item = _section(releaser, "payments_to_release").items[0]
    assert item.url == f"/finance/payments/{payment.id}" and item.title == contract.project_name
    assert item.subtitle.startswith("¥")


def test_applicant_drafts_returned_and_messages(db):
    from grants.reminders.models import Notification

    call_ = app_factories.call()
    org = factories.organization()
    user = factories.member(org)
    draft = app_factories.application(call_, org)
    closed = app_factories.call(close_at=app_factories.CLOSE_AT.replace(year=2020))
    app_factories.application(closed, org, complete=False)  # the call closed: no longer a to-do
    other_org_draft = app_factories.application(call_)
    db.session.add(Notification(user_id=user.id, kind="test", title="请签署协议", link="/contracts/mine"))
    db.session.flush()
    n = counts(user)
    assert (n["drafts"], n["returned"], n["messages"]) == (1, 0, 1)
    drafts = _section(user, "drafts")
    assert drafts.items[0].url == f"/applications/{draft.id}/edit"
    assert drafts.items[0].deadline == call_.close_at
    assert other_org_draft.id not in [int(i.url.split("/")[2]) for i in drafts.items]
    assert _section(user, "messages").items[0].url == "/contracts/mine"


def test_admin_sees_missing_scheduler_and_failed_mail(db):
    from grants.reminders.models import MailStatus, OutboxMail

    admin = factories.user(roles=("admin",))
    db.session.add(OutboxMail(to_address="a@example.org", subject="退信", status=MailStatus.FAILED, last_error="550"))
    db.session.add(OutboxMail(to_address="b@example.org", subject="待发", status=MailStatus.QUEUED))
    db.session.flush()
    n = counts(admin)
    assert n["mail_failures"] == 1 and n["scheduler"] == 1
    sched = _section(admin, "scheduler")
    assert sched.message and sched.list_url == "/admin/scheduler"


def test_roles_without_to_dos_cost_nothing(db):
    auditor = factories.user(roles=("auditor",))
    with QueryCounter() as c:
        assert counts(auditor) == {} and sections(auditor) == []
    assert c.n == 0


def test_workbench_page_and_navigation_badges(app, client, db, login_as):
    city, district = _tree()
    call_ = app_factories.call(district)
    for _ in range(3):
        app_factories.application(call_, status=ApplicationStatus.SUBMITTED, complete=False)
    officer = factories.user(roles=("officer",), unit=city)
    login_as(officer)
    html = client.get("/workbench").get_data(as_text=True)
    assert re.search(r'id="nav-badge-apply"[^>]*>3<', html) and re.search(r'id="nav-badge-total"[^>]*>3<', html)
    assert re.search(r'data-todo="to_screen".*?data-count="3"', html, re.S)
    assert "{% block nav_search %}" not in html and 'id="nav-menu-review"' in html
    # Every entry of the old flat navigation is still in a menu.
    from grants.main.navigation import nav_items

    for item in nav_items(officer):
        assert f'href="{app.url_map.bind("localhost").build(item.endpoint)}"' in html


def test_badges_are_computed_once_per_request(app, db):
    officer = factories.user(roles=("officer",))
    from flask_login import login_user

    with app.test_request_context():
        login_user(officer)
        with QueryCounter() as c:
            first = nav_counts()
            second = nav_counts()
        assert first == second == {}
        assert c.n == 2  # unit tree + the counts, once
