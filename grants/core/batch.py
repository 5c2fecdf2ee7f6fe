"""Batch actions (对所选项…): the single-item service run once per selected item, one transaction per item.

A staff list posts the ids ticked in its checkboxes; `run_batch` loads each one, checks the same permission
the single-item page checks, calls the same service and commits — or rolls back that item alone and records
why it was refused (segregation of duties, thresholds, holds, a state that moved on, a lost race). A refused
item never blocks the others, and the result page lists both, item by item. The services write their audit
records exactly as they do for one item.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from grants.core.inputs import int_or_none
from grants.extensions import db

# A page of a list shows at most 50–100 rows; more ids than this in one post are not a person ticking boxes.
MAX_BATCH = 200
NOT_ALLOWED = _l("不存在或您无权对其操作")


@dataclass
class BatchLine:
    id: int
    label: str
    message: str = ""
    url: str | None = None


@dataclass
class BatchOutcome:
    """What a batch did: `done` and `refused` lines, each with the item's label and (refused) the reason."""
    action: str
    done: list[BatchLine] = field(default_factory=list)
    refused: list[BatchLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.done) + len(self.refused)


def selected_ids(name: str = "ids") -> list[int]:
    """The ticked ids of a batch form: positive integers, each once, in the order posted, at most MAX_BATCH."""
    seen: dict[int, None] = {}
    for raw in request.form.getlist(name)[:MAX_BATCH]:
        value = int_or_none(raw, minimum=1)
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


def _refusal(exc: BaseException) -> str | None:
    """The user-facing reason of a refused item, or None when the exception is a bug to be raised."""
    from grants.core.web import RACE_MESSAGE, is_lost_race

    if isinstance(exc, ValueError) and getattr(exc, "message", None):
        return str(exc.message)
    if isinstance(exc, (DBAPIError, StaleDataError)) and is_lost_race(exc):
        return str(RACE_MESSAGE)
    return None


def run_batch(action: str, ids: Iterable[int], load: Callable[[int], Any], allowed: Callable[[Any], bool],
              act: Callable[[Any], Any], label: Callable[[Any], str],
              url: Callable[[Any], str] | None = None) -> BatchOutcome:
    """For each id: load it, check `allowed`, run `act` and commit; a refusal rolls back that item only."""
    outcome = BatchOutcome(action=action)
    for ident in ids:
        obj = load(ident)
        if obj is None or not allowed(obj):
            outcome.refused.append(BatchLine(ident, f"#{ident}", str(NOT_ALLOWED)))
            continue
        # Read before acting: after a rollback the object is expired and reading it would query again.
        line = BatchLine(ident, label(obj), url=url(obj) if url else None)
        try:
            act(obj)
            db.session.flush()
        except Exception as exc:  # noqa: BLE001 - domain refusals and lost races are reported per item
            db.session.rollback()
            reason = _refusal(exc)
            if reason is None:
                raise
            line.message = reason
            outcome.refused.append(line)
            continue
        db.session.commit()
        outcome.done.append(line)
    return outcome


def render_outcome(outcome: BatchOutcome, back_url: str, back_label: str | None = None):
    """The result page of a batch: what was done and what was refused, and why, per item."""
    return render_template("core/batch_result.html", outcome=outcome, back_url=back_url,
                           back_label=back_label or _("返回列表"))
