"""Calls and applications as the reminder rules see them."""
from __future__ import annotations

import datetime as dt
import itertools

from grants.applications.models import Application, ApplicationStatus
from grants.calls.models import Call, CallStatus
from grants.extensions import db
from tests import factories

_seq = itertools.count(1)


def call(*, close_at: dt.datetime, unit=None, status: str = CallStatus.PUBLISHED, **kwargs) -> Call:
    unit = unit or factories.host_unit()
    c = Call(host_unit_id=unit.id, title=kwargs.pop("title", f"测试公益创投活动{next(_seq)}"), year=close_at.year,
             level=unit.level, status=status, open_at=close_at - dt.timedelta(days=30), close_at=close_at,
             published_at=close_at - dt.timedelta(days=30) if status != CallStatus.DRAFT else None, **kwargs)
    db.session.add(c)
    db.session.flush()
    return c


def application(call: Call, org, *, status: str = ApplicationStatus.DRAFT, author=None,
                return_deadline_at: dt.datetime | None = None, **kwargs) -> Application:
    n = next(_seq)
    app = Application(call_id=call.id, organization_id=org.id, project_name=kwargs.pop("project_name", f"测试项目{n}"),
                      status=status, created_by_id=author.id if author else None,
                      return_deadline_at=return_deadline_at, **kwargs)
    if status != ApplicationStatus.DRAFT:
        app.number = f"T-{call.id}-{n}"
        app.submitted_at = call.open_at + dt.timedelta(days=1)
    db.session.add(app)
    db.session.flush()
    return app
