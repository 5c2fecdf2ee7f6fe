"""E-mail preferences (critical kinds cannot be muted), the inbox and its unread count."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from grants.reminders.models import Delivery, Notification, NotificationPreference, OutboxMail
from grants.reminders.services import ReminderError, notify, set_email_preference
from tests import factories
from tests.reminders import factories as rf

CLOSE = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone.utc)


def test_non_critical_email_can_be_turned_off(db):
    user = factories.user(email="u@example.org")
    set_email_preference(user, "general", False)
    notify(user, "申报书已受理", "正文", link="/")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0
    set_email_preference(user, "general", True)
    notify(user, "再次通知")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 1


def test_critical_email_cannot_be_turned_off(app, db):
    user = factories.user(email="u@example.org")
    with app.test_request_context("/"), pytest.raises(ReminderError, match="不可关闭"):
        set_email_preference(user, "deadline", False)


def test_muted_cc_reminders_still_email_the_responsible_person(db, clock):
    from grants.reminders.jobs import run_pass

    org = factories.organization()
    boss = factories.member(org, email="boss@example.org")
    colleague = factories.member(org, is_admin=False, email="colleague@example.org")
    rf.application(rf.call(close_at=CLOSE), org)
    # Both mute everything they can; a stored 'off' for the critical kind (e.g. from an old form) is ignored.
    db.session.add_all([NotificationPreference(user_id=colleague.id, kind="deadline_cc", email_enabled=False),
                        NotificationPreference(user_id=boss.id, kind="deadline", email_enabled=False)])
    db.session.commit()
    clock.set(CLOSE - dt.timedelta(days=1))
    run_pass()
    assert db.session.scalars(sa.select(OutboxMail.to_address)).all() == ["boss@example.org"]
    channels = set(db.session.execute(sa.select(Delivery.recipient_id, Delivery.channel)).all())
    assert channels == {(boss.id, "in_app"), (boss.id, "email"), (colleague.id, "in_app")}


def test_preferences_page_saves_non_critical_and_keeps_critical_on(client, login_as, db):
    user = login_as("applicant")
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert "不可关闭" in page
    assert re.search(r'value="deadline"[^>]*checked[^>]*disabled', page)
    # Submitting without any box ticked (even trying to drop 'deadline') mutes only the non-critical kinds.
    resp = client.post("/notifications/preferences", data={})
    assert resp.status_code == 302
    prefs = dict(db.session.execute(sa.select(NotificationPreference.kind, NotificationPreference.email_enabled)
                                    .where(NotificationPreference.user_id == user.id)).all())
    from grants.reminders.notices import APPLICANT, NOTICES

    applicant_notices = {k: False for k, n in NOTICES.items() if n.audience == APPLICANT}
    assert prefs == {"deadline_cc": False, "escalation": False, "general": False, **applicant_notices}
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert not re.search(r'value="general"[^>]*checked', page)
    client.post("/notifications/preferences", data={"email": ["general"]})
    assert db.session.scalar(sa.select(NotificationPreference.email_enabled).where(
        NotificationPreference.user_id == user.id, NotificationPreference.kind == "general")) is True


def _bell(html: str) -> str | None:
    m = re.search(r'id="nav-unread">([^<]+)<', html)
    return m.group(1) if m else None


def test_inbox_shows_unread_count_and_marks_read(client, login_as, db):
    user = login_as("applicant")
    assert _bell(client.get("/notifications").get_data(as_text=True)) is None
    for i in range(3):
        notify(user, f"通知{i}", link=f"/applications/{i + 1}")
    db.session.commit()
    html = client.get("/workbench", follow_redirects=True).get_data(as_text=True)
    assert _bell(html) == "3"
    html = client.get("/notifications").get_data(as_text=True)
    assert "通知0" in html and "3 条未读" in html
    first = db.session.scalar(sa.select(Notification).where(Notification.title == "通知0"))
    resp = client.post(f"/notifications/{first.id}/open")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/applications/1")
    assert _bell(client.get("/notifications").get_data(as_text=True)) == "2"
    second = db.session.scalar(sa.select(Notification).where(Notification.title == "通知1"))
    client.post(f"/notifications/{second.id}/read")
    assert _bell(client.get("/notifications").get_data(as_text=True)) == "1"
    unread_only = client.get("/notifications?unread=1").get_data(as_text=True)
    assert "通知2" in unread_only and "通知1" not in unread_only
    client.post("/notifications/read-all")
    assert _bell(client.get("/notifications").get_data(as_text=True)) is None


def test_cannot_open_someone_elses_notification(client, login_as, db):
    other = factories.user()
    notify(other, "别人的通知", link="/")
    db.session.commit()
    n = db.session.scalar(sa.select(Notification))
    login_as("applicant")
    assert client.post(f"/notifications/{n.id}/open").status_code == 403
    assert client.post(f"/notifications/{n.id}/read").status_code == 403
    db.session.refresh(n)
    assert n.read_at is None


def test_external_links_are_never_followed(client, login_as, db):
    user = login_as("applicant")
    db.session.add(Notification(user_id=user.id, kind="general", title="x", link="//evil.example/"))
    db.session.commit()
    n = db.session.scalar(sa.select(Notification))
    resp = client.post(f"/notifications/{n.id}/open")
    assert resp.headers["Location"].endswith("/notifications")


def test_unread_count_is_one_query(client, login_as, db, app):
    """The bell adds exactly one COUNT query to a page, however many notifications there are (measured on a
    page other than the workbench, which lists the newest messages among its to-dos)."""
    user = login_as("applicant")
    for i in range(30):
        notify(user, f"通知{i}")
    db.session.commit()
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get("/applications/mine")
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    counts = [s for s in statements if "notification" in s.lower()]
    assert len(counts) == 1 and "count(" in counts[0].lower(), counts
