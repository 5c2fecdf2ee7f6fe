"""The reminder rule registry: each rule is one function that, given a RuleContext (now, settings),
yields a Due for every reminder that is due now, computed from the data itself.

Adding a rule is one decorated function in rules.py:

    @rule("report_due", label=_l("进度报告提醒"), offsets=(14, 7, 1, -1, -7), allow_overdue=True)
    def report_due(ctx):
        for row in <query of reports whose deadline lies within ctx.window("report_due")>:
            hit = ctx.latest_due("report_due", row.deadline_at, call_id=row.call_id)
            if hit:
                yield Due(recipient_id=..., subject_type="report", subject_id=row.id,
                          occurrence=hit.occurrence, due_at=hit.due_at, kind=DEADLINE.key,
                          compose=once(_report_text, ctx, row))

The engine (jobs.run_pass) keeps only the latest due occurrence per subject and recipient, drops what
the delivery ledger already holds, and delivers the rest, each in its own transaction.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from grants.core.timeutil import CalendarUnknown, add_working_days, format_local, to_local
from grants.extensions import db


@dataclass(frozen=True)
class Text:
    """What a reminder says: title, body and a link (a path inside the site)."""

    title: str
    body: str
    link: str = ""


@dataclass(frozen=True)
class Due:
    """One reminder that is due: who gets it, about what, which occurrence, and how to word it.

    `compose` is called only for reminders that are actually sent: most candidates of a pass were
    delivered before, and wording (translation, links, local times) costs more than finding them.
    """

    recipient_id: int
    subject_type: str
    subject_id: int
    occurrence: str
    due_at: dt.datetime
    kind: str
    compose: Callable[[], Text]


class once:
    """`once(fn, *args)`: a composer that calls fn(*args) the first time and returns that result afterwards.

    A rule builds one per candidate (shared by its recipients) and most candidates are never worded, so it
    must cost next to nothing to build (functools.cache builds a whole wrapper each time)."""

    __slots__ = ("_call", "_value")
    _UNSET = object()

    def __init__(self, fn: Callable, *args):
        self._call = (fn, args)
        self._value = once._UNSET

    def __call__(self):
        if self._value is once._UNSET:
            fn, args = self._call
            self._value = fn(*args)
        return self._value


@dataclass(frozen=True)
class Hit:
    offset: int
    occurrence: str
    due_at: dt.datetime


@dataclass(frozen=True)
class Rule:
    key: str
    label: object
    description: object
    default_offsets: tuple[int, ...]
    allow_overdue: bool
    per_call: bool
    find: Callable[["RuleContext"], Iterable[Due]]
    # Offsets count days AFTER an event (e.g. 'unsigned 5 days after issue') instead of before a deadline;
    # `workdays`: they count working days.
    after: bool = False
    workdays: bool = False


RULES: dict[str, Rule] = {}


@dataclass(frozen=True)
class Step:
    """An automatic consequence of a deadline (e.g. a missed rectification deadline withholds the tranche),
    run at the start of every pass, before the rules, so the reminders of the same pass already tell of it."""

    key: str
    run: Callable[[dt.datetime], int]


STEPS: dict[str, Step] = {}


def step(key: str):
    """Register `fn(at) -> how many objects it changed` as a pass step.

    Like a rule it works from the data alone (what is overdue now), so after an outage the next pass does
    what was missed, once. It commits one unit of work at a time and must be safe when two passes run it
    at once (claim each object with a conditional update or a row lock before changing it)."""

    def register(fn: Callable[[dt.datetime], int]):
        STEPS[key] = Step(key, fn)
        return fn

    return register
# How long after its moment an overdue reminder that was missed (scheduler down) is still sent.
CATCH_UP_DAYS = 30


def rule(key: str, *, label, description, offsets: tuple[int, ...], allow_overdue: bool = False,
         per_call: bool = True, after: bool = False, workdays: bool = False):
    """Register a rule function under `key` with its default offsets: days before the deadline (negative
    or 0 = overdue, with allow_overdue), or with after=True (working) days after an event."""

    def register(fn: Callable[["RuleContext"], Iterable[Due]]):
        RULES[key] = Rule(key, label, description, tuple(offsets), allow_overdue or after, per_call, fn,
                          after, workdays)
        return fn

    return register


def occurrence_label(offset: int, deadline: dt.datetime) -> str:
    """'7d@202612011600': the offset plus the deadline it counts from, so a moved deadline starts afresh."""
    d = deadline.astimezone(dt.timezone.utc)
    stamp = f"{d.year:04d}{d.month:02d}{d.day:02d}{d.hour:02d}{d.minute:02d}"
    if offset > 0:
        name = f"{offset}d"
    elif offset == 0:
        name = "overdue"
    else:
        name = f"overdue{-offset}d"
    return f"{name}@{stamp}"


def latest_due(deadline: dt.datetime, offsets: Iterable[int], at: dt.datetime) -> Hit | None:
    """The most recent offset whose moment has come. Reminders before a deadline lapse once it has
    passed (nobody needs 'closes in 1 day' afterwards); overdue ones (offset ≤ 0) do not."""
    best: tuple[int, dt.datetime] | None = None
    for offset in offsets:
        moment = deadline - dt.timedelta(days=offset)
        if moment > at or (offset > 0 and deadline <= at):
            continue
        if best is None or moment > best[1]:
            best = (offset, moment)
    return Hit(best[0], occurrence_label(best[0], deadline), best[1]) if best else None


def _stamp(value: dt.datetime) -> str:
    d = value.astimezone(dt.timezone.utc)
    return f"{d.year:04d}{d.month:02d}{d.day:02d}{d.hour:02d}{d.minute:02d}"


def add_days(anchor: dt.datetime, n: int, holidays: dict[dt.date, bool] | None = None) -> dt.datetime:
    """`anchor` + n days, or + n working days (Beijing dates, same wall-clock time) when `holidays` is given."""
    if holidays is None:
        return anchor + dt.timedelta(days=n)
    local = to_local(anchor)
    try:
        day = add_working_days(local.date(), n, holidays)
    except CalendarUnknown:  # a year nobody has entered yet: Monday–Friday rather than no reminder
        day, left = local.date(), n
        while left:
            day += dt.timedelta(days=1)
            left -= day.weekday() < 5
    return dt.datetime.combine(day, local.timetz()).astimezone(dt.timezone.utc)


def latest_after(anchor: dt.datetime, offsets: Iterable[int], at: dt.datetime,
                 holidays: dict[dt.date, bool] | None = None) -> Hit | None:
    """The most recent 'n (working) days after the event' moment that has come."""
    best: tuple[int, dt.datetime] | None = None
    for offset in offsets:
        moment = add_days(anchor, offset, holidays)
        if moment <= at and (best is None or moment > best[1]):
            best = (offset, moment)
    if best is None:
        return None
    unit = "wd" if holidays is not None else "d"
    return Hit(best[0], f"after{best[0]}{unit}@{_stamp(anchor)}", best[1])


class Settings:
    """Rule settings for one pass: platform-wide rows and per-call overrides, loaded with two queries."""

    def __init__(self, global_rows: dict[str, tuple[bool, tuple[int, ...]]],
                 call_rows: dict[tuple[int, str], tuple[bool, tuple[int, ...]]],
                 last_run: dict[str, dt.datetime | None] | None = None):
        self.global_rows = global_rows
        self.call_rows = call_rows
        self.last_run = last_run or {}

    @classmethod
    def load(cls) -> "Settings":
        from grants.reminders.models import CallReminderSetting, ReminderRule

        rows = db.session.scalars(sa.select(ReminderRule)).all()
        g = {r.rule: (r.enabled, tuple(r.offsets or ())) for r in rows}
        c = {(r.call_id, r.rule): (r.enabled, tuple(r.offsets or ()))
             for r in db.session.scalars(sa.select(CallReminderSetting))}
        return cls(g, c, {r.rule: r.last_run_at for r in rows})

    def globally_enabled(self, key: str) -> bool:
        return self.global_rows.get(key, (True, ()))[0]

    def offsets(self, key: str, call_id: int | None = None) -> tuple[int, ...] | None:
        """The offsets in force, or None when the rule is switched off (platform-wide or for the call)."""
        enabled, offsets = self.global_rows.get(key, (True, RULES[key].default_offsets if key in RULES else ()))
        if not enabled:
            return None
        if call_id is not None and (call_id, key) in self.call_rows:
            enabled, offsets = self.call_rows[(call_id, key)]
            if not enabled:
                return None
        return offsets or None

    def span(self, key: str) -> tuple[int, int]:
        """(days before, days after) a deadline during which this rule can fire, over all calls."""
        values = list(self.global_rows.get(key, (True, RULES[key].default_offsets))[1])
        values += [o for (_, k), (_, offs) in self.call_rows.items() if k == key for o in offs]
        values = values or [1]
        # Overdue reminders (offset ≤ 0) do not lapse: look back far enough to catch up after an outage.
        after = -min(values) + CATCH_UP_DAYS if min(values) <= 0 else 0
        return max(0, max(values)), after


class RuleContext:
    """What a rule function gets: the pass's time, the settings and a few shared look-ups."""

    def __init__(self, at: dt.datetime, settings: Settings, url_for: Callable[..., str]):
        self.now = at
        self.settings = settings
        self.url_for = url_for
        self._holidays: dict[dt.date, bool] | None = None
        self._shared: dict[str, object] = {}

    def shared(self, key: str, load: Callable[[], object]):
        """`load()` once per pass, for rules that read the same candidates (e.g. the progress reports still
        due, which both the organisation's reminder and the officer's escalation need)."""
        if key not in self._shared:
            self._shared[key] = load()
        return self._shared[key]

    def window(self, key: str) -> tuple[dt.datetime, dt.datetime]:
        """Deadlines in (start, end] can have an occurrence due now: a rule filters its query on it."""
        before, after = self.settings.span(key)
        return self.now - dt.timedelta(days=after, minutes=1), self.now + dt.timedelta(days=before)

    def latest_due(self, key: str, deadline: dt.datetime, *, call_id: int | None = None) -> Hit | None:
        offsets = self.settings.offsets(key, call_id)
        return latest_due(deadline, offsets, self.now) if offsets else None

    def anchor_window(self, key: str) -> tuple[dt.datetime, dt.datetime]:
        """For after-event rules: events in [start, end] can have a reminder due now."""
        values = list(self.settings.global_rows.get(key, (True, RULES[key].default_offsets))[1])
        values += [o for (_, k), (_, offs) in self.settings.call_rows.items() if k == key for o in offs]
        values = values or [1]
        stretch = 2 if RULES[key].workdays else 1  # n working days span at most ~2n calendar days (+ holidays)
        return (self.now - dt.timedelta(days=max(values) * stretch + 10 + CATCH_UP_DAYS),
                self.now - dt.timedelta(days=min(values)))

    def latest_after(self, key: str, anchor: dt.datetime, *, call_id: int | None = None) -> Hit | None:
        offsets = self.settings.offsets(key, call_id)
        if not offsets:
            return None
        return latest_after(anchor, offsets, self.now, self.holidays if RULES[key].workdays else None)

    @property
    def holidays(self) -> dict[dt.date, bool]:
        if self._holidays is None:
            from grants.core.workdays import holiday_overrides

            self._holidays = holiday_overrides()
        return self._holidays

    @staticmethod
    def local(value: dt.datetime) -> str:
        return format_local(value)

    @staticmethod
    def unit_officers(unit_ids: Iterable[int]) -> dict[int, list[int]]:
        """host unit id → ids of its active officers, in one query."""
        from grants.accounts.models import Role, User, UserRole

        out: dict[int, list[int]] = defaultdict(list)
        ids = sorted(set(unit_ids))
        if ids:
            rows = db.session.execute(
                sa.select(User.host_unit_id, User.id).join(UserRole, UserRole.user_id == User.id)
                .where(User.host_unit_id.in_(ids), UserRole.role == Role.OFFICER, User.is_active_account.is_(True))
                .order_by(User.id)).all()
            for unit_id, user_id in rows:
                out[unit_id].append(user_id)
        return out

    @staticmethod
    def organization_members(org_ids: Iterable[int]) -> dict[int, list[tuple[int, bool]]]:
        """org id → [(user id, is organisation admin)] for active users, in one query."""
        from grants.accounts.models import User
        from grants.organizations.models import OrganizationMember

        ids = sorted(set(org_ids))
        out: dict[int, list[tuple[int, bool]]] = defaultdict(list)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            rows = db.session.execute(
                sa.select(OrganizationMember.organization_id, OrganizationMember.user_id, OrganizationMember.is_admin)
                .join(User, User.id == OrganizationMember.user_id)
                .where(OrganizationMember.organization_id.in_(chunk), User.is_active_account.is_(True))
                .order_by(OrganizationMember.organization_id, OrganizationMember.user_id)
            ).all()
            for org_id, user_id, is_admin in rows:
                out[org_id].append((user_id, is_admin))
        return out
