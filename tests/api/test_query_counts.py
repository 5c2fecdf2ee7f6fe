"""Every API list costs the same number of queries for 1 row as for a full page (no N+1)."""
from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from grants.reminders.models import Notification
from tests import factories
from tests.applications import factories as app_factories
from tests.finance import factories as finance_factories


@pytest.fixture()
def count_queries(app, db):
    @contextlib.contextmanager
    def _count():
        counter = type("Counter", (), {"count": 0})()

        def _before(*_args, **_kwargs):
            counter.count += 1

        sa.event.listen(db.engine, "before_cursor_execute", _before)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", _before)

    return _count


def _cost(api, secret, path, count_queries) -> tuple[int, int]:
    """(queries, rows) of one call."""
    with count_queries() as n:
        resp = api(secret).get(path)
    assert resp.status_code == 200, (path, resp.get_json())
    return n.count, len(resp.get_json()["items"])


def test_lists_have_fixed_query_counts(app, db, api, make_token, count_queries):
    unit = factories.host_unit()
    call = finance_factories.funded_call(unit)
    officer = factories.user(roles=("officer",), unit=unit)
    finance = factories.user(roles=("finance",), unit=unit)
    member = factories.member(factories.organization())
    open_call = app_factories.call(unit)

    def grow(n):
        for _ in range(n):
            finance_factories.active_contract(call, officer=officer)
            app_factories.application(open_call, status="submitted", complete=False)
            db.session.add(Notification(user_id=officer.id, kind="general", title="通知", link="/"))
            db.session.add(Notification(user_id=member.id, kind="general", title="通知", link="/"))
        db.session.commit()

    paths = {
        "/api/v1/payments": finance, "/api/v1/contracts": officer, "/api/v1/notifications": officer,
        f"/api/v1/applications?call_id={open_call.id}": officer, "/api/v1/organizations": finance,
        "/api/v1/calls": None,
    }
    grow(1)
    tokens = {user: make_token(user) if user else None for user in set(paths.values())}
    before = {p: _cost(api, tokens[u], p, count_queries) for p, u in paths.items()}
    grow(5)
    after = {p: _cost(api, tokens[u], p, count_queries) for p, u in paths.items()}
    for p in paths:
        assert after[p][1] > before[p][1] or p == "/api/v1/calls", p  # more rows …
        assert after[p][0] == before[p][0], (p, before[p], after[p])  # … for the same number of queries
