"""The deadline rush: N organisations each save their draft a few times and submit in the last minutes, driven
by 64 concurrent clients against `gunicorn -w 4` on PostgreSQL. A measurement, not a test.

    .venv/bin/python bench/deadline_rush.py [--orgs 2000] [--clients 64] [--workers 4] [--saves 2]

Built first (not timed): one published call, N verified organisations with one applicant each and one complete
draft each (what the submit checks want, the registration certificate uploaded). Then every client takes
organisations from a queue: logs in (timed apart), and per organisation GETs the form, POSTs it back `--saves`
times as 保存草稿 (a field changed) and once as 提交申报. While it runs, pg_stat_activity is sampled every 100
ms: how many backends wait, and on what (the audit chain's advisory lock, a row, a transaction).

At the end the database is checked: every submission a client saw accepted is submitted exactly once (one number,
one `submit` audit row), none is lost, the numbers are 1…n without repeats, and `audit verify` passes. Last,
the deadline: 64 more organisations log in and load their form, then the call's close_at is set three seconds
ahead and they submit spread over the second before and after it; every accepted submission must carry a time
before close_at, none after it (a request sent just before it may still arrive after it and be refused).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import queue
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.common import calibration_line, make_app, throwaway_database  # noqa: E402

UTC = dt.timezone.utc
DEADLINE_ORGS = 64


# --- the app under gunicorn --------------------------------------------------------------------

def _serve_app():
    from config import Config
    from grants import create_app

    class RushConfig(Config):
        SQLALCHEMY_DATABASE_URI = os.environ["RUSH_DATABASE_URL"]
        UPLOAD_DIR = os.environ["RUSH_UPLOAD_DIR"]
        SECRET_KEY = "rush-secret-" + "x" * 32
        WTF_CSRF_ENABLED = False  # the clients post plain forms
        RATE_LIMITS = False  # 64 clients from one address
        CAPTCHA_ENABLED = False
        TWO_FACTOR_ROLES = frozenset()
        AUDIT_KEY = "rush-audit-key"

    return create_app(RushConfig)


def __getattr__(name: str):
    if name == "app":
        globals()["app"] = _serve_app()
        return globals()["app"]
    raise AttributeError(name)


# --- data ----------------------------------------------------------------------------------------

def build(db, n_orgs: int, close_at: dt.datetime) -> tuple[int, list[tuple[str, int]]]:
    from tests import factories
    from tests.applications import factories as af

    unit = factories.host_unit(name="南通市民政局（压测）")
    call = af.call(unit, close_at=close_at, max_applications_per_org=1)
    db.session.commit()
    users = []
    for i in range(n_orgs):
        org = factories.organization(unit=unit, name=f"压测社会组织{i:05d}")
        user = factories.member(org, username=f"rush{i:05d}")
        application = af.application(call, org, complete=True)
        users.append((user.username, application.id))
        if i % 200 == 199:
            db.session.commit()
            print(f"  {i + 1} organisations", flush=True)
    db.session.commit()
    return call.id, users


# --- the clients ---------------------------------------------------------------------------------

class FormFields(HTMLParser):
    """The fields of the form holding the 保存草稿/提交申报 buttons, with their current values."""

    def __init__(self):
        super().__init__()
        self.forms, self.current, self.textarea, self.select = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = []
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("file", "submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.current.append((a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]
        elif tag == "select" and a.get("name"):
            self.select = [a["name"], None]
        elif tag == "option" and self.select is not None and ("selected" in a or self.select[1] is None):
            if "selected" in a or self.select[1] is None:
                self.select[1] = a.get("value", "")
        elif tag == "button" and a.get("name") == "action":
            self.current.append(("__has_action__", ""))

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea is not None and self.current is not None:
            self.current.append(tuple(self.textarea))
            self.textarea = None
        elif tag == "select" and self.select is not None and self.current is not None:
            self.current.append((self.select[0], self.select[1] or ""))
            self.select = None
        elif tag == "form":
            self.current = None

    def fields(self) -> list[tuple[str, str]]:
        for form in self.forms:
            if ("__has_action__", "") in form:
                return [f for f in form if f[0] != "__has_action__"]
        return []


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.accepted: list[int] = []
        self.refused: list[int] = []
        self.submit_done: list[float] = []

    def add(self, kind: str, seconds: float, ok: bool, detail: str = ""):
        with self.lock:
            self.times.setdefault(kind, []).append(seconds)
            if not ok:
                key = f"{kind}: {detail}"
                self.errors[key] = self.errors.get(key, 0) + 1


def _timed(stats: Stats, kind: str, fn):
    t0 = time.perf_counter()
    try:
        resp = fn()
    except requests.RequestException as exc:
        stats.add(kind, time.perf_counter() - t0, False, type(exc).__name__)
        return None
    return resp, time.perf_counter() - t0


def rush_org(base: str, username: str, app_id: int, saves: int, stats: Stats, deadline_phase: bool = False,
             submit_at=None) -> None:
    """One organisation: log in, (GET the form, POST it) `saves` times as a draft, then GET and submit. In the
    deadline phase `submit_at()` blocks until every late client has its form and says when to send."""
    s = requests.Session()
    r = _timed(stats, "login", lambda: s.post(f"{base}/login", data={"login": username, "password": "Passw0rd!"},
                                              allow_redirects=False, timeout=60))
    if r is None:
        return
    resp, secs = r
    stats.add("login", secs, resp.status_code == 302, str(resp.status_code))
    if resp.status_code != 302:
        return
    edit = f"{base}/applications/{app_id}/edit"
    fields = []
    for i in range(saves + 1):
        r = _timed(stats, "form GET", lambda: s.get(edit, timeout=60))
        if r is None:
            return
        resp, secs = r
        stats.add("form GET", secs, resp.status_code == 200, str(resp.status_code))
        parser = FormFields()
        parser.feed(resp.text)
        fields = parser.fields()
        if not fields:
            stats.add("form GET", 0, False, "no form")
            return
        fields = [(k, (v + f" {i}") if k == "objectives" else v) for k, v in fields]
        last = i == saves
        if last and submit_at is not None:
            time.sleep(max(0.0, submit_at() - time.time()))
        kind = "submit POST" if last else "save POST"
        sent = time.time()
        r = _timed(stats, kind, lambda: s.post(edit, data=[*fields, ("action", "submit" if last else "save")],
                                               allow_redirects=False, timeout=60))
        if r is None:
            return
        resp, secs = r
        if last:
            ok = resp.status_code == 302 and re.search(rf"/applications/{app_id}$", resp.headers.get("Location", ""))
            if deadline_phase:
                stats.add(kind, secs, True)
                with stats.lock:
                    (stats.accepted if ok else stats.refused).append((app_id, sent))
                return
            stats.add(kind, secs, bool(ok), f"{resp.status_code} {resp.headers.get('Location', '')[:40]}")
            if ok:
                with stats.lock:
                    stats.accepted.append(app_id)
                    stats.submit_done.append(time.perf_counter())
        else:
            stats.add(kind, secs, resp.status_code == 302, str(resp.status_code))


def sample_waits(url: str, stop: threading.Event, out: list) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with engine.connect() as conn:
        while not stop.is_set():
            rows = conn.execute(sa.text(
                "SELECT state, wait_event_type, wait_event, "
                "(SELECT string_agg(DISTINCT l.locktype, ',') FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted) "
                "FROM pg_stat_activity a WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name}).all()
            out.append(rows)
            time.sleep(0.1)
    engine.dispose()


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--saves", type=int, default=2)
    args = parser.parse_args()
    print(f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {calibration_line()}", flush=True)
    with throwaway_database(postgresql=True) as (url, tmp):
        app = make_app(url, tmp)
        with app.app_context():
            from grants.extensions import db

            t0 = time.perf_counter()
            close_at = dt.datetime.now(UTC) + dt.timedelta(hours=2)
            call_id, users = build(db, args.orgs + DEADLINE_ORGS, close_at)
            print(f"built {len(users)} organisations with drafts in {time.perf_counter() - t0:.0f} s", flush=True)
            db.session.remove()
            db.engine.dispose()
        port = _free_port()
        env = {**os.environ, "RUSH_DATABASE_URL": url, "RUSH_UPLOAD_DIR": f"{tmp}/uploads",
               "GUNICORN_ACCESS_LOG": "/dev/null", "MAX_REQUESTS": "0", "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", str(args.workers),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning", "bench.deadline_rush:app"],
            cwd=ROOT, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.3)
            rush, late = users[:args.orgs], users[args.orgs:]
            stats = Stats()
            work: queue.Queue = queue.Queue()
            for item in rush:
                work.put(item)

            def client():
                while True:
                    try:
                        username, app_id = work.get_nowait()
                    except queue.Empty:
                        return
                    rush_org(base, username, app_id, args.saves, stats)

            stop, waits = threading.Event(), []
            sampler = threading.Thread(target=sample_waits, args=(url, stop, waits))
            sampler.start()
            load0 = os.getloadavg()
            t0 = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            stop.set()
            sampler.join()
            load1 = os.getloadavg()

            # The deadline, to the second: once every late client is logged in with its form loaded, the call
            # closes at the next whole second plus three, and the submissions are sent spread over ±1 s around it.
            engine = sa.create_engine(url)
            late_stats = Stats()
            plan = {}

            def set_deadline():
                plan["deadline"] = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
                with engine.begin() as conn:
                    conn.execute(sa.text("UPDATE call SET close_at = :c WHERE id = :i"),
                                 {"c": plan["deadline"], "i": call_id})

            ready = threading.Barrier(len(late), action=set_deadline, timeout=600)

            def when(i):
                def at():
                    ready.wait()
                    return plan["deadline"].timestamp() - 1 + 2 * i / len(late)
                return at

            late_threads = [threading.Thread(target=rush_org, args=(base, u, a, 0, late_stats, True, when(i)))
                            for i, (u, a) in enumerate(late)]
            for t in late_threads:
                t.start()
            for t in late_threads:
                t.join()
            deadline = plan["deadline"]

            report(args, engine, call_id, stats, late_stats, deadline, elapsed, waits, load0, load1, rush, late)
            engine.dispose()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return 0


def report(args, engine, call_id, stats, late_stats, deadline, elapsed, waits, load0, load1, rush, late):
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT a.id, a.status, a.number, a.submitted_at, "
            "(SELECT count(*) FROM audit_log l WHERE l.object_type = 'application' "
            " AND l.object_id = CAST(a.id AS VARCHAR) AND l.action LIKE '%submit%') "
            "FROM application a WHERE a.call_id = :c"), {"c": call_id}).all()
    by_id = {r[0]: r for r in rows}
    rush_ids = {a for _u, a in rush}
    submitted = [r for r in rows if r[0] in rush_ids and r[1] == "submitted"]
    accepted = set(stats.accepted)
    lost = [a for a in accepted if by_id[a][1] != "submitted"]
    unseen = [r[0] for r in submitted if r[0] not in accepted]
    doubled = [r[0] for r in rows if r[4] > 1]
    numbers = [r[2] for r in rows if r[2]]
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    submits = stats.times.get("submit POST", [])
    done = sorted(stats.submit_done)
    # Throughput over the busy part: from the first to the last accepted submission.
    rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 else 0.0
    print(f"\n{args.orgs} organisations, {args.clients} clients, gunicorn -w {args.workers}, {args.saves} saves each; "
          f"{elapsed:.1f} s in all; load average {load0[0]:.1f} before, {load1[0]:.1f} {load1[1]:.1f} after")
    print(f"submissions accepted: {len(accepted)}; {rate:.1f} submissions/s between the first and the last; "
          f"all requests {sum(len(v) for v in stats.times.values()) / elapsed:.1f}/s")
    for kind in ("login", "form GET", "save POST", "submit POST"):
        v = [x * 1000 for x in stats.times.get(kind, [])]
        if v:
            print(f"  {kind:12s} n={len(v):5d}  p50 {pct(v, 50):7.0f} ms  p95 {pct(v, 95):7.0f} ms  "
                  f"p99 {pct(v, 99):7.0f} ms  max {max(v):7.0f} ms")
    print(f"errors: {sum(stats.errors.values())} {dict(sorted(stats.errors.items())[:8])}")
    print(f"lost (accepted, not submitted in the database): {len(lost)}; submitted without the client knowing: "
          f"{len(unseen)}; doubled (more than one submit audit row): {len(doubled)}; numbers: {len(numbers)} "
          f"distinct {len(set(numbers))}, 1…{seqs[-1] if seqs else 0} without gaps: {seqs == list(range(1, len(seqs) + 1))}")
    samples = [s for s in waits if s]
    if samples:
        def share(pred):
            return statistics.mean(sum(1 for r in s if pred(r)) for s in samples)
        print(f"pg_stat_activity, {len(samples)} samples: backends active {share(lambda r: r[0] == 'active'):.1f}, "
              f"waiting on the advisory lock {share(lambda r: r[2] == 'advisory'):.1f}, "
              f"on a row/transaction {share(lambda r: r[2] in ('tuple', 'transactionid')):.1f}, "
              f"other locks {share(lambda r: r[1] == 'Lock' and r[2] not in ('advisory', 'tuple', 'transactionid')):.1f}, "
              f"idle in transaction {share(lambda r: r[0] == 'idle in transaction'):.1f}")
    with engine.connect() as conn:
        late_rows = {r[0]: r for r in conn.execute(sa.text(
            "SELECT id, status, submitted_at FROM application WHERE id = ANY(:ids)"), {"ids": [a for _u, a in late]})}
    ok_times = [late_rows[a][2] for a, _s in late_stats.accepted]
    after = [t for t in ok_times if t is None or t >= deadline]
    refused_before = [a for a, sent in late_stats.refused if sent < deadline.timestamp() - 0.5]
    print(f"deadline {deadline:%H:%M:%S} UTC: {len(late_stats.accepted)} accepted (latest at "
          f"{max(ok_times).strftime('%H:%M:%S.%f') if ok_times else '-'}), {len(late_stats.refused)} refused; "
          f"accepted at or after the deadline: {len(after)}; refused although sent >0.5 s before: {len(refused_before)}")
    from grants import create_app  # noqa: F401  (audit verify through the app, as the CLI does)
    verify(engine)


def verify(engine) -> None:
    from bench.common import make_app as _make_app  # noqa: F401
    from config import TestConfig
    from grants import create_app

    class V(TestConfig):
        SQLALCHEMY_DATABASE_URI = str(engine.url.render_as_string(hide_password=False))
        AUDIT_KEY = "rush-audit-key"

    app = create_app(V)
    with app.app_context():
        from grants.core import audit
        from grants.extensions import db

        if hasattr(audit, "seal_pending"):
            audit.seal_pending()
            db.session.commit()
        r = audit.verify_audit()
        print(f"audit verify: intact={r.intact}, {r.checked} rows, problems {r.problems[:3]}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
