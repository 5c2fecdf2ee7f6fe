"""The SMS outbox: text messages are queued like mail (OutboxSms) and sent by the scheduler's pass through
the configured provider, each at most once: claimed by a conditional UPDATE committed on its own, then sent,
then marked (sent / queued again with back-off / failed / 结果不明). A send whose answer never came (the
connection broke after the request went out) is uncertain and never resent automatically.

Chinese SMS must use templates registered with the provider and a registered sign name (签名), so each row
keeps its kind (which template) and the template's parameters; the text is what the person reads, and what
admins see in the outbox. Without SMS_PROVIDER configured nothing is sent: the rows stay queued.

Provider: Alibaba Cloud SMS (阿里云短信服务) through its official SDK `alibabacloud_dysmsapi20170525`.
Environment: SMS_PROVIDER=aliyun, ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME,
ALIYUN_SMS_TEMPLATES ("kind=SMS_123,kind2=SMS_456": the template code per notice kind; "verification_code"
for one-time codes), optionally ALIYUN_SMS_ENDPOINT (default dysmsapi.aliyuncs.com) and ALIYUN_SMS_PROTOCOL.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from grants.core.timeutil import now
from grants.extensions import db
from grants.reminders.mail import MailResult, claim, finish, mark_stuck_uncertain, retry_delay
from grants.reminders.models import MailStatus, OutboxSms

SMS_MAX = 300
MAX_ATTEMPTS = 5
BATCH = 200
UNCERTAIN_NOTE = "发送过程中断，无法确定短信是否已送达；请核实后手工重发"


def queue_sms(mobile: str, kind: str, text: str, params: dict | None = None) -> OutboxSms:
    """Add one SMS to the outbox (no commit: it goes with the caller's unit of work)."""
    row = OutboxSms(to_mobile=mobile, kind=kind, text=text[:SMS_MAX],
                    params={k: str(v)[:60] for k, v in (params or {}).items()})
    db.session.add(row)
    return row


class SmsRefused(Exception):
    """The provider answered and did not accept the message (nothing was sent). `permanent`: retrying the
    same message cannot help (a wrong number, a missing template)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SmsUncertain(Exception):
    """The request went out and no answer came back: the message may have been sent."""


class SmsProvider(Protocol):
    name: str

    def send(self, sms: OutboxSms) -> str:
        """Send one message; return the provider's id for it. Raise SmsRefused or SmsUncertain."""


# Alibaba Cloud answers these codes for a message that can never go out as it stands.
ALIYUN_PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS", "isv.INVALID_PARAMETERS", "isv.PARAM_LENGTH_LIMIT",
    "isv.MOBILE_COUNT_OVER_LIMIT", "isv.INVALID_JSON_PARAM", "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.DENY_IP_RANGE", "isv.SMS_CONTENT_ILLEGAL", "isv.SMS_SIGN_ILLEGAL",
}


def parse_templates(text: str) -> dict[str, str]:
    """'kind=SMS_1, other=SMS_2' (or a JSON object) → {kind: template code}."""
    text = (text or "").strip()
    if text.startswith("{"):
        return {str(k): str(v) for k, v in json.loads(text).items()}
    pairs = (p.split("=", 1) for p in text.replace("，", ",").split(",") if "=" in p)
    return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}


class AliyunSms:
    """Alibaba Cloud SMS through its official SDK (SendSms, API version 2017-05-25)."""

    name = "aliyun"

    def __init__(self, *, access_key_id: str, access_key_secret: str, sign_name: str, templates: dict[str, str],
                 endpoint: str = "dysmsapi.aliyuncs.com", protocol: str = "https", timeout_ms: int = 10_000):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as open_api_models

        self.sign_name = sign_name
        self.templates = templates
        self.timeout_ms = timeout_ms
        self.client = Client(open_api_models.Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                                    endpoint=endpoint, protocol=protocol))

    def send(self, sms: OutboxSms) -> str:
        from alibabacloud_dysmsapi20170525 import models
        from alibabacloud_tea_util import models as util_models
        from Tea.exceptions import TeaException, UnretryableException

        template = self.templates.get(sms.kind)
        if not template:
            raise SmsRefused(f"未配置短信模板：{sms.kind}（ALIYUN_SMS_TEMPLATES）", permanent=True)
        request = models.SendSmsRequest(phone_numbers=sms.to_mobile, sign_name=self.sign_name,
                                        template_code=template,
                                        template_param=json.dumps(sms.params or {}, ensure_ascii=False))
        runtime = util_models.RuntimeOptions(connect_timeout=self.timeout_ms, read_timeout=self.timeout_ms,
                                             autoretry=False, max_attempts=1)
        try:
            response = self.client.send_sms_with_options(request, runtime)
        except UnretryableException as exc:
            text = str(exc)
            # No connection (refused, DNS, connect timeout): the request never left. Otherwise it may have.
            if "NewConnectionError" in text or "ConnectTimeout" in text or "Connection refused" in text:
                raise SmsRefused(f"无法连接短信服务：{text[:200]}") from exc
            raise SmsUncertain(text[:300]) from exc
        except TeaException as exc:  # the service answered with an error status: not sent
            code = getattr(exc, "code", "") or ""
            raise SmsRefused(f"{code}: {getattr(exc, 'message', exc)}"[:300],
                             permanent=code in ALIYUN_PERMANENT) from exc
        body = response.body
        if body is None or body.code != "OK":
            code = getattr(body, "code", "") or ""
            raise SmsRefused(f"{code}: {getattr(body, 'message', '')}"[:300], permanent=code in ALIYUN_PERMANENT)
        return body.biz_id or ""


def sms_provider() -> SmsProvider | None:
    """The configured provider, or None (SMS then stays in the outbox)."""
    cfg = current_app.config
    provider = cfg.get("SMS_PROVIDER_OBJECT")  # a ready object (tests of other providers, a custom gateway)
    if provider is not None:
        return provider
    if (cfg.get("SMS_PROVIDER") or "").lower() != "aliyun" or not cfg.get("ALIYUN_SMS_ACCESS_KEY_ID"):
        return None
    return AliyunSms(access_key_id=cfg["ALIYUN_SMS_ACCESS_KEY_ID"],
                     access_key_secret=cfg.get("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
                     sign_name=cfg.get("ALIYUN_SMS_SIGN_NAME", ""),
                     templates=parse_templates(cfg.get("ALIYUN_SMS_TEMPLATES", "")),
                     endpoint=cfg.get("ALIYUN_SMS_ENDPOINT") or "dysmsapi.aliyuncs.com",
                     protocol=cfg.get("ALIYUN_SMS_PROTOCOL") or "https")


def claim_sms(sms_id: int, at: dt.datetime) -> bool:
    return claim(OutboxSms, sms_id, at)


def send_sms_outbox(at: dt.datetime | None = None) -> MailResult:
    """Send every queued SMS whose next attempt is due, each claimed first; commits per step."""
    result = MailResult()
    at = at or now()
    result.uncertain = mark_stuck_uncertain(at, OutboxSms, "SMS_SENDING_TIMEOUT_SECONDS", UNCERTAIN_NOTE)
    provider = sms_provider()
    if provider is None:
        return result
    max_attempts = current_app.config.get("SMS_MAX_ATTEMPTS", MAX_ATTEMPTS)
    ids = db.session.scalars(
        sa.select(OutboxSms.id).where(OutboxSms.status == MailStatus.QUEUED, OutboxSms.next_attempt_at <= at)
        .order_by(OutboxSms.next_attempt_at, OutboxSms.id).limit(BATCH)).all()
    db.session.commit()
    for sms_id in ids:
        if not claim_sms(sms_id, at):
            continue  # another sender has it
        sms = db.session.get(OutboxSms, sms_id, populate_existing=True)
        try:
            ref = provider.send(sms)
        except SmsUncertain as exc:
            finish(OutboxSms, sms_id, status=MailStatus.UNCERTAIN, last_error=f"{UNCERTAIN_NOTE}（{exc}）"[:500])
            result.uncertain += 1
        except SmsRefused as exc:
            if exc.permanent or sms.attempts >= max_attempts:
                finish(OutboxSms, sms_id, status=MailStatus.FAILED, last_error=str(exc)[:500])
                result.failed += 1
            else:
                finish(OutboxSms, sms_id, status=MailStatus.QUEUED, last_error=str(exc)[:500],
                        next_attempt_at=at + retry_delay(sms.attempts))
                result.retrying += 1
        else:
            finish(OutboxSms, sms_id, status=MailStatus.SENT, sent_at=at, last_error="", provider_ref=(ref or "")[:64])
            result.sent += 1
    return result


def resend_sms(sms: OutboxSms, actor) -> None:
    """An admin queues a failed or uncertain SMS again (after checking it did not arrive). Audited."""
    from flask_babel import gettext as _

    from grants.core.audit import record
    from grants.reminders.models import RESENDABLE_MAIL_STATUSES
    from grants.reminders.services import ReminderError

    if sms.status not in RESENDABLE_MAIL_STATUSES:
        raise ReminderError(_("只有发送失败或结果不明的短信可以重发。"))
    before = {"status": sms.status, "attempts": sms.attempts, "last_error": sms.last_error}
    sms.status = MailStatus.QUEUED
    sms.attempts = 0
    sms.next_attempt_at = now()
    sms.claimed_at = None
    record(actor, "sms.resend", sms, before=before, after={"status": str(MailStatus.QUEUED)},
           object_type="outbox_sms")
