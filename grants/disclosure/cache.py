"""Open-data files written once per published change and served from disk.

A session hook notes every flush that writes something the open data publishes (a confirmed award, a
contract, a payment, a disclosed call's title or dates, a funded project's title, summary, grade or
service areas, an organisation's name or code, a host unit); before the transaction commits it moves the
single OpenDataVersion row's counter, so the version and the change commit together (like the dashboard's
summaries, grants/dashboard/summary.py). A draft being saved, a submission, a review: none of these touch
the row, so the deadline rush never queues on it.

A download reads the version (one query), and if no file of that version exists yet writes it — streamed
from a server-side cursor a chunk at a time (exports.iter_csv_360 / iter_json_360), under a file lock so
that one worker writes while the others wait, into a temporary name renamed into place. The file is then
sent by send_file (the server streams it; nothing is held in memory) with an ETag naming the version and
Last-Modified the time of the change, so a conditional GET answers 304 Not Modified.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock
from flask import Response, current_app, request
from flask_babel import get_locale
from sqlalchemy.orm import Session

from grants.applications.models import Application, ApplicationStatus, ServiceArea
from grants.awards.models import Award
from grants.calls.models import Call, CallCategory
from grants.contracts.models import Contract
from grants.core.timeutil import now
from grants.disclosure import exports, services
from grants.disclosure.models import OpenDataVersion
from grants.finance.models import Payment
from grants.organizations.models import HostUnit, Organization

_CHANGED = "open_data_changed"
_AREA_APPS = "open_data_area_apps"

# Every change of these rows can change a published figure.
_WHOLE = (Award, Contract, Payment)
# Of these, only the named columns are published (a call's counters or settings, an organisation's contacts
# are not).
_COLUMNS = {
    Call: ("title", "year", "status", "host_unit_id", "project_start_on", "project_end_on"),
    CallCategory: ("name",),
    Organization: ("name", "uscc"),
    HostUnit: ("name", "uscc"),
    Application: ("project_name", "summary", "final_grade"),
}
# An application is published only once funded; before that (drafts, submissions, reviews) nothing of it is.
_UNPUBLISHED = frozenset({
    ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED, ApplicationStatus.ELIGIBLE, ApplicationStatus.INELIGIBLE,
    ApplicationStatus.RETURNED, ApplicationStatus.WITHDRAWN, ApplicationStatus.UNDER_REVIEW,
    ApplicationStatus.SCORED, ApplicationStatus.SHORTLISTED, ApplicationStatus.PITCHED,
})
_BULK = (*_WHOLE, *_COLUMNS, ServiceArea)


def _changes_publication(session: Session, obj) -> bool:
    if isinstance(obj, _WHOLE):
        return True
    for model, columns in _COLUMNS.items():
        if isinstance(obj, model):
            state = sa.inspect(obj)
            if isinstance(obj, Application) and obj.status in _UNPUBLISHED:
                return False
            if isinstance(obj, Call) and obj.status not in services.DISCLOSED_STATUSES \
                    and not set(state.attrs["status"].history.deleted or ()) & set(services.DISCLOSED_STATUSES):
                return False  # a call not disclosed (nor until now)
            if obj in session.deleted:
                return True
            if obj in session.new:
                # A new organisation, unit or category has nothing funded yet (its award will be the change).
                return isinstance(obj, (Call, Application))
            return any(state.attrs[c].history.has_changes() for c in columns)
    return False


def _note_changes(session: Session, _flush_context) -> None:
    """after_flush: does this flush touch the open data? Service areas are decided at commit (one query)."""
    if session.info.get(_CHANGED):
        return
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, ServiceArea):
            if obj.application_id is not None:
                session.info.setdefault(_AREA_APPS, set()).add(obj.application_id)
        elif _changes_publication(session, obj):
            session.info[_CHANGED] = True
            session.info.pop(_AREA_APPS, None)
            return


def _note_bulk(state) -> None:
    """do_orm_execute: an UPDATE or DELETE statement on a published model (bulk, past the unit of work)."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and issubclass(state.bind_mapper.class_, _BULK):
        state.session.info[_CHANGED] = True


def bump(session: Session) -> None:
    """Move the version (creating its row the first time), in the session's transaction."""
    table = OpenDataVersion.__table__
    conn = session.connection()
    moved = conn.execute(sa.update(table).where(table.c.id == 1)
                         .values(version=table.c.version + 1, changed_at=now())).rowcount
    if not moved:
        conn.execute(sa.insert(table).values(id=1, version=1, token=secrets.token_hex(8), changed_at=now()))


def _before_commit(session: Session) -> None:
    session.flush()  # what commit would flush anyway, so that it is noted here
    changed = session.info.pop(_CHANGED, False)
    area_apps = session.info.pop(_AREA_APPS, set())
    if not changed and area_apps:
        changed = session.connection().execute(
            sa.select(Application.id).where(Application.id.in_(list(area_apps)[:1000]),
                                             Application.status.not_in(list(_UNPUBLISHED))).limit(1)).first() is not None
    if changed:
        bump(session)


def _forget(session: Session, _previous_transaction=None) -> None:
    if not session.in_transaction():
        session.info.pop(_CHANGED, None)
        session.info.pop(_AREA_APPS, None)


sa.event.listen(Session, "after_flush", _note_changes)
sa.event.listen(Session, "do_orm_execute", _note_bulk)
sa.event.listen(Session, "before_commit", _before_commit)
sa.event.listen(Session, "after_soft_rollback", _forget)


# --- the files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Version:
    number: int
    token: str
    changed_at: object  # aware datetime, or None before the first published change


def current_version(session: Session) -> Version:
    row = session.execute(sa.select(OpenDataVersion.version, OpenDataVersion.token, OpenDataVersion.changed_at)
                          .where(OpenDataVersion.id == 1)).first()
    return Version(*row) if row else Version(0, "none", None)


def cache_dir() -> Path:
    configured = current_app.config.get("OPEN_DATA_CACHE_DIR")
    path = Path(configured) if configured else Path(current_app.config["UPLOAD_DIR"]).parent / "open_data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, pieces) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            for piece in pieces:
                out.write(piece)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pieces(kind: str, call: Call | None):
    programmes = services.programmes([call.id] if call is not None else None)
    projects = services.iter_public_projects(call)
    if kind == "csv":
        return exports.iter_csv_360(projects, programmes, services.max_service_areas(call))
    return exports.iter_json_360(projects, programmes)


def open_data_file(kind: str, call: Call | None, session: Session) -> tuple[Path, Version]:
    """The file of the current version (written now if it is not on disk yet) and that version."""
    version = current_version(session)
    scope = f"call{call.id}" if call is not None else "all"
    # The CSV carries translated status and grade labels; both carry ids made from the configured prefix.
    variant = hashlib.sha256(f"{exports.prefix()}|{get_locale() if kind == 'csv' else ''}".encode()).hexdigest()[:10]
    stem = f"{kind}-{scope}-"
    path = cache_dir() / f"{stem}{version.token}-{version.number}-{variant}.{kind}"
    if not path.exists():
        with FileLock(str(path) + ".lock", timeout=120):
            if not path.exists():
                _write(path, _pieces(kind, call))
                for old in chain(path.parent.glob(f"{stem}*.{kind}"), path.parent.glob(f"{stem}*.{kind}.lock")):
                    if old.name not in (path.name, path.name + ".lock"):
                        old.unlink(missing_ok=True)
    return path, version


def _read(path: Path, size: int = 64 * 1024):
    """The file in pieces; opened only when the body is sent (never for a 304) and closed at its end."""
    with open(path, "rb") as f:
        while piece := f.read(size):
            yield piece


def send_open_data(kind: str, call: Call | None, session: Session, filename: str) -> Response:
    path, version = open_data_file(kind, call, session)
    resp = Response(_read(path), mimetype="text/csv" if kind == "csv" else "application/json")
    resp.content_length = path.stat().st_size
    resp.set_etag(path.stem)
    if version.changed_at is not None:
        resp.last_modified = version.changed_at
    resp.cache_control.public = True
    resp.cache_control.max_age = current_app.config["OPEN_DATA_MAX_AGE"]
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    resp.headers["Access-Control-Allow-Origin"] = "*"  # open data: any site may read it
    return resp.make_conditional(request)
