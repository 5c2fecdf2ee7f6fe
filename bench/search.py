"""The staff search at province scale: p50/p95 of /search for typical and worst-case queries.

    .venv/bin/python bench/search.py [--postgresql] [--scale 1.0] [--runs 20] [--url URL]

Builds the benchmark data (bench/generate.py: 50,000 applications, 20,000 organisations, 10,000 contracts at
--scale 1) in a throwaway database, or with --url reuses a database it built before (the schema is upgraded
first, so the search's indexes are built over the existing rows). The generated texts are all alike ("项目简介"
twenty times), so 1 application in 50 gets a sentence about 楼道 in its description and 1 in 500 a name with
楼道 in it: a word with a realistic number of matches beside the worst cases (a word in every row). Each query is
requested as the city officer (every call in scope) with the Flask test client, `--runs` times after two
warm-ups: p50 and p95 of the wall-clock time in the app, the SQL queries of one request and the number of
results. Target (issue #17): p95 under 150 ms on PostgreSQL."""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import calibration_line, make_app, throwaway_database  # noqa: E402
from bench.generate import PASSWORD, generate  # noqa: E402
from bench.run import percentile, time_requests  # noqa: E402

OFFICER = "bench_officer"


def vary_texts(db) -> None:
    """Give some applications realistic words (once per database)."""
    from grants.applications.models import Application

    if db.session.scalar(sa.select(sa.func.count()).where(Application.summary.contains("楼道"))):
        return
    db.session.execute(sa.update(Application).where(Application.id % 50 == 0).values(
        summary=Application.summary + "在老旧小区楼道开展微更新，组织居民议事，美化公共空间。"))
    db.session.execute(sa.update(Application).where(Application.id % 500 == 7).values(
        project_name="楼道花园" + sa.cast(Application.id, sa.String)))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE application"))


def queries(db) -> list[tuple[str, str, str]]:
    """(what, query text, URL) with numbers and names taken from the data: the search page, then the lists'
    search boxes (the call under review's application list, the organisations, the contracts)."""
    from grants.applications.models import Application
    from grants.calls.models import Call
    from grants.contracts.models import Contract
    from grants.organizations.models import Organization

    app_number = db.session.scalar(sa.select(Application.number).where(Application.number.is_not(None))
                                   .order_by(Application.id.desc()).limit(1))
    contract_number = db.session.scalar(sa.select(Contract.number).order_by(Contract.id).limit(1))
    org_name = db.session.scalar(sa.select(Organization.name).order_by(Organization.id.desc()).limit(1))
    project = db.session.scalar(sa.select(Application.project_name).where(Application.id == 4242))
    review_call = db.session.scalar(sa.select(sa.func.max(Call.id)))
    search = [
        ("application number (exact)", app_number),
        ("contract number (exact)", contract_number),
        ("number prefix", app_number[:-2]),
        ("project name", project),
        ("organisation name", org_name),
        ("2-character word, 1,100 matches (楼道)", "楼道"),
        ("6-character phrase, 1,000 matches (老旧小区楼道)", "老旧小区楼道"),
        ("two words", "楼道 议事"),
        ("fields: year + status + word", "年度:2025 状态:已立项 楼道"),
        ("field org: + word", f"机构:{org_name} 项目"),
        ("no match, 2 characters", "阁楼"),
        ("no match, 4 characters", "垃圾分类"),
        ("worst case: a word in every row (项目简介)", "项目简介"),
        ("worst case: 2 characters in every row (项目)", "项目"),
    ]
    rows = [(what, text, "/search?" + urllib.parse.urlencode({"q": text})) for what, text in search]
    lists = [
        ("application list of a call: number", f"/calls/{review_call}/applications", app_number),
        ("application list of a call: 楼道", f"/calls/{review_call}/applications", "楼道"),
        ("organisations list: name", "/organizations", org_name),
        ("contracts list: 2 characters", "/contracts", "项目"),
    ]
    rows += [(what, text, f"{url}?" + urllib.parse.urlencode({"q": text})) for what, url, text in lists]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url", help="reuse this database (built by an earlier run) instead of a new one")
    args = parser.parse_args()
    from grants.extensions import db

    def measure(app):
        with app.app_context():
            vary_texts(db)
            qs = queries(db)
            engine = db.engine
            dialect = engine.dialect.name
            db.session.remove()
        client = app.test_client()
        resp = client.post("/login", data={"login": OFFICER, "password": PASSWORD})
        assert resp.status_code == 302, resp.status_code
        print(f"database: {dialect}; {calibration_line()}", flush=True)
        print(f"Python {platform.python_version()}", flush=True)
        print("| query | q | p50 ms | p95 ms | queries | results |")
        print("|---|---|---|---|---|---|")
        worst = 0.0
        for what, text, path in qs:
            times, status = time_requests(client, path, args.runs)
            assert status == 200, (path, status)
            statements: list[str] = []

            def on_exec(conn, cursor, statement, *rest):
                statements.append(statement)

            sa.event.listen(engine, "before_cursor_execute", on_exec)
            try:
                body = client.get(path).get_data(as_text=True)
            finally:
                sa.event.remove(engine, "before_cursor_execute", on_exec)
            found = "" if not path.startswith("/search") else \
                body.split('id="search-tabs"', 1)[-1].split("badge text-bg-secondary\">", 1)[-1].split("<", 1)[0]
            p50, p95 = percentile(times, 50), percentile(times, 95)
            worst = max(worst, p95)
            print(f"| {what} | `{text}` | {p50:.1f} | {p95:.1f} | {len(statements)} | {found} |", flush=True)
        print(f"slowest p95: {worst:.1f} ms; {calibration_line()}")

    if args.url:
        measure(make_app(args.url, tempfile.mkdtemp(prefix="grants-bench-")))
        return 0
    with throwaway_database(args.postgresql) as (url, tmp):
        app = make_app(url, tmp)
        with app.app_context():
            g = generate(db, args.scale)
            print(f"built in {g.built_s:.0f} s: {g.counts}", flush=True)
            db.session.remove()
        measure(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
