"""Delivery channels behind one small interface: in-app inbox, e-mail (through the outbox) and SMS.

A channel adds rows to the session and never commits: the caller records the delivery and commits the
unit of work, so a message and its record stand or fall together. SMS has an interface only; a vendor
gateway is plugged in by setting SMS_GATEWAY to an object with `send(mobile, text)`.
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


class SmsGateway(Protocol):
    def send(self, mobile: str, text: str) -> None:
        """Hand one text message to the vendor; raise on failure (the unit of work then rolls back)."""


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway):
        self.gateway = gateway

    def accepts(self, user, message: Message, email_off: set[str]) -> bool:
        # Text messages cost money: only what cannot be muted, to people with a mobile number.
        return bool(user.mobile) and is_critical(message.kind)

    def send(self, user, message: Message) -> None:
        self.gateway.send(user.mobile, (message.sms or f"{message.title}。{message.body}")[:300])


def active_channels() -> list[Channel]:
    channels: list[Channel] = [InAppChannel(), EmailChannel()]
    gateway = current_app.config.get("SMS_GATEWAY")
    if gateway is not None:
        channels.append(SmsChannel(gateway))
    return channels
