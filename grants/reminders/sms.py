"""The SMS outbox: text messages are queued like mail (OutboxSms) and sent by the scheduler's pass through
the configured provider. Chinese SMS must use templates registered with the provider, so each row keeps its
kind and parameters; the text is what the person reads (and what admins see in the outbox)."""
from __future__ import annotations

from grants.extensions import db
from grants.reminders.models import OutboxSms

SMS_MAX = 300


def queue_sms(mobile: str, kind: str, text: str, params: dict | None = None) -> OutboxSms:
    """Add one SMS to the outbox (no commit: it goes with the caller's unit of work)."""
    row = OutboxSms(to_mobile=mobile, kind=kind, text=text[:SMS_MAX],
                    params={k: str(v)[:60] for k, v in (params or {}).items()})
    db.session.add(row)
    return row
