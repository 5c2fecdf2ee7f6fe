"""The benchmark, in one command:

    .venv/bin/python bench/run.py [--scale 1.0] [--postgresql] [--runs 20] [--load-seconds 10] [--no-load]

For SQLite (and with --postgresql also for a throwaway PostgreSQL database on 127.0.0.1:5432) it generates
the data twice (bench/generate.py: at --scale and at a tenth of it) and, at each size, logs in as the right
role with the Flask test client and requests each key page (PAGES below) --runs times after two warm-ups:
p50 and p95 of the time spent in the app (wall clock around the request, in this process) and the number
of SQL queries of one request (SQLAlchemy's before_cursor_execute event). A Flask hello-world app is timed
the same way in the same run; each page is reported as a ratio to it. At the larger size it also times
ranking the call under review (compute_ranking, cold), one reminder pass (jobs.run_pass: the warm-up pass
that delivers, then a steady pass), the PDF of one contract and of one application, and the requests per
second of gunicorn -w 2 for a mixed workload (every page in turn, each as its role) and for the hello-world,
both driven by wrk (-t2 -c16).

Exit status 1 when a page's query count at the larger size is higher than at the smaller one (a query per
row somewhere), or when a page does not answer 200."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import ROOT, calibration_line, make_app, throwaway_database  # noqa: E402
from bench.generate import PASSWORD, Generated, generate  # noqa: E402

USER_AGENT = "grants-bench"


@dataclass(frozen=True)
class Page:
    name: str
    role: str | None                      # attribute of Generated naming the user; None: anonymous
    path: Callable[[Generated], str]
    api: bool = False                     # a JSON API list: called with a token of `role`, never a cookie


# The key page of every role. To add one: its name, whose login, and its URL from the generated ids.
PAGES = [
    Page("applicant dashboard (我的申报)", "applicant", lambda g: "/applications/mine"),
    Page("officer application list", "officer", lambda g: f"/calls/{g.review_call_id}/applications"),
    Page("expert review list (我的评审任务)", "expert", lambda g: "/reviews/tasks"),
    Page("ranking", "officer", lambda g: f"/reviews/calls/{g.review_call_id}/ranking"),
    Page("finance queue", "finance", lambda g: "/finance/payments"),
    Page("ledger", "finance", lambda g: f"/finance/ledger/{g.running_call_id}"),
    Page("programme dashboard (统计)", "officer", lambda g: "/dashboard/"),
    Page("public disclosure: calls", None, lambda g: "/disclosure"),
    Page("public disclosure: funded projects", None, lambda g: f"/disclosure/{g.running_call_id}"),
    # the staff search (bench/search.py times more queries): a project name, and a 2-character word (no index)
    Page("search: project name", "officer", lambda g: "/search?q=%E5%9F%BA%E5%87%86%E9%A1%B9%E7%9B%AE4242"),
    Page("search: 2 characters", "officer", lambda g: "/search?q=%E9%A1%B9%E7%9B%AE"),
    # Workbench (工作台) of every role, the other staff lists, the award draft and the exports (issue #19).
    Page("applicant workbench", "applicant", lambda g: "/workbench"),
    Page("officer workbench", "officer", lambda g: "/workbench"),
    Page("finance workbench", "finance", lambda g: "/workbench"),
    Page("expert workbench", "expert", lambda g: "/workbench"),
    Page("applicant contracts (我的合同)", "applicant", lambda g: "/contracts/mine"),
    Page("applicant notifications", "applicant", lambda g: "/notifications"),
    Page("application detail", "officer", lambda g: f"/applications/{g.application_id}"),
    Page("screening queue", "officer", lambda g: "/screening"),
    Page("calls list", "officer", lambda g: "/calls"),
    Page("review calls", "officer", lambda g: "/reviews/calls"),
    Page("review assignments", "officer", lambda g: f"/reviews/calls/{g.review_call_id}/assignments"),
    Page("review conflicts", "officer", lambda g: f"/reviews/calls/{g.review_call_id}/conflicts"),
    Page("review panel", "officer", lambda g: f"/reviews/calls/{g.review_call_id}/panel"),
    Page("expert pool", "officer", lambda g: "/reviews/experts"),
    Page("awards list", "officer", lambda g: "/awards"),
    Page("award draft (资助方案)", "officer", lambda g: f"/awards/calls/{g.review_call_id}"),
    Page("contracts list", "officer", lambda g: "/contracts"),
    Page("contract detail", "officer", lambda g: f"/contracts/{g.contract_id}"),
    Page("organisations", "officer", lambda g: "/organizations"),
    Page("dashboard drill-down", "officer", lambda g: "/dashboard/items?set=funded"),
    Page("ledgers", "finance", lambda g: "/finance/ledger"),
    Page("audit log", "officer", lambda g: "/audit"),
    Page("public calls", None, lambda g: "/public/calls"),
    Page("public notices", None, lambda g: "/public/notices"),
    Page("export: applications of a call (xlsx)", "officer",
         lambda g: f"/calls/{g.review_call_id}/applications.xlsx"),
    Page("export: score sheet (xlsx)", "officer", lambda g: f"/reviews/calls/{g.review_call_id}/scores.xlsx"),
    Page("export: ledger (xlsx)", "finance", lambda g: f"/finance/ledger/{g.running_call_id}/export.xlsx"),
    Page("export: dashboard (xlsx)", "officer", lambda g: "/dashboard/export.xlsx"),
    Page("open data: call CSV", None, lambda g: f"/disclosure/{g.running_call_id}.csv"),
    Page("open data: call 360Giving JSON", None, lambda g: f"/disclosure/{g.running_call_id}/360giving.json"),
    Page("open data: all grants CSV", None, lambda g: "/disclosure/grants.csv"),
    Page("open data: all grants 360Giving JSON", None, lambda g: "/disclosure/360giving.json"),
    # The JSON API's lists (issue: p95 ≤ 50 ms); each call also writes its audit row.
    Page("API: approved payments", "finance", lambda g: "/api/v1/payments?status=approved", api=True),
    Page("API: applications of a call", "officer", lambda g: f"/api/v1/applications?call_id={g.review_call_id}",
         api=True),
    Page("API: own applications", "applicant", lambda g: "/api/v1/applications", api=True),
    Page("API: contracts", "officer", lambda g: "/api/v1/contracts", api=True),
    Page("API: notifications", "officer", lambda g: "/api/v1/notifications", api=True),
    Page("API: public calls", None, lambda g: "/api/v1/calls", api=True),
    Page("API: public notices", None, lambda g: "/api/v1/notices", api=True),
]


class TokenClient:
    """A test client that sends a token instead of a cookie (the API ignores cookies)."""

    def __init__(self, app, username: str | None):
        self.client = app.test_client(use_cookies=False)
        self.headers = {}
        if username:
            from grants.accounts.models import User
            from grants.api.scopes import ALL_SCOPES
            from grants.api.services import create_token
            from grants.extensions import db

            with app.app_context():
                user = db.session.scalar(sa.select(User).where(User.username == username))
                _token, secret = create_token(user, name="bench", scopes=ALL_SCOPES, days=30, host_unit_id=None,
                                              actor=user)
                db.session.commit()
            self.headers = {"Authorization": f"Bearer {secret}"}

    def get(self, path):
        return self.client.get(path, headers=self.headers)



@dataclass
class PageResult:
    name: str
    path: str
    p50_ms: float
    p95_ms: float
    queries: int
    status: int


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


MAX_SECONDS_PER_PAGE = 30


def time_requests(client, path: str, runs: int) -> tuple[list[float], int]:
    """`runs` timed requests after two warm-ups; a page slower than a second gets at least 5 and stops after
    MAX_SECONDS_PER_PAGE."""
    for _ in range(2):
        resp = client.get(path)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        resp = client.get(path)
        resp.get_data()
        times.append((time.perf_counter() - t) * 1000)
        if len(times) >= 5 and sum(times) > MAX_SECONDS_PER_PAGE * 1000:
            break
    return times, resp.status_code


def hello_times(runs: int) -> list[float]:
    from bench.serve import hello

    times, status = time_requests(hello.test_client(), "/", runs)
    assert status == 200
    return times


def measure_pages(app, engine, g: Generated, runs: int) -> list[PageResult]:
    results = []
    clients = {}
    for page in PAGES:
        path = page.path(g)
        if page.api:
            key = ("api", page.role)
            if key not in clients:
                clients[key] = TokenClient(app, getattr(g, page.role) if page.role else None)
            client = clients[key]
        elif page.role not in clients:
            client = app.test_client()
            if page.role:
                resp = client.post("/login", data={"login": getattr(g, page.role), "password": PASSWORD})
                assert resp.status_code == 302, f"log-in as {page.role} failed ({resp.status_code})"
            clients[page.role] = client
        if not page.api:
            client = clients[page.role]
        times, status = time_requests(client, path, runs)
        statements: list[str] = []

        def on_exec(conn, cursor, statement, params, context, executemany):
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", on_exec)
        try:
            client.get(path).get_data()
        finally:
            sa.event.remove(engine, "before_cursor_execute", on_exec)
        results.append(PageResult(page.name, path, percentile(times, 50), percentile(times, 95), len(statements),
                                  status))
    return results


def time_ranking(db, g: Generated, runs: int = 3) -> tuple[float, int]:
    from grants.calls.models import Call
    from grants.reviews.services import compute_ranking

    times = []
    for _ in range(runs):
        db.session.remove()
        call = db.session.get(Call, g.review_call_id)
        t = time.perf_counter()
        rows = compute_ranking(call)
        times.append((time.perf_counter() - t) * 1000)
    db.session.remove()
    return statistics.median(times), len(rows)


def time_reminders(db) -> tuple[float, int, float]:
    from grants.core.timeutil import now
    from grants.reminders.jobs import run_pass

    at = now()
    db.session.remove()
    t = time.perf_counter()
    first = run_pass(at)
    first_ms = (time.perf_counter() - t) * 1000
    assert not first.errors, first.errors
    db.session.remove()
    t = time.perf_counter()
    steady = run_pass(at + dt.timedelta(minutes=1))
    steady_ms = (time.perf_counter() - t) * 1000
    assert not steady.errors, steady.errors
    db.session.remove()
    return first_ms, first.delivered, steady_ms


def time_pdfs(app, db, g: Generated, runs: int = 5) -> tuple[float, float]:
    from grants.applications.models import Application
    from grants.applications.views import OUTPUT_LABELS
    from grants.contracts.models import Contract
    from grants.contracts.views import contract_pdf_bytes
    from grants.core.pdf import render_pdf

    def median_ms(render) -> float:
        render()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            data = render()
            times.append((time.perf_counter() - t) * 1000)
        assert data.startswith(b"%PDF")
        return statistics.median(times)

    with app.test_request_context():
        contract = db.session.get(Contract, g.contract_id)
        application = db.session.get(Application, g.application_id)
        c = median_ms(lambda: contract_pdf_bytes(contract))
        a = median_ms(lambda: render_pdf("applications/pdf.html", a=application, call=application.call,
                                         output_labels=OUTPUT_LABELS))
    db.session.remove()
    return c, a


# --- gunicorn and wrk ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, target: str, env: dict[str, str]):
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning", target], cwd=ROOT, env={**os.environ, **env})
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn {target} did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def login_cookie(port: int, username: str) -> str:
    """The session cookie of a real log-in over HTTP (the User-Agent is part of the session's identity)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    data = urllib.parse.urlencode({"login": username, "password": PASSWORD}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/login", data=data, headers={"User-Agent": USER_AGENT})
    opener.open(req, timeout=30)
    jar = opener.handlers[-1].cookiejar if hasattr(opener.handlers[-1], "cookiejar") else None
    if jar is None:
        jar = next(h.cookiejar for h in opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor))
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    assert "session=" in cookies, "log-in over HTTP failed"
    return cookies


WRK_SCRIPT = """
local reqs = %s
local i = 0
request = function()
  i = i %% #reqs + 1
  local r = reqs[i]
  return wrk.format("GET", r[1], {["Cookie"] = r[2], ["User-Agent"] = "%s"})
end
"""


def wrk(port: int, seconds: int, script: str | None = None) -> dict:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "60s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(0) if errors else ""}


WRK_ONE = """
request = function()
  return wrk.format("GET", %s, {["Cookie"] = %s, ["User-Agent"] = "%s"})
end
"""


def load_test(url: str, tmp: str, g: Generated, seconds: int, page_seconds: int = 0) -> dict:
    if not shutil.which("wrk"):
        return {"skipped": "wrk not installed (apt-get install -y wrk)"}
    results = {}
    server = Gunicorn("bench.serve:hello", {})
    try:
        results["hello"] = wrk(server.port, seconds)
    finally:
        server.stop()
    server = Gunicorn("bench.serve:app", {"BENCH_DATABASE_URL": url, "BENCH_UPLOAD_DIR": f"{tmp}/uploads"})
    try:
        cookies = {}
        reqs = []
        for page in (p for p in PAGES if not p.api):  # the mixed load logs in with cookies
            if page.role and page.role not in cookies:
                cookies[page.role] = login_cookie(server.port, getattr(g, page.role))
            reqs.append([page.path(g), cookies.get(page.role, "")])
        lua = "{" + ",".join("{%s,%s}" % (json.dumps(p), json.dumps(c)) for p, c in reqs) + "}"
        script = Path(tmp) / "mixed.lua"
        script.write_text(WRK_SCRIPT % (lua, USER_AGENT))
        results["mixed"] = wrk(server.port, seconds, str(script))
        if page_seconds:
            # Each page alone under the same load, for its throughput ratio to the hello-world of this run.
            results["pages"] = {}
            for page, (path, cookie) in zip((p for p in PAGES if not p.api), reqs):
                one = Path(tmp) / "one.lua"
                one.write_text(WRK_ONE % (json.dumps(path), json.dumps(cookie), USER_AGENT))
                results["pages"][page.name] = wrk(server.port, page_seconds, str(one))
                print(f"  wrk {page.name:<40} {results['pages'][page.name]['rps']:9.1f} req/s", flush=True)
    finally:
        server.stop()
    return results


# --- one database ------------------------------------------------------------------------------------------

def run_database(postgresql: bool, scale: float, runs: int, load_seconds: int, pages_only: bool = False,
                 page_seconds: int = 0) -> dict:
    from grants.extensions import db

    report = {"database": "PostgreSQL" if postgresql else "SQLite", "sizes": {}}
    for size in (scale / 10, scale):
        with throwaway_database(postgresql) as (url, tmp):
            app = make_app(url, tmp)
            with app.app_context():
                g = generate(db, size)
                db.session.remove()
                engine = db.engine
            # Requests run outside any app context: each gets its own, with its own session and `g`.
            hello = hello_times(runs)
            pages = measure_pages(app, engine, g, runs)
            entry = {"generated": g, "hello_p50": percentile(hello, 50), "hello_p95": percentile(hello, 95),
                     "pages": pages, "calibration": calibration_line()}
            print(f"[{report['database']} scale {size:g}] built in {g.built_s:.0f} s; {entry['calibration']}",
                  flush=True)
            for r in pages:
                print(f"  {r.name:<36} p50 {r.p50_ms:8.1f} ms  p95 {r.p95_ms:8.1f} ms  {r.queries:3d} queries"
                      f"  HTTP {r.status}", flush=True)
            if size == scale and not pages_only:
                with app.app_context():
                    entry["ranking_ms"], entry["ranking_rows"] = time_ranking(db, g)
                    entry["pdf_contract_ms"], entry["pdf_application_ms"] = time_pdfs(app, db, g)
                    db.engine.dispose()
                if load_seconds:
                    entry["load"] = load_test(url, tmp, g, load_seconds, page_seconds)
                    entry["load_calibration"] = calibration_line()
                with app.app_context():
                    # Last: the warm-up pass writes thousands of notifications.
                    entry["reminder_first_ms"], entry["reminder_delivered"], entry["reminder_steady_ms"] = \
                        time_reminders(db)
                entry["end_calibration"] = calibration_line()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            report["sizes"][size] = entry
    return report


def markdown(reports: list[dict], scale: float, pages_only: bool = False) -> tuple[str, list[str]]:
    problems = []
    small, big = scale / 10, scale
    lines = []
    head = "| page | URL | " + " | ".join(
        f"{r['database']} p50 ms | p95 ms | queries | ×hello p50" for r in reports) + " |"
    lines += [head, "|" + "---|" * (2 + 4 * len(reports))]
    for i, page in enumerate(reports[0]["sizes"][big]["pages"]):
        url = re.sub(r"/\d+(?=[/.?]|$)", "/<id>", page.path)
        cells = [page.name, f"`{url}`"]
        for r in reports:
            b, s = r["sizes"][big], r["sizes"][small]
            pb, ps = b["pages"][i], s["pages"][i]
            grows = pb.queries > ps.queries
            if grows:
                problems.append(f"{r['database']}: {pb.name} runs {ps.queries} queries at scale {small:g} "
                                f"and {pb.queries} at scale {big:g}")
            if pb.status != 200 or ps.status != 200:
                problems.append(f"{r['database']}: {pb.name} answered HTTP {ps.status} / {pb.status}")
            q = f"{pb.queries}" + (f" (**{ps.queries} at ×0.1**)" if grows else "")
            cells += [f"{pb.p50_ms:.1f}", f"{pb.p95_ms:.1f}", q, f"{pb.p50_ms / b['hello_p50']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    hello_cells = ["Flask hello-world (baseline)", "`/`"]
    for r in reports:
        b = r["sizes"][big]
        hello_cells += [f"{b['hello_p50']:.2f}", f"{b['hello_p95']:.2f}", "0", "1"]
    lines.append("| " + " | ".join(hello_cells) + " |")
    if pages_only:
        return "\n".join(lines), problems
    lines.append("")
    lines.append("| measurement | " + " | ".join(r["database"] for r in reports) + " |")
    lines.append("|---|" + "---|" * len(reports))

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(r["sizes"][big]) for r in reports) + " |")

    row("rank the call under review (compute_ranking, cold, median of 3)",
        lambda b: f"{b['ranking_ms']:.0f} ms ({b['ranking_rows']:,} applications)")
    row("one reminder pass: first (delivers) / steady",
        lambda b: f"{b['reminder_first_ms']:.0f} ms ({b['reminder_delivered']:,} reminders) / "
                  f"{b['reminder_steady_ms']:.0f} ms")
    row("PDF: contract / application (median of 5)",
        lambda b: f"{b['pdf_contract_ms']:.0f} ms / {b['pdf_application_ms']:.0f} ms")

    def load(b, key):
        lt = b.get("load")
        if not lt:
            return "not run"
        if "skipped" in lt:
            return lt["skipped"]
        x = lt[key]
        extra = f", {x['non_2xx']} non-2xx" if x["non_2xx"] else ""
        return f"{x['rps']:.1f} req/s{extra}"

    row("gunicorn -w 2, wrk -t2 -c16: mixed workload (the pages above in turn)", lambda b: load(b, "mixed"))
    row("gunicorn -w 2, wrk -t2 -c16: Flask hello-world", lambda b: load(b, "hello"))
    row("calibration when the pages were timed", lambda b: re.sub(r"machine calibration: |\(about.*?\); ", "",
                                                                   b["calibration"]))
    row("calibration after the load test / at the end", lambda b: re.sub(
        r"machine calibration: |\(about.*?\); ", "", b.get("load_calibration", "-")) + " / " + re.sub(
        r"machine calibration: |\(about.*?\); ", "", b["end_calibration"]))
    for r in reports:
        for size in (small, big):
            g = r["sizes"][size]["generated"]
            lines.append("")
            lines.append(f"{r['database']} at scale {size:g} (built in {g.built_s:.0f} s): " +
                         ", ".join(f"{v:,} {k}" for k, v in g.counts.items()))
    for r in reports:
        lt = r["sizes"][big].get("load") or {}
        if lt.get("pages"):
            hello = lt["hello"]["rps"]
            lines += ["", f"{r['database']}, scale {big:g}: each page alone under gunicorn -w 2, wrk -t2 -c16 "
                          f"(hello-world {hello:,.0f} req/s in the same run)", "",
                      "| page | req/s | ratio to hello-world | non-2xx |", "|---|---|---|---|"]
            for name, x in lt["pages"].items():
                ratio = f"1/{hello / x['rps']:,.0f}" if x["rps"] else "—"
                lines.append(f"| {name} | {x['rps']:,.1f} | {ratio} | {x['non_2xx']} |")
    if any(r["sizes"][big]["pages"][i].status != 200 for r in reports for i in range(len(PAGES))):
        problems.append("a page did not answer 200")
    return "\n".join(lines), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--postgresql", action="store_true", help="also on a throwaway PostgreSQL database")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load-seconds", type=int, default=10)
    parser.add_argument("--no-load", action="store_true", help="skip gunicorn and wrk")
    parser.add_argument("--page-load-seconds", type=int, default=3,
                        help="wrk on each page alone for this long (0: only the mixed workload)")
    parser.add_argument("--only-postgresql", action="store_true", help="skip SQLite (implies --postgresql)")
    parser.add_argument("--pages", default="", help="only the pages whose name contains one of these "
                        "comma-separated words; no ranking, reminder, PDF or load figures")
    args = parser.parse_args()
    if args.pages:
        words = [w.strip() for w in args.pages.split(",") if w.strip()]
        PAGES[:] = [p for p in PAGES if any(w in p.name for w in words)]
        args.no_load = args.pages_only = True
    else:
        args.pages_only = False
    started = time.time()
    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.platform()}; "
          f"python {platform.python_version()}; " + calibration_line(), flush=True)
    load = 0 if args.no_load else args.load_seconds
    reports = [] if args.only_postgresql else [
        run_database(False, args.scale, args.runs, load, args.pages_only, args.page_load_seconds)]
    if args.postgresql or args.only_postgresql:
        reports.append(run_database(True, args.scale, args.runs, load, args.pages_only, args.page_load_seconds))
    table, problems = markdown(reports, args.scale, args.pages_only)
    print()
    print(table)
    print(f"\n(total {time.time() - started:.0f} s)")
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
