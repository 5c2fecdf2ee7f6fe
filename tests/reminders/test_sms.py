"""The SMS channel: notices and codes are queued in the SMS outbox; the pass sends them through Alibaba Cloud's
official SDK — here pointed at a local fake of the API on 127.0.0.1 that checks the request signature — at most
once, with retries, failures and 结果不明; without configuration they stay queued; admins see and resend them."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.core.timeutil import UTC
from grants.reminders.models import OutboxSms
from grants.reminders.sms import claim_sms, parse_templates, queue_sms, send_sms_outbox
from tests import factories
from tests.reminders.fake_aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, FakeAliyunSms

AT = dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _at(clock):
    clock.set(AT)


@pytest.fixture()
def fake(app, monkeypatch):
    with FakeAliyunSms() as server:
        for key, value in {"SMS_PROVIDER": "aliyun", "ALIYUN_SMS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                           "ALIYUN_SMS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET, "ALIYUN_SMS_SIGN_NAME": "南通民政",
                           "ALIYUN_SMS_TEMPLATES": "application_received=SMS_100,verification_code=SMS_200",
                           "ALIYUN_SMS_ENDPOINT": server.endpoint, "ALIYUN_SMS_PROTOCOL": "http",
                           "MAIL_RETRY_BASE_SECONDS": 60}.items():
            monkeypatch.setitem(app.config, key, value)
        yield server


def _queue(db, kind="application_received", mobile="13900000001", **params):
    row = queue_sms(mobile, kind, "您的申报“银龄互助”已提交，编号2026-001-0001。",
                    params or {"project": "银龄互助", "number": "2026-001-0001"})
    db.session.commit()
    return row


def test_sent_through_the_sdk_with_sign_template_and_parameters(db, fake):
    row = _queue(db)
    result = send_sms_outbox(AT)
    assert result.sent == 1
    assert fake.requests == [{"phone": "13900000001", "sign": "南通民政", "template": "SMS_100",
                              "params": {"project": "银龄互助", "number": "2026-001-0001"}, "answer": "ok"}]
    row = db.session.get(OutboxSms, row.id, populate_existing=True)
    assert (row.status, row.provider_ref, row.attempts) == ("sent", "1^0", 1) and row.sent_at == AT
    assert send_sms_outbox(AT + dt.timedelta(hours=1)).sent == 0 and len(fake.requests) == 1  # exactly once


def test_a_wrong_secret_is_refused_by_the_service(db, fake, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALIYUN_SMS_ACCESS_KEY_SECRET", "wrong")
    row = _queue(db)
    assert send_sms_outbox(AT).retrying == 1 and fake.requests == []
    assert "IncompleteSignature" in db.session.get(OutboxSms, row.id, populate_existing=True).last_error


def test_busy_answers_are_retried_with_back_off_then_fail(db, fake, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_MAX_ATTEMPTS", 3)
    fake.answers = ["isv.BUSINESS_LIMIT_CONTROL", ("http", 503), "isv.BUSINESS_LIMIT_CONTROL"]
    row = _queue(db)
    assert send_sms_outbox(AT).retrying == 1
    row = db.session.get(OutboxSms, row.id, populate_existing=True)
    assert row.status == "queued" and row.next_attempt_at == AT + dt.timedelta(seconds=60)
    assert send_sms_outbox(AT + dt.timedelta(seconds=30)).retrying == 0  # not yet due
    assert send_sms_outbox(AT + dt.timedelta(seconds=60)).retrying == 1
    result = send_sms_outbox(AT + dt.timedelta(seconds=180))
    row = db.session.get(OutboxSms, row.id, populate_existing=True)
    assert result.failed == 1 and row.status == "failed" and row.attempts == 3 and len(fake.requests) == 3


def test_a_wrong_number_or_a_missing_template_fails_at_once(db, fake):
    fake.answers = ["isv.MOBILE_NUMBER_ILLEGAL"]
    bad = _queue(db, mobile="13900000009")
    unknown = _queue(db, kind="no_such_template")
    result = send_sms_outbox(AT)
    assert result.failed == 2 and len(fake.requests) == 1
    assert "未配置短信模板" in db.session.get(OutboxSms, unknown.id, populate_existing=True).last_error
    assert db.session.get(OutboxSms, bad.id, populate_existing=True).status == "failed"


def test_no_answer_is_uncertain_and_never_resent_by_itself(db, fake, app, monkeypatch):
    from grants.reminders import sms as sms_module

    real = sms_module.AliyunSms.__init__

    def short_timeout(self, **kwargs):
        real(self, **{**kwargs, "timeout_ms": 500})

    monkeypatch.setattr(sms_module.AliyunSms, "__init__", short_timeout)
    fake.answers = ["hang"]
    row = _queue(db)
    assert send_sms_outbox(AT).uncertain == 1
    row = db.session.get(OutboxSms, row.id, populate_existing=True)
    assert row.status == "uncertain" and "结果不明" not in row.last_error and "无法确定" in row.last_error
    assert send_sms_outbox(AT + dt.timedelta(days=1)).sent == 0 and len(fake.requests) == 1


def test_unreachable_service_is_retried(db, fake, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALIYUN_SMS_ENDPOINT", "127.0.0.1:9")  # nothing listens on port 9
    row = _queue(db)
    assert send_sms_outbox(AT).retrying == 1
    assert db.session.get(OutboxSms, row.id, populate_existing=True).status == "queued" and fake.requests == []


def test_one_claimer_wins(db, fake):
    row = _queue(db)
    assert claim_sms(row.id, AT) is True
    assert claim_sms(row.id, AT) is False
    assert send_sms_outbox(AT).sent == 0 and fake.requests == []


def test_a_claimed_sms_left_sending_becomes_uncertain(db, fake):
    row = _queue(db)
    claim_sms(row.id, AT)
    assert send_sms_outbox(AT + dt.timedelta(minutes=16)).uncertain == 1
    assert db.session.get(OutboxSms, row.id, populate_existing=True).status == "uncertain"


def test_without_configuration_sms_stays_in_the_outbox(db, app):
    assert not app.config.get("SMS_PROVIDER")
    row = _queue(db)
    assert send_sms_outbox(AT).sent == 0
    assert db.session.get(OutboxSms, row.id, populate_existing=True).status == "queued"


def test_templates_are_read_from_the_environment_format():
    assert parse_templates("a=SMS_1， b = SMS_2,bad") == {"a": "SMS_1", "b": "SMS_2"}
    assert parse_templates('{"a": "SMS_1"}') == {"a": "SMS_1"}


def test_notices_queue_sms_by_preference(app, db, client, login_as):
    from grants.reminders.notices import send_notice

    with app.test_request_context():
        org = factories.organization()
        member = factories.member(org, mobile="13900000002")
        officer = factories.user(mobile="13900000003")
        send_notice("application_received", [member], project="银龄互助", number="2026-001-0001",
                    organization=org.name, call="测试大赛", submitted_at="2026-12-01 09:00")
        send_notice("payment_requested", [officer], project="银龄互助", organization=org.name,
                    contract_number="HT-1", tranche="首期款", amount="¥1.00")
        db.session.commit()
    rows = db.session.scalars(sa.select(OutboxSms)).all()
    assert [(r.to_mobile, r.kind) for r in rows] == [("13900000002", "application_received")]
    assert rows[0].text == "您的申报“银龄互助”已提交，编号2026-001-0001。"
    assert rows[0].params["number"] == "2026-001-0001"
    # The member switches SMS off for receipts; the officer switches it on for payment requests.
    login_as(member)
    from grants.reminders.kinds import KINDS

    wanted = {"email": [k for k in KINDS], "sms": [k for k in KINDS if k != "application_received"]}
    assert client.post("/notifications/preferences", data=wanted).status_code == 302
    login_as(officer)
    client.post("/notifications/preferences", data={"email": list(KINDS), "sms": ["payment_requested"]})
    with app.test_request_context():
        send_notice("application_received", [member], project="银龄互助", number="2026-001-0002",
                    organization=org.name, call="测试大赛", submitted_at="2026-12-01 10:00")
        send_notice("payment_requested", [officer], project="银龄互助", organization=org.name,
                    contract_number="HT-1", tranche="首期款", amount="¥1.00")
        db.session.commit()
    rows = db.session.scalars(sa.select(OutboxSms).order_by(OutboxSms.id)).all()
    assert [(r.to_mobile, r.kind) for r in rows][1:] == [("13900000003", "payment_requested")]


def test_admin_reads_and_resends_the_sms_outbox(db, client, login_as, fake):
    fake.answers = ["isv.MOBILE_NUMBER_ILLEGAL"]
    row = _queue(db)
    send_sms_outbox(AT)
    login_as("admin")
    page = client.get("/admin/sms-outbox?status=failed").get_data(as_text=True)
    assert "13900000001" in page and "发送失败" in page
    page = client.get(f"/admin/sms-outbox/{row.id}").get_data(as_text=True)
    assert "isv.MOBILE_NUMBER_ILLEGAL" in page and "银龄互助" in page
    assert client.post(f"/admin/sms-outbox/{row.id}/resend").status_code == 302
    assert db.session.get(OutboxSms, row.id, populate_existing=True).status == "queued"
    assert send_sms_outbox(AT + dt.timedelta(minutes=1)).sent == 1
    login_as("officer")
    assert client.get("/admin/sms-outbox").status_code == 403
