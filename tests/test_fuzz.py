"""Hostile input never gives a 500: a walker over the demo, as every demo user.

For each user it logs in, follows the links it can see (a bounded breadth-first walk), collects every POST
form and every GET filter, then sends hostile values (NUL and other control characters, 10,000 characters,
huge and superscript numbers, years 0001 and 9999, malformed money, formula text) into each field of each
form and query string, and into the ids of the URLs. Finally it revisits every page it saw, so a hostile
value that was stored and breaks a page or an export later (openpyxl, PDF) is caught too.

Deterministic (a fixed seed picks which field gets which value) and bounded (per-form and per-user caps), so
it runs in well under two minutes per database. Any 500, or any exception escaping a view, fails the test
with the request that caused it. The counts are printed (pytest -s) for the record.
"""
from __future__ import annotations

import logging
import os
import random
import re
import traceback
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest

from grants.demo import DEMO_ORGS, DEMO_PASSWORD, DEMO_USERS, load_demo
from grants.extensions import db

SEED = 20261202
HOSTILE = [
    "a\x00b",
    "社区\x0b助残项目\x01\x1f\x7f",
    "x" * 10000,
    "99999999999999999999",
    "-99999999999999999999",
    "2147483647",
    "²",
    "9" * 5000,
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "1,00",
    "1，5",
    "١٢٣",
    "NaN",
    "=HYPERLINK(\"http://x\")",
    "-1",
    "",
]
# Never posted: they end the session or change the language of the pages under test.
SKIP_ACTIONS = re.compile(r"^/(logout|lang/)")
SKIP_LINKS = re.compile(r"^/(logout|static/|lang/)")
MAX_PAGES_PER_USER = 150
PER_SHAPE = 5  # pages of one kind per user (objects in different states show different forms)
DOWNLOAD = re.compile(r"(/pdf|\.(pdf|xlsx|csv|json))$")
MAX_REQUESTS_PER_FORM = 16
MAX_QUERY_REQUESTS_PER_PAGE = 5


class _Page(HTMLParser):
    """Links and forms of one HTML page (inputs, selects with their chosen option, textareas, buttons)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"method": a.get("method", "get").lower(), "action": a.get("action", ""),
                          "fields": {}, "buttons": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind == "file":
                return
            if kind in ("submit", "button", "image"):
                self._form["buttons"].append((a["name"], a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a or a["name"] not in self._form["fields"]:
                    self._form["fields"][a["name"]] = a.get("value", "on") if ("checked" in a or kind == "radio") else None
            else:
                self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form["fields"].setdefault(a["name"], None)
        elif tag == "option" and self._select:
            if "selected" in a or self._form["fields"].get(self._select) is None:
                self._form["fields"][self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"][a["name"]] = ""
        elif tag == "button" and a.get("name") and a.get("type", "submit") == "submit":
            self._form["buttons"].append((a["name"], a.get("value", "")))

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class Walker:
    def __init__(self, client):
        self.client = client
        self.rng = random.Random(SEED)
        self.failures: list[str] = []
        self.requests = 0
        self.forms_seen: set[tuple] = set()
        self.post_forms = 0
        self.get_filters = 0
        self.post_shapes: set[str] = set()

    # --- requests -------------------------------------------------------------------------
    def send(self, method: str, url: str, data=None):
        self.requests += 1
        try:
            if method == "GET":
                resp = self.client.get(url)
            else:
                resp = self.client.post(url, data=data)
        except Exception as exc:  # noqa: BLE001 - an exception escaping a view is the failure under test
            db.session.rollback()
            self.failures.append((_where(exc), f"{method} {url[:200]} {_short(data)}\n{traceback.format_exc(limit=-4)}"))
            return None
        if resp.status_code >= 500:
            self.failures.append(("500", f"{method} {url[:200]} {_short(data)} → {resp.status_code}"))
        resp.close()  # downloads hold their file open until closed
        return resp

    def login(self, username: str) -> bool:
        self.client.post("/logout")
        resp = self.send("POST", "/login", {"login": username, "password": DEMO_PASSWORD})
        return resp is not None and resp.status_code == 302

    # --- walking --------------------------------------------------------------------------
    def crawl(self) -> tuple[list[str], list[tuple[str, dict]]]:
        """Breadth-first from the workbench: the pages this user can open, and their forms."""
        queue, seen, pages, forms = ["/workbench", "/", "/login", "/register"], set(), [], []
        shapes: dict[str, int] = {}
        while queue and len(pages) < MAX_PAGES_PER_USER:
            url = queue.pop(0)
            # Two pages of a kind (say, two applications in different states) show its forms; more only
            # repeat them, so the walk spreads over the kinds of page instead.
            shape = _shape(urlsplit(url).path)
            if url in seen or shapes.get(shape, 0) >= (1 if "?" in url or DOWNLOAD.search(shape) else PER_SHAPE):
                continue
            seen.add(url)
            shapes[shape] = shapes.get(shape, 0) + 1
            resp = self.send("GET", url)
            if resp is None or resp.status_code != 200:
                continue
            pages.append(url)
            if not resp.mimetype.startswith("text/html"):
                continue
            parser = _Page()
            parser.feed(resp.get_data(as_text=True))
            for href in parser.links:
                target = _local(url, href)
                if target and target not in seen and not SKIP_LINKS.match(urlsplit(target).path):
                    queue.append(target)
            for form in parser.forms:
                action = _local(url, form["action"] or url)
                if action:
                    forms.append((action, form))
        return pages, forms

    def fuzz_form(self, action: str, form: dict) -> None:
        path = urlsplit(action).path
        names = sorted({n for n in form["fields"] if n != "csrf_token"} | {b for b, _v in form["buttons"]})
        key = (form["method"], _shape(path), tuple(names))
        if key in self.forms_seen or SKIP_ACTIONS.match(path):
            return
        self.forms_seen.add(key)
        base = {n: v for n, v in form["fields"].items() if v is not None and n != "csrf_token"}
        if form["buttons"]:
            name, value = form["buttons"][self.rng.randrange(len(form["buttons"]))]
            base[name] = value
        plan: list[dict] = [{}]  # the form as shown first: a one-button form is an action of its own
        if names:
            # Every hostile value once in every field would be thousands of requests for the long forms;
            # each value goes into a seeded choice of fields, every field gets at least one value.
            pairs = [{names[i % len(names)]: HOSTILE[i % len(HOSTILE)]} for i in range(max(len(HOSTILE), len(names)))]
            self.rng.shuffle(pairs)
            plan += pairs[:MAX_REQUESTS_PER_FORM - 4]
            for value in ("a\x00b", "99999999999999999999", "9999-12-31"):
                plan.append({n: value for n in names})  # every field hostile at once
        if form["method"] == "post":
            self.post_forms += 1
            self.post_shapes.add(_shape(path))
            # The unchanged form last: hostile values first meet the object in the state the page showed.
            for change in plan[1:] + plan[:1]:
                self.send("POST", action, {**base, **change})
        else:
            self.get_filters += 1
            for change in plan[:MAX_QUERY_REQUESTS_PER_PAGE + 3]:
                self.send("GET", f"{path}?{urlencode({**base, **change})}")

    def fuzz_url(self, url: str) -> None:
        """Hostile query values for a link's own parameters; a huge id in place of each number in its path."""
        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True)
        if params:
            for i in range(min(MAX_QUERY_REQUESTS_PER_PAGE, len(params) * 3)):
                name = params[i % len(params)][0]
                value = HOSTILE[self.rng.randrange(len(HOSTILE))]
                query = urlencode([(k, value if k == name else v) for k, v in params])
                self.send("GET", f"{parts.path}?{query}")
        for extra in ("page", "q"):
            self.send("GET", f"{parts.path}?{extra}=99999999999999999999%00%0b")
        if re.search(r"/\d+(/|$)", parts.path):
            self.send("GET", re.sub(r"/\d+(/|$)", r"/99999999999999999999\1", parts.path, count=1))


def _local(base: str, href: str) -> str | None:
    if href.startswith(("mailto:", "tel:", "javascript:", "#")):
        return None
    full = urljoin("http://localhost" + base, href)
    parts = urlsplit(full)
    if parts.netloc != "localhost":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _debug(*lines: str) -> None:
    """FUZZ_DEBUG=1 pytest -s tests/test_fuzz.py lists the pages walked and the POST routes covered."""
    if os.environ.get("FUZZ_DEBUG"):
        print("\n".join(lines))


def _where(exc: BaseException) -> str:
    """The innermost line of the application's own code in the traceback, and the exception's type."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/grants/" in f.filename]
    at = f"{frames[-1].filename.rsplit('/grants/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"{at} {type(exc).__name__}"


def _shape(path: str) -> str:
    return re.sub(r"/\d+", "/N", path)


def _short(data) -> str:
    if not data:
        return ""
    return repr({k: (v[:30] + "…" if isinstance(v, str) and len(v) > 30 else v) for k, v in data.items()})[:400]


USERNAMES = [u[0] for u in DEMO_USERS if u[0] != "admin"] + [o[8] for o in DEMO_ORGS] + ["admin"]


def test_hostile_input_never_gives_a_500(app, db, capsys, caplog):
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    load_demo()
    db.session.commit()
    walker = Walker(app.test_client())
    seen_pages: dict[str, list[str]] = {}
    fuzzed_shapes: set[str] = set()
    for username in [None, *USERNAMES]:  # anonymous first (log-in, registration, public pages); admin last
        if username is not None and not walker.login(username):
            continue
        pages, forms = walker.crawl()
        seen_pages[username] = pages
        _debug(f"USER {username} {len(pages)} pages {len(forms)} forms", *(f"  PAGE {u}" for u in pages))
        for action, form in forms:
            walker.fuzz_form(action, form)
        for url in pages:
            if _shape(urlsplit(url).path) not in fuzzed_shapes:
                fuzzed_shapes.add(_shape(urlsplit(url).path))
                walker.fuzz_url(url)
    # Stored hostile values must not break a page or an export later: each user revisits one page of each kind.
    for username, pages in seen_pages.items():
        if username is None or walker.login(username):
            kinds: dict[str, str] = {}
            for url in pages:
                kinds.setdefault(_shape(urlsplit(url).path), url)
            for url in kinds.values():
                walker.send("GET", url)
    with capsys.disabled():
        print(f"\nfuzz: {len(seen_pages) - 1} users and anonymous, {walker.post_forms} POST forms on "
              f"{len(walker.post_shapes)} POST routes, {walker.get_filters} GET filter forms, {walker.requests} requests, "
              f"{len(walker.failures)} failures")
    _debug(*(f"ROUTE {shape}" for shape in sorted(walker.post_shapes)))
    # The database's refusal of an over-long text answers 400 (core/web.py), but it means a form without its
    # Length check: the fuzzer counts it as a failure too.
    for rec in caplog.records:
        if "input refused by the database" in rec.getMessage():
            walker.failures.append(("form without a length/range check", rec.getMessage()))
    first: dict[str, str] = {}
    for where, text in walker.failures:
        first.setdefault(where, text)
    assert not walker.failures, (f"{len(walker.failures)} requests failed at {len(first)} places:\n\n"
                                 + "\n\n".join(f"{w}\n{t}" for w, t in first.items()))
