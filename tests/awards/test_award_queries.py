"""The award pages load with a fixed number of queries whatever the number of awards and objections."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.awards import services
from grants.core import timeutil
from grants.core.timeutil import SHANGHAI
from tests.awards import factories as af


def _count(db, fn) -> int:
    n = 0

    def on_exec(*_args, **_kw):
        nonlocal n
        n += 1

    sa.event.listen(db.engine, "before_cursor_execute", on_exec)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_exec)
    return n


def _published(app, db, monkeypatch, n_apps: int):
    call = af.scored_call(sources=(("welfare_lottery", 10_000_000_00), ("charity", 5_000_000_00)),
                          categories=(("为老服务", None),))
    apps = [af.scored_application(call, requested_fen=10_000_00 + i) for i in range(n_apps)]
    af.use_ranking(monkeypatch, apps)
    a, b = af.officers(call)
    with app.test_request_context():
        services.propose_awards(call, a)
        services.approve_awards(call, b)
        notice = services.publish_notice(call, a)
        timeutil.set_clock(dt.datetime.combine(notice.starts_on, dt.time(9, 0), tzinfo=SHANGHAI))
        for app in apps[:n_apps // 2]:
            services.file_objection(notice, app, name="某人", contact="1", content="异议内容异议内容异议内容")
    db.session.commit()
    return call, a


def test_pages_use_a_fixed_number_of_queries(app, client, db, login_as, monkeypatch, clock):
    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    counts = []
    for n in (2, 12):
        call, officer = _published(app, db, monkeypatch, n)
        login_as(officer)
        db.session.expire_all()
        row = {}
        for name, url in [("draft", f"/awards/calls/{call.id}"), ("notice", f"/awards/calls/{call.id}/notice"),
                          ("public", f"/public/notices/{call.id}")]:
            def get(url=url):
                resp = client.get(url)
                assert resp.status_code == 200
            row[name] = _count(db, get)
        counts.append(row)
    assert counts[0] == counts[1], counts
