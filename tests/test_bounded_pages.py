"""Every page is bounded: no staff page's HTML grows with the size of the programme.

The benchmark's generator (bench/generate.py) builds the same programme at two sizes, the second ten times the
first (applications, reviews, organisations, contracts, payments…); each HTML page the benchmark measures
(bench/run.py PAGES: every role's pages, not the exports and open data files, which are the data) is rendered
as its role at both sizes. A list that is not paginated, or a page listing a growing set (every expert, every
call's applications…), grows about tenfold; a paginated one stays within a few per cent (wider numbers, more
page links). Slow: it builds two databases (run once, in the PostgreSQL pass)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

SMALL, BIG = 0.005, 0.05
# Allowed growth from SMALL to BIG: a page may grow by this factor plus this many bytes (page links, the
# widths of counts and amounts), far below the tenfold of an unbounded list.
FACTOR, SLACK = 1.3, 6_000
MAX_BYTES = 150_000  # one page of 100 ranked applications is about 85 KB
NOT_HTML = ("export:", "open data:", "API:")
# Found unbounded by this test and not paginated yet (grants/reviews, being reworked on the same branch): each
# lists a whole call's applications or panel. Listed so that the rest stays guarded; the test fails as soon as
# one of them is bounded, so that it is taken off this list.
# Paginated lists that do not fill one page even at the big size (no pager shows): held to MAX_BYTES only.
NOT_FULL_AT_BIG = {"expert review list (我的评审任务)"}  # TASKS_PER_PAGE 100; an expert has ~35 tasks at BIG
KNOWN_UNBOUNDED = {"review assignments", "review conflicts", "review panel"}


def _sizes(scale: float, postgresql: bool) -> dict[str, tuple[int, int, str]]:
    from bench.common import make_app, throwaway_database
    from bench.generate import PASSWORD, generate
    from bench.run import PAGES
    from grants.extensions import db

    out = {}
    with throwaway_database(postgresql) as (url, tmp):
        app = make_app(url, tmp)
        with app.app_context():
            g = generate(db, scale)
            db.session.remove()
        clients = {}
        try:
            for page in PAGES:
                if page.name.startswith(NOT_HTML):
                    continue
                if page.role not in clients:
                    client = clients[page.role] = app.test_client()
                    if page.role:
                        r = client.post("/login", data={"login": getattr(g, page.role), "password": PASSWORD})
                        assert r.status_code == 302, page.role
                r = clients[page.role].get(page.path(g))
                body = r.get_data()
                out[page.name] = (r.status_code, len(body), page.path(g), b'class="pagination' in body)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return out


def test_no_staff_page_grows_with_the_data(app):
    from tests.conftest import DB_KIND

    postgresql = DB_KIND == "postgresql"
    small, big = _sizes(SMALL, postgresql), _sizes(BIG, postgresql)
    assert small.keys() == big.keys() and len(small) > 30
    report, grown = [], []
    for name, (status, size, path, _pager) in small.items():
        big_status, big_size, _path, paged = big[name]
        assert status == big_status == 200, (name, path, status, big_status)
        report.append(f"{name}: {size:,} → {big_size:,} bytes{' (paginated)' if paged else ''}")
        unbounded = big_size > size * FACTOR + SLACK and not (
            (paged or name in NOT_FULL_AT_BIG) and big_size <= MAX_BYTES)
        if unbounded != (name in KNOWN_UNBOUNDED):
            grown.append(f"{name} ({path}): {size:,} bytes at scale {SMALL} and {big_size:,} at {BIG}"
                         + ("" if unbounded else " — bounded now: take it off KNOWN_UNBOUNDED"))
    print("\n".join(report))
    assert not grown, "pages that grow with the data:\n" + "\n".join(grown)
