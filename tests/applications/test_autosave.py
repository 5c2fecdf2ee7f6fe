"""自动保存 of the application form: the same permission, deadline and state checks as 保存草稿, JSON answers,
POST with CSRF only, hostile input answered without a 500 and without touching attachments."""
import datetime as dt

import pytest

from grants.applications.models import Application, ApplicationStatus
from tests import factories
from tests.applications import factories as af


@pytest.fixture()
def draft(app, db, clock, ctx):
    clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc))
    call = af.call()
    org = factories.organization()
    a = af.application(call, org)
    member = factories.member(org)
    db.session.commit()
    return a, member


def _reload(db, a):
    db.session.expire_all()
    return db.session.get(Application, a.id)


def test_autosave_saves_text_and_keeps_attachments(client, db, login_as, draft):
    a, member = draft
    attachments = len(a.attachments)
    login_as(member)
    r = client.post(f"/applications/{a.id}/autosave", data={"project_name": "自动保存的项目名", "summary": "草稿"})
    assert r.status_code == 200 and r.is_json
    assert r.json["ok"] is True and r.json["message"].startswith("已自动保存 ") and len(r.json["saved_at"]) == 5
    a = _reload(db, a)
    assert a.project_name == "自动保存的项目名" and a.summary == "草稿" and a.status == "draft"
    assert len(a.attachments) == attachments


def test_autosave_refused_after_the_deadline_and_after_submission(client, db, login_as, clock, draft):
    a, member = draft
    login_as(member)
    clock.set(af.CLOSE_AT + dt.timedelta(minutes=1))
    r = client.post(f"/applications/{a.id}/autosave", data={"project_name": "截止后"})
    assert r.status_code == 409 and r.json["ok"] is False and "截止" in r.json["message"]
    assert _reload(db, a).project_name != "截止后"
    clock.set(dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc))
    from grants.applications.services import submit_application

    a = _reload(db, a)
    assert not submit_application(a, member)
    db.session.commit()
    assert a.status == ApplicationStatus.SUBMITTED
    assert client.post(f"/applications/{a.id}/autosave", data={"project_name": "提交后"}).status_code == 403
    assert _reload(db, a).project_name != "提交后"


def test_autosave_permissions_and_method(client, db, login_as, draft):
    a, _member = draft
    assert client.post(f"/applications/{a.id}/autosave", data={"summary": "x"}).status_code in (302, 401)
    login_as(factories.member(factories.organization()))  # another organisation
    assert client.post(f"/applications/{a.id}/autosave", data={"summary": "x"}).status_code == 403
    login_as("officer")
    assert client.post(f"/applications/{a.id}/autosave", data={"summary": "x"}).status_code == 403
    assert client.get(f"/applications/{a.id}/autosave").status_code == 405


def test_autosave_hostile_input(client, db, login_as, draft):
    a, member = draft
    login_as(member)
    for data in ({"project_name": "x" * 5000}, {"requested": "１e309"}, {"category_id": "99999999999999"},
                 {"budget-0-unit_price": "-1", "budget-0-quantity": "abc", "budget-999999-item": "x"},
                 {"summary": "\x00\x1b<script>alert(1)</script>"}, {"activity-0-start_on": "2026-02-30"}):
        r = client.post(f"/applications/{a.id}/autosave", data=data)
        assert r.status_code in (200, 400, 409), (data, r.status_code)


def test_autosave_needs_the_csrf_token(app, client, db, login_as, draft):
    a, member = draft
    login_as(member)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.post(f"/applications/{a.id}/autosave", data={"summary": "无令牌"},
                        headers={"Accept": "application/json"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert r.status_code == 400
    assert _reload(db, a).summary != "无令牌"
