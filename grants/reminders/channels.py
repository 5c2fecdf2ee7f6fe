"""Delivery channels behind one small interface: in-app inbox, e-mail and SMS (each through its outbox).

A channel adds rows to the session and never commits: the caller records the delivery and commits the
unit of work, so a message and its record stand or fall together. The outboxes are sent afterwards by the
scheduler's pass (reminders.mail, reminders.sms), each message at most once.

`prefs` is the person's choices: the kinds muted for e-mail (the kind's key), and for SMS "sms+<kind>" (on)
or "sms-<kind>" (off); a kind without an SMS choice follows its default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from flask import current_app
from flask_babel import gettext as _

from grants.extensions import db
from grants.reminders.kinds import is_critical
from grants.reminders.models import Notification, OutboxMail


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    link: str = ""
    late: bool = False
    # The short text for SMS (a notice kind's SMS template); empty: title and body, cut short.
    sms: str = ""
    # The SMS template's parameters (the provider's registered template is filled with them).
    sms_params: dict | None = None


class Channel(Protocol):
    name: str

    def accepts(self, user, message: Message, email_off: set[str]) -> bool:
        """Whether this user gets this message on this channel (`email_off`: kinds the user muted)."""

    def send(self, user, message: Message) -> None:
        """Add what delivers the message to the session; no commit."""


def _absolute(link: str) -> str:
    base = (current_app.config.get("SITE_URL") or os.environ.get("SITE_URL", "")).rstrip("/")
    return f"{base}{link}" if link.startswith("/") and base else link


def _wants_mail(user, message: Message, email_off: set[str]) -> bool:
    return is_critical(message.kind) or message.kind not in email_off


class InAppChannel:
    name = "in_app"

    def accepts(self, user, message: Message, email_off: set[str]) -> bool:
        return True

    def send(self, user, message: Message) -> None:
        db.session.add(Notification(user_id=user.id, kind=message.kind, title=message.title, body=message.body,
                                    link=message.link, late=message.late))


class EmailChannel:
    name = "email"

    def accepts(self, user, message: Message, email_off: set[str]) -> bool:
        return bool(user.email) and _wants_mail(user, message, email_off)

    def send(self, user, message: Message) -> None:
        platform = current_app.config.get("PLATFORM_NAME", "")
        body = message.body
        if message.link:
            body += "\n\n" + _absolute(message.link)
        body += f"\n\n—— {platform}"
        title = _("【补发】%(title)s", title=message.title) if message.late else message.title
        db.session.add(OutboxMail(to_address=user.email, subject=f"[{platform}] {title}"[:200], body=body))


def wants_sms(message: Message, prefs: set[str]) -> bool:
    from grants.reminders.kinds import sms_default

    if is_critical(message.kind):
        return True
    if f"sms-{message.kind}" in prefs:
        return False
    return f"sms+{message.kind}" in prefs or sms_default(message.kind)


class SmsChannel:
    name = "sms"

    def accepts(self, user, message: Message, prefs: set[str]) -> bool:
        return bool(user.mobile) and wants_sms(message, prefs)

    def send(self, user, message: Message) -> None:
        from grants.reminders.sms import queue_sms

        text = message.sms or f"{message.title}。{message.body}"
        if message.late:
            text = _("【补发】%(t)s", t=text)
        queue_sms(user.mobile, message.kind, text, message.sms_params or {})


def active_channels() -> list[Channel]:
    # SMS always goes to its outbox; without a provider configured it stays there, like mail.
    return [InAppChannel(), EmailChannel(), SmsChannel()]
