"""Deny by default, proven: every endpoint in app.url_map is requested as anonymous and as each role,
with URL parameters pointing at objects that belong to someone else. Anything outside PUBLIC that
answers 2xx to a user not listed in ALLOWED fails the test, and so does an endpoint nobody classified.

When you add an endpoint, add it to PUBLIC or ALLOWED, and teach `url_args` its parameters.
"""
from __future__ import annotations

import pytest

from grants.accounts.models import Role
from tests import factories

ROLES = [str(r) for r in Role]

# Reachable without log-in (for anyone).
PUBLIC = {
    "static", "main.index", "main.healthz", "main.set_language", "main.favicon",
    "accounts.login", "accounts.two_factor_login", "organizations.register", "organizations.join",
    "accounts.forgot_password", "accounts.reset_password",  # 忘记密码: never tells whether an account exists
    "awards.public_notices", "awards.public_notice", "awards.public_objection",  # 公示 and objections are public
    "calls.public_list", "calls.public_detail", "calls.public_document",  # drafts answer 404
    # 信息公开 and its open data; calls whose award list is not final answer 404
    "disclosure.index", "disclosure.call", "disclosure.project", "disclosure.call_csv", "disclosure.call_json",
    "disclosure.all_csv", "disclosure.all_json",
    # the JSON API's document, its docs page, and its public calls and notices (tests/api walks the rest)
    "api-docs.openapi_json", "api_ui.docs", "api_calls.list_calls", "api_calls.get_call",
    "api_awards.list_notices", "api_awards.get_notice",
}

# endpoint → roles that may get a 2xx answer when the URL names ANOTHER organisation's objects.
# Applicants appear only where the object is not organisation-private.
ALLOWED: dict[str, set[str]] = {
    "accounts.logout": set(ROLES),
    "accounts.password": set(ROLES),
    "accounts.sessions": set(ROLES),  # the caller's own devices
    "accounts.sessions_end_others": set(ROLES),
    "accounts.two_factor": set(ROLES),  # the caller's own second factor
    "accounts.two_factor_enable": set(ROLES),
    "accounts.two_factor_recovery_codes": set(ROLES),
    "accounts.two_factor_disable": set(ROLES),
    "accounts.contacts": set(ROLES),  # the caller's own contacts
    "accounts.send_code": set(ROLES),
    "accounts.confirm_code": set(ROLES),
    "main.workbench": set(ROLES),
    "organizations.mine": {"applicant"},  # redirects a member to their own organisation
    "organizations.detail": {"officer", "auditor", "finance"},
    "organizations.record": {"officer", "auditor", "finance"},  # rows limited to the caller's unit subtree
    "organizations.edit": set(),
    "organizations.invite": set(),
    "organizations.member_admin": set(),
    "organizations.index": {"officer", "auditor", "finance"},
    "search.index": {"officer", "auditor", "finance"},  # finds the caller's unit subtree's items only
    "organizations.export": {"officer", "auditor", "finance"},  # the list's rows, as filtered
    "organizations.status": set(),  # only officers of the unit it is registered with, or above
    "organizations.blacklist": set(),
    "organizations.change_requests": {"officer", "auditor"},  # the caller's own unit subtree only
    "organizations.change_requests_export": {"officer", "auditor"},  # the caller's own unit subtree only
    "organizations.change_request": set(),  # another unit's organisation
    "organizations.change_request_certificate": set(),
    "core.audit_log": {"officer", "auditor", "admin"},  # rows of the caller's own units only
    "core.audit_export": {"officer", "auditor", "admin"},
    "core.download": set(),  # staff use their domain routes, which check the unit
    "admin.users": {"admin"},
    "admin.user_new": {"admin"},
    "admin.user_edit": {"admin"},
    "admin.user_reset_password": {"admin"},
    "admin.user_unlock": {"admin"},
    "admin.user_reset_two_factor": {"admin"},
    "admin.two_factor_policy": {"admin"},
    "admin.units": {"admin"},
    "admin.unit_uscc": {"admin"},
    "history.index": {"admin"},
    "history.template": {"admin"},
    "history.preview": {"admin"},
    "history.confirm": {"admin"},
    "admin.holidays": {"admin"},
    "admin.holiday_delete": {"admin"},
    "admin.holiday_year": {"admin"},
    "finance.queue": {"finance", "officer", "auditor"},  # lists the caller's own unit subtree only
    "finance.payment": set(),  # the world's payment belongs to another unit
    "finance.approve": set(),
    "finance.second_approve": set(),
    "finance.release": set(),
    "finance.return_": set(),
    "finance.resubmit": set(),
    "finance.hold": set(),
    "finance.lift_hold": set(),
    "finance.reclaim": set(),
    "finance.voucher": set(),  # another organisation's payment in another unit
    "finance.ledgers": {"finance", "officer", "auditor"},  # the caller's own unit subtree only
    "finance.ledger": set(),
    "finance.ledger_export": set(),
    "finance.queue_export": {"finance", "officer", "auditor"},  # rows of the caller's own unit subtree only
    "finance.batch": {"finance"},  # acts only on ticked payments of the caller's unit subtree; others refused per item
    "dashboard.index": {"officer", "auditor"},  # figures of the caller's own unit subtree only
    "dashboard.export": {"officer", "auditor"},
    "dashboard.items": {"officer", "auditor"},
    "calls.index": {"officer", "auditor"},  # lists the caller's own unit subtree only
    "calls.new": {"officer"},  # a form for the officer's own units
    "calls.detail": set(),  # the world's call belongs to another unit
    "calls.edit": set(),
    "calls.publish": set(),
    "calls.close": set(),
    "calls.archive": set(),
    "calls.copy": set(),
    "calls.upload_document": set(),
    "calls.delete_document": set(),
    "calls.document": set(),
    "reminders.inbox": set(ROLES),
    "reminders.open_notification": set(),  # another user's notification
    "reminders.mark_one_read": set(),
    "reminders.mark_everything_read": set(ROLES),  # marks the caller's own inbox only
    "reminders.preferences": set(ROLES),
    "reminders.outbox": {"admin"},
    "reminders.outbox_mail": {"admin"},
    "reminders.outbox_resend": {"admin"},
    "reminders.sms_outbox": {"admin"},
    "reminders.sms_outbox_item": {"admin"},
    "reminders.sms_outbox_resend": {"admin"},
    "reminders.notice_templates": {"admin"},
    "reminders.notice_template": {"admin"},
    "reminders.scheduler_status": {"admin"},
    "reminders.call_list": {"officer"},  # lists the calls of the officer's own unit
    "reminders.call_settings": set(),  # the world's call belongs to another unit
    "reviews.tasks": {"expert"},  # lists the caller's own assignments only
    "reviews.declare": set(),  # another expert's assignment
    "reviews.review": set(),
    "reviews.experts": {"officer", "auditor"},  # the pool is shared read-only; each unit edits its own experts
    "reviews.experts_export": {"officer", "auditor"},  # the same pool
    "reviews.expert_new": {"officer"},  # the new expert belongs to the officer's own unit
    "reviews.expert_edit": set(),  # the world's expert was recruited by another unit
    "reviews.calls": {"officer", "auditor"},  # lists the calls of the caller's own unit subtree
    "reviews.panel": set(),  # the world's call belongs to another unit
    "reviews.panel_remove": set(),
    "reviews.conflicts": set(),
    "reviews.conflicts_detect": set(),
    "reviews.assignments": set(),
    "reviews.auto_assign": set(),
    "reviews.assign": set(),
    "reviews.batch_assign": set(),  # the world's call belongs to another unit
    "reviews.reassign": set(),
    "reviews.unassign": set(),
    "reviews.review_detail": set(),
    "reviews.reopen": set(),
    "reviews.ranking": set(),
    "reviews.shortlist": set(),
    "reviews.score_sheet": set(),
    "contracts.index": {"officer", "finance", "auditor"},  # lists the caller's own unit subtree only
    "contracts.export": {"officer", "finance", "auditor"},  # rows of the caller's own unit subtree only
    "assessments.autosave_report": set(),  # another organisation's report
    "assessments.reports": {"officer", "auditor"},  # the caller's own unit subtree only
    "assessments.reports_export": {"officer", "auditor"},
    "assessments.chase_reports": {"officer"},  # only ticked reports of the caller's unit subtree; others refused per item
    "contracts.mine": {"applicant"},  # the caller's own organisation's contracts
    "contracts.create": set(),
    "contracts.detail": set(),  # the world's contract belongs to another unit and organisation
    "contracts.edit": set(),
    "contracts.issue": set(),
    "contracts.recall": set(),
    "contracts.sign": set(),
    "contracts.countersign": set(),
    "contracts.reject": set(),
    "contracts.terminate": set(),
    "contracts.complete": set(),
    "contracts.pdf": set(),
    "contracts.scan": set(),
    "assessments.mine": {"evaluator"},  # the caller's own assignments only
    "assessments.start_report": set(),
    "assessments.edit_report": set(),
    "assessments.report": set(),
    "assessments.return_report": set(),
    "assessments.accept_report": set(),
    "assessments.evidence": set(),
    "assessments.assessment": set(),  # assigned to another evaluator
    "assessments.rectify_deadline": set(),
    "assessments.withhold": set(),
    "assessments.rubric": set(),  # the world's call belongs to another unit
    "awards.objections_export": {"admin"},  # as awards.notice: admins see every call's notice
    "awards.index": {"officer", "auditor", "admin"},  # lists the caller's own unit subtree (admin: calls to approve)
    "awards.draft": {"admin"},  # the admin may open any draft to approve it (four-eyes step); officers: own subtree
    "awards.propose": set(),
    "awards.adjust": set(),
    "awards.allocation": set(),
    "awards.exclude": set(),
    "awards.include": set(),
    "awards.approve": set(),  # the world's call is not in review; an admin approves only a call in review
    "awards.publish": set(),
    "awards.reopen": set(),
    "awards.notice": {"admin"},
    "awards.handle_objection": set(),
    "awards.objection_evidence": set(),  # another unit's call
    "awards.finalize": set(),
    "awards.summary_pdf": set(),
    "awards.feedback": set(),  # another organisation's application
    "applications.apply": {"applicant"},  # any organisation may apply to an open call (the world's is not open)
    "applications.mine": {"applicant"},  # the caller's own organisation's applications
    "applications.batch_screen": set(),
    "applications.autosave": set(),  # another organisation's draft  # the world's call belongs to another unit
    "applications.edit": set(),  # the world's application belongs to another organisation and unit
    "applications.detail": set(),
    "applications.status": set(),
    "messages.application_thread": set(),  # another organisation's application, in another unit
    "messages.contract_thread": set(),
    "messages.attachment": set(),
    "applications.withdraw": set(),
    "applications.delete_draft": set(),
    "applications.pdf": set(),
    "applications.attachment": set(),
    "applications.screen": set(),
    "applications.duplicate_decision": set(),
    "applications.screening": {"officer", "auditor"},  # lists the calls of the caller's own unit subtree
    "applications.call_list": set(),  # the world's call belongs to another unit
    "applications.call_export": set(),
    "brand.index": {"officer", "auditor"},  # lists the caller's own unit subtree only
    "brand.new": {"officer"},  # a selection of the officer's own unit
    "brand.edit": set(),  # the world's selection belongs to another unit
    "brand.detail": set(),
    "brand.advance": set(),
    "brand.nominate": set(),
    "brand.accept": set(),
    "brand.decline": set(),
    "brand.invite": set(),
    "brand.panel_remove": set(),
    "brand.decide": set(),
    "brand.tasks": {"expert"},  # the caller's own panel seats only
    "brand.declare": set(),  # a nomination of a panel the caller does not sit on
    "brand.score": set(),
    "brand.mine": {"applicant"},  # the caller's own organisation's projects
    "api_ui.tokens": set(ROLES),  # the caller's own tokens
    "api_ui.revoke": set(),  # another user's token
    "api_ui.service_account_new": {"admin"},
    "api_ui.service_token_new": {"admin"},
    "api_ui.webhooks": {"admin"},
    "api_ui.webhook_toggle": {"admin"},
    "api_ui.webhook_retry": {"admin"},
}
# The JSON API answers 401 to a session cookie, whoever is logged in (tests/api walks it with tokens).
ALLOWED.update({endpoint: set() for endpoint in (
    "api_account.me", "api_applications.create_application", "api_applications.delete_attachment",
    "api_applications.get_application", "api_applications.get_feedback", "api_applications.get_problems",
    "api_applications.list_applications", "api_applications.submit", "api_applications.update_application",
    "api_applications.upload_attachment", "api_applications.withdraw", "api_contracts.get_contract",
    "api_contracts.list_contracts", "api_contracts.sign", "api_notifications.list_notifications",
    "api_notifications.read_notification", "api_organizations.get_organization",
    "api_organizations.list_organizations", "api_payments.get_payment", "api_payments.list_payments",
    "api_payments.release", "api_reports.create_report", "api_reports.get_assessment", "api_reports.get_report",
    "api_reports.list_assessments", "api_reports.list_reports", "api_reports.score", "api_reports.submit",
    "api_reports.update_report", "api_reports.upload_evidence", "api_figures.get_dashboard", "api_figures.get_ledger",
)})


@pytest.fixture()
def world(app, db):
    """Objects owned by an organisation none of the test users belongs to."""
    import io

    from werkzeug.datastructures import FileStorage

    from grants.core.models import Holiday, HolidayYear
    from grants.core.storage import save_upload
    from grants.organizations.services import invite_member

    world_unit = factories.host_unit(name="别处民政局")
    other = factories.organization(name="别家组织", unit=world_unit)
    other_admin = factories.member(other)
    other_member = factories.member(other, is_admin=False)
    inv = invite_member(other, "新同事", other_admin)
    import datetime as dt

    db.session.add(Holiday(day=dt.date(2027, 1, 1), is_workday=False, name="元旦"))
    db.session.add(HolidayYear(year=2027))  # the admin confirmed 2027's holidays complete
    with app.test_request_context():
        stored = save_upload(FileStorage(io.BytesIO(b"%PDF-1.4 test"), "x.pdf"), allowed=("pdf",),
                             organization_id=other.id, uploader=other_admin)
    from grants.reminders.models import Notification, OutboxMail
    from tests.reminders.factories import call as make_call
    from tests.awards.factories import world_objects as award_world
    from tests.contracts.factories import world_objects as contract_world
    from tests.reviews.factories import world_objects as review_world

    world_call = make_call(close_at=dt.datetime(2027, 3, 1, tzinfo=dt.timezone.utc), unit=world_unit)
    from grants.organizations.models import OrganizationChangeRequest

    change_request = OrganizationChangeRequest(
        organization_id=other.id, host_unit_id=world_unit.id, before={"rating": 3}, after={"rating": 4},
        certificate_id=stored.id, requested_by_id=other_admin.id)
    db.session.add(change_request)
    from grants.calls.models import CallDocument

    world_doc = CallDocument(call_id=world_call.id, stored_file_id=stored.id, title="别处的征集公告")
    db.session.add(world_doc)
    note = Notification(user_id=other_admin.id, kind="general", title="别人的通知", link="/")
    mail = OutboxMail(to_address="other@example.org", subject="别人的邮件", body="")
    from grants.reminders.models import OutboxSms

    sms = OutboxSms(to_mobile="13900000000", kind="general", text="别人的短信", params={})
    from tests.finance.factories import world_objects as finance_world

    finance = finance_world(app, other)
    db.session.add_all([note, mail, sms])
    db.session.commit()
    objects = {
        "org_id": other.id, "member_id": other_member.membership.id, "user_id": other_admin.id,
        "file_id": stored.id, "token": inv.token, "day": "2027-01-01", "code": "en",
        "call_id": world_call.id, "doc_id": world_doc.id, "request_id": change_request.id,
        "notification_id": note.id, "mail_id": mail.id, "sms_id": sms.id,
        **finance,
        **review_world(other, world_call.host_unit_id),
        **contract_world(app, other),
        **award_world(other, world_call.host_unit_id),
    }
    from tests.applications.factories import world_objects as application_world
    from tests.brand.factories import world_objects as brand_world

    objects.update(brand_world(app, other))

    objects.update(application_world(app, objects["application_id"]))
    from grants.applications.models import Application
    from grants.messages.models import Message

    message = Message(subject_type="application", subject_id=objects["application_id"], author_id=other_admin.id,
                      organization_id=db.session.get(Application, objects["application_id"]).organization_id,
                      body="别人的消息", attachment_id=stored.id)
    db.session.add(message)
    db.session.commit()
    objects["message_id"] = message.id
    return objects


def url_args(rule, world) -> dict:
    """Fill each URL parameter with another organisation's object (or a harmless value)."""
    return {arg: world[arg] if arg in world else 1 for arg in rule.arguments}


def _endpoints(app):
    return sorted((r for r in app.url_map.iter_rules()), key=lambda r: r.endpoint)


def test_every_endpoint_is_classified(app):
    unclassified = {r.endpoint for r in app.url_map.iter_rules()} - PUBLIC - set(ALLOWED)
    assert not unclassified, f"classify these endpoints in PUBLIC or ALLOWED: {sorted(unclassified)}"


def _requests(app, world):
    for rule in _endpoints(app):
        if rule.endpoint in PUBLIC or rule.endpoint == "static":
            continue
        path = rule.build(url_args(rule, world), append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def test_anonymous_is_sent_to_login(app, client, world):
    for endpoint, method, path in _requests(app, world):
        resp = client.open(path, method=method)
        resp.close()
        assert resp.status_code in (302, 401, 403, 404), f"{method} {path} ({endpoint}) → {resp.status_code}"
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"], f"{method} {path} redirects to {resp.headers['Location']}"


@pytest.mark.parametrize("role", ROLES)
def test_roles_get_only_what_they_may(app, client, login_as, world, role):
    login_as(role)
    for endpoint, method, path in _requests(app, world):
        if endpoint == "accounts.logout":
            continue  # would end the session for the rest of the walk
        resp = client.open(path, method=method)
        resp.close()  # file downloads stream from an open file
        assert resp.status_code < 500, f"{method} {path} ({endpoint}) as {role} → {resp.status_code}"
        if role not in ALLOWED[endpoint]:
            refused = (403, 404, 405) + ((401,) if endpoint.startswith("api_") else ())
            assert resp.status_code in refused, \
                f"{method} {path} ({endpoint}) as {role} → {resp.status_code}, expected a refusal"


# --- actors of other units: below the world's unit, and beside it ----------------------------------------

CROSS_UNIT_ROLES = ["officer", "finance", "auditor"]


@pytest.mark.parametrize("where", ["child", "sibling"])
@pytest.mark.parametrize("role", CROSS_UNIT_ROLES)
def test_cross_unit_actors_cannot_write(app, client, login_as, world, role, where):
    """Every write (every non-GET request) refused to staff of a unit below the world's unit (a district under
    the city cannot act on the city's organisations, experts, calls …) and of a sibling unit under one city."""
    from grants.organizations.models import HostUnit

    import sqlalchemy as sa

    from grants.extensions import db

    world_unit = db.session.scalar(sa.select(HostUnit).where(HostUnit.name == "别处民政局"))
    if where == "child":
        unit = factories.host_unit(level="district", parent=world_unit)
    else:
        # The world's unit and the actor's are two districts of one city.
        top = factories.host_unit(level="city")
        world_unit.parent_id = top.id
        unit = factories.host_unit(level="district", parent=top)
    login_as(factories.user(roles=(role,), unit=unit))
    for endpoint, method, path in _requests(app, world):
        if method == "GET" or endpoint == "accounts.logout":
            continue
        resp = client.open(path, method=method)
        resp.close()
        assert resp.status_code < 500, f"{method} {path} ({endpoint}) as {where}-unit {role} → {resp.status_code}"
        if role not in ALLOWED[endpoint]:
            refused = (403, 404, 405) + ((401,) if endpoint.startswith("api_") else ())  # the API takes no cookie
            assert resp.status_code in refused, \
                f"{method} {path} ({endpoint}) as {where}-unit {role} → {resp.status_code}, expected a refusal"


# --- GET never writes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_get_handlers_write_nothing(app, client, login_as, world, role):
    """Every GET of the walk runs while a listener watches the connection: any INSERT, UPDATE or DELETE (even one
    rolled back afterwards) fails the test. Viewing the expert pool used to create profiles."""
    import sqlalchemy as sa

    from grants.extensions import db

    from grants.reviews.models import ExpertProfile

    user = login_as(role)
    # Expert accounts made before profiles came with the role: viewing the pool must not create theirs now.
    legacy = factories.user(roles=("expert",))
    db.session.execute(sa.delete(ExpertProfile).where(ExpertProfile.user_id.in_([legacy.id, user.id])))
    db.session.commit()
    writes: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement.split("\n", 1)[0][:120])

    engine = db.engine
    for endpoint, method, path in _requests(app, world):
        if method != "GET" or endpoint == "accounts.logout":
            continue
        sa.event.listen(engine, "before_cursor_execute", watch)
        try:
            resp = client.get(path)
            resp.close()
        finally:
            sa.event.remove(engine, "before_cursor_execute", watch)
        assert not writes, f"GET {path} ({endpoint}) as {role} wrote: {writes}"
