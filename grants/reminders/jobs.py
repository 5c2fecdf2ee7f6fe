"""One scheduler pass: run the automatic steps (registry.step), find every due reminder from the data,
deliver each exactly once, send mail.

Exactly once, by construction: the delivery ledger has a unique key (rule, subject, recipient,
occurrence, channel) and each reminder's ledger rows are inserted in the same transaction as its
notification and outbox mail. A second pass (or two passes at once) hits the unique key, rolls back that
unit of work and moves on.

No flood after an outage: per subject and recipient only the latest due occurrence is considered, and
not at all when the ledger already holds that one or a later one. When it went out well after its
moment it is marked late.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from grants.core.timeutil import format_local, now
from grants.extensions import db
from grants.reminders import rules as _rules  # noqa: F401  (registers the rules)
from grants.reminders.channels import Message, active_channels
from grants.reminders.mail import MailResult, send_outbox
from grants.reminders.services import preference_set
from grants.reminders.sms import send_sms_outbox
from grants.reminders.models import Delivery, NotificationPreference, ReminderRule
from grants.reminders.registry import RULES, STEPS, Due, RuleContext, Settings

log = logging.getLogger(__name__)
LATE_AFTER_MINUTES = 30


@dataclass
class PassResult:
    at: dt.datetime
    delivered: int = 0
    # Objects changed by the pass steps (e.g. tranches withheld after a missed rectification deadline).
    actions: int = 0
    late: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    mail: MailResult = field(default_factory=MailResult)
    sms: MailResult = field(default_factory=MailResult)
    duration_ms: int = 0

    def summary(self) -> str:
        """For the operator's console (no request, so no translation): the scheduler's log line."""
        text = (f"自动处理 {self.actions} 项，送达 {self.delivered} 条（其中补发 {self.late} 条），重复跳过 {self.duplicates} 条，"
                f"邮件发送 {self.mail.sent} 封、重试 {self.mail.retrying} 封、失败 {self.mail.failed} 封、"
                f"结果不明 {self.mail.uncertain} 封，"
                f"用时 {self.duration_ms} 毫秒")
        return text + (f"；错误：{'; '.join(self.errors)}" if self.errors else "")


def ensure_rule_rows() -> None:
    """Seed a settings row with the registry's defaults for every rule that has none."""
    existing = set(db.session.scalars(sa.select(ReminderRule.rule)))
    for key, r in RULES.items():
        if key in existing:
            continue
        try:
            with db.session.begin_nested():  # another process may seed the same row at the same moment
                db.session.add(ReminderRule(rule=key, enabled=True, offsets=list(r.default_offsets)))
        except IntegrityError:
            pass


def _safe_url_for(endpoint: str, **values) -> str:
    """A link must never stop a deadline reminder: without the endpoint the message goes out unlinked."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        log.warning("reminder link endpoint %s is unknown", endpoint)
        return ""


def _collapse(dues) -> dict[tuple, Due]:
    """Per (subject, recipient) keep only the latest due occurrence."""
    latest: dict[tuple, Due] = {}
    for due in dues:
        key = (due.subject_type, due.subject_id, due.recipient_id)
        if key not in latest or due.due_at > latest[key].due_at:
            latest[key] = due
    return latest


def _deadline_of(occurrence: str) -> str:
    """'1d@202612011600' → '202612011600': the deadline an occurrence counts from (see occurrence_label)."""
    return occurrence.rpartition("@")[2]


def _delivered_until(rule_key: str, keys) -> dict[tuple, dict[str, dt.datetime]]:
    """(subject type, subject id, recipient) → {deadline stamp: the latest due_at the ledger holds for it}.

    Per deadline, not per subject: when a deadline moves earlier, its reminders are due earlier than those
    already sent for the old deadline, and comparing with those would suppress them."""
    by_type: dict[str, set[int]] = defaultdict(set)
    for subject_type, subject_id, _recipient in keys:
        by_type[subject_type].add(subject_id)
    out: dict[tuple, dict[str, dt.datetime]] = defaultdict(dict)
    for subject_type, ids in by_type.items():
        ids = sorted(ids)
        for start in range(0, len(ids), 900):
            rows = db.session.execute(
                sa.select(Delivery.subject_id, Delivery.recipient_id, Delivery.occurrence, sa.func.max(Delivery.due_at))
                .where(Delivery.rule == rule_key, Delivery.subject_type == subject_type,
                       Delivery.subject_id.in_(ids[start:start + 900]))
                .group_by(Delivery.subject_id, Delivery.recipient_id, Delivery.occurrence)).all()
            for subject_id, recipient_id, occurrence, due_at in rows:
                if due_at is not None and due_at.tzinfo is None:
                    due_at = due_at.replace(tzinfo=dt.timezone.utc)  # aggregates bypass the column type
                seen = out[(subject_type, subject_id, recipient_id)]
                stamp = _deadline_of(occurrence)
                if stamp not in seen or (due_at is not None and due_at > seen[stamp]):
                    seen[stamp] = due_at
    return out


def _recipients(user_ids) -> tuple[dict[int, sa.Row], dict[int, set[str]]]:
    from grants.accounts.models import User

    users: dict[int, sa.Row] = {}
    muted: dict[int, set[str]] = defaultdict(set)
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        for row in db.session.execute(sa.select(User.id, User.email, User.mobile, User.is_active_account)
                                      .where(User.id.in_(chunk))):
            if row.is_active_account:
                users[row.id] = row
        for user_id, kind, email_enabled, sms_enabled in db.session.execute(
                sa.select(NotificationPreference.user_id, NotificationPreference.kind,
                          NotificationPreference.email_enabled, NotificationPreference.sms_enabled)
                .where(NotificationPreference.user_id.in_(chunk),
                       sa.or_(NotificationPreference.email_enabled.is_(False),
                              NotificationPreference.sms_enabled.is_not(None)))):
            muted[user_id] |= preference_set([(kind, email_enabled, sms_enabled)])
    return users, muted


def deliver(rule_key: str, due: Due, user, muted: set[str], late: bool, channels) -> None:
    """Record and send one reminder on every channel that accepts it; the caller commits."""
    text = due.compose()
    body = text.body
    if late:
        body = _("%(body)s\n（此提醒原定于 %(at)s 发送，因系统暂停而延后送达。）", body=body, at=format_local(due.due_at))
    message = Message(kind=due.kind, title=text.title[:200], body=body, link=text.link[:300], late=late)
    accepted = [c for c in channels if c.accepts(user, message, muted)]
    db.session.add_all([Delivery(rule=rule_key, subject_type=due.subject_type, subject_id=due.subject_id,
                                 recipient_id=user.id, occurrence=due.occurrence, channel=c.name,
                                 due_at=due.due_at, late=late) for c in accepted])
    # The ledger rows go to the database first: a duplicate fails here, before anything is sent.
    db.session.flush()
    for channel in accepted:
        channel.send(user, message)


def run_rule(rule_key: str, ctx: RuleContext, result: PassResult, channels) -> None:
    rule = RULES[rule_key]
    candidates = _collapse(rule.find(ctx))
    if not candidates:
        return
    done = _delivered_until(rule_key, candidates.keys())
    pending = [d for k, d in candidates.items()
               if _deadline_of(d.occurrence) not in done.get(k, {}) or done[k][_deadline_of(d.occurrence)] < d.due_at]
    users, muted = _recipients(d.recipient_id for d in pending)
    late_after = dt.timedelta(minutes=current_app.config.get("REMINDER_LATE_AFTER_MINUTES", LATE_AFTER_MINUTES))
    # Late = missed because no pass ran between its moment and now (not: its data appeared afterwards).
    last_run = ctx.settings.last_run.get(rule_key)
    for due in sorted(pending, key=lambda d: (d.due_at, d.subject_id, d.recipient_id)):
        user = users.get(due.recipient_id)
        if user is None:
            continue
        late = ctx.now - due.due_at > late_after and (last_run is None or last_run < due.due_at)
        try:
            deliver(rule_key, due, user, muted.get(user.id, set()), late, channels)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # delivered by another pass meanwhile
            result.duplicates += 1
            continue
        except Exception as exc:  # one broken unit must not stop everyone else's reminders
            db.session.rollback()
            log.exception("reminder %s for %s/%s failed", rule_key, due.subject_type, due.subject_id)
            result.errors.append(f"{rule_key}: {type(exc).__name__}: {exc}"[:300])
            continue
        result.delivered += 1
        result.late += int(late)


def run_pass(at: dt.datetime | None = None) -> PassResult:
    """Run every enabled rule once, then send due mail. Needs an app context; commits per unit of work."""
    started = time.perf_counter()
    at = at or now()
    result = PassResult(at=at)
    ensure_rule_rows()
    db.session.commit()
    settings = Settings.load()
    base_url = current_app.config.get("SITE_URL") or "http://localhost/"
    with current_app.test_request_context("/", base_url=base_url):
        for key, step in STEPS.items():
            try:
                result.actions += step.run(at)
            except Exception as exc:  # a step failing must not stop the reminders
                db.session.rollback()
                log.exception("scheduler step %s failed", key)
                result.errors.append(f"{key}: {type(exc).__name__}: {exc}"[:300])
        ctx = RuleContext(at, settings, _safe_url_for)
        channels = active_channels()
        for key in RULES:
            if not settings.globally_enabled(key):
                continue
            try:
                run_rule(key, ctx, result, channels)
                db.session.execute(sa.update(ReminderRule).where(ReminderRule.rule == key).values(last_run_at=at))
                db.session.commit()
            except Exception as exc:  # a rule's own query failing must not stop the other rules
                db.session.rollback()
                log.exception("reminder rule %s failed", key)
                result.errors.append(f"{key}: {type(exc).__name__}: {exc}"[:300])
    try:
        from grants.core.audit import seal_and_commit

        seal_and_commit()  # also between the sealer's own runs (run_forever), e.g. from `scheduler once`
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        log.exception("audit sealing failed")
        result.errors.append(f"audit seal: {type(exc).__name__}: {exc}"[:300])
    try:
        from grants.core.audit import checkpoint_if_due

        # A signed checkpoint of the audit chain's head, so rows cut off its end are detected later.
        checkpoint_if_due()
        db.session.commit()  # the checkpoint, or what it sealed first (and the sealing lock goes)
    except Exception as exc:  # noqa: BLE001 — reported like a step; the reminders go on
        db.session.rollback()
        log.exception("audit checkpoint failed")
        result.errors.append(f"audit checkpoint: {type(exc).__name__}: {exc}"[:300])
    try:
        result.mail = send_outbox(at)
    except Exception as exc:  # the mail server or its settings: reported, retried next pass
        db.session.rollback()
        log.exception("sending the outbox failed")
        result.errors.append(f"mail: {type(exc).__name__}: {exc}"[:300])
    try:
        result.sms = send_sms_outbox(at)
    except Exception as exc:  # the SMS provider or its settings: reported, retried next pass
        db.session.rollback()
        log.exception("sending the SMS outbox failed")
        result.errors.append(f"sms: {type(exc).__name__}: {exc}"[:300])
    result.duration_ms = int((time.perf_counter() - started) * 1000)
    return result
