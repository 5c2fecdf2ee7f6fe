"""Hostile input: each reproduction of the issue (NUL bytes, control characters, huge and superscript numbers,
year 0001/9999, malformed money, long reasons) as a test, and the cleaning layer's own rules."""
from __future__ import annotations

import datetime as dt
import io
import inspect

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from grants.core.money import Money, MoneyError
from grants.demo import DEMO_PASSWORD, load_demo
from grants.extensions import db as _db

HUGE = "99999999999999999999"


# --- the cleaning layer's rules ------------------------------------------------------------------

def test_control_characters_are_removed_tab_and_newline_kept():
    from grants.core.inputs import clean_text, single_line

    assert clean_text("a\x00b\x0bc\x1f\x7fd\x85e") == "abcde"
    assert clean_text("第一行\n第二行\t缩进\r\n") == "第一行\n第二行\t缩进\r\n"
    assert single_line("社区\t助残\r\n项目") == "社区 助残 项目"


@pytest.mark.parametrize("text", ["²", "١٢٣", "9" * 5000, HUGE, "1.5", "", " ", "0x10", "1e3", "NaN"])
def test_int_parsing_refuses_what_int_or_isdigit_let_through(text):
    from grants.core.inputs import int_or_none, parse_int

    with pytest.raises(ValueError):
        parse_int(text)
    assert int_or_none(text) is None


def test_int_parsing_accepts_ascii_and_full_width_digits_within_range():
    from grants.core.inputs import INT_MAX, int_or_none, parse_int

    assert parse_int(" 42 ") == 42 and parse_int("４２") == 42 and parse_int(str(INT_MAX)) == INT_MAX
    assert int_or_none(str(INT_MAX + 1)) is None and int_or_none("5", minimum=10) is None


@pytest.mark.parametrize("text,fen", [("1,000.00", 100000), ("1,234,567.8", 123456780), ("１，０００", 100000),
                                      ("１２３．５", 12350), ("¥12", 1200), ("12元", 1200), ("-5", -500)])
def test_money_accepts_well_placed_separators_and_full_width_digits(text, fen):
    assert Money.from_yuan(text).fen == fen


@pytest.mark.parametrize("text", ["1,00", "1，5", "1,0000", ",100", "١٢٣", "²", "1.005", "9" * 5000, "NaN"])
def test_money_refuses_misplaced_separators_and_foreign_digits(text):
    """Reproduction: "1,00" was stored as ¥100.00 and "1，5" as ¥15.00; Arabic-Indic digits were accepted."""
    with pytest.raises(MoneyError):
        Money.from_yuan(text)


def test_every_form_derives_from_the_cleaning_base():
    """New forms in any domain inherit the input rules: a form class that derives from FlaskForm or
    wtforms.Form directly fails here."""
    from flask_wtf import FlaskForm
    from wtforms import Form

    import grants
    from grants.core.forms import BaseForm, BaseSubForm

    import importlib
    import pkgutil

    for mod in pkgutil.walk_packages(grants.__path__, "grants."):  # every form class, whatever ran before
        importlib.import_module(mod.name)
    seen = []

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    for cls in walk(Form):
        if not cls.__module__.startswith("grants.") or cls in (BaseForm, BaseSubForm):
            continue
        seen.append(cls)
        assert issubclass(cls, (BaseForm, BaseSubForm)), f"{cls.__module__}.{cls.__name__} must derive from " \
                                                         "grants.core.forms.BaseForm (or BaseSubForm)"
        if issubclass(cls, FlaskForm):
            assert issubclass(cls, BaseForm), cls
    assert len(seen) > 40


# --- Excel ---------------------------------------------------------------------------------------

def test_excel_cells_are_cleaned_and_formulas_neutralised():
    from grants.core.excel import new_workbook, safe_value, workbook_bytes

    wb = new_workbook()
    ws = wb.active
    ws.append(["社区\x0b助残项目", "=HYPERLINK(\"http://x\")", "+A1", "@SUM(A1)", "-¥5.00", "-3", 7])
    ws2 = wb.create_sheet("二")
    ws2.cell(row=1, column=1, value="=1+1")
    back = load_workbook(io.BytesIO(workbook_bytes(wb)))
    assert [c.value for c in back.active[1]] == ["社区助残项目", "'=HYPERLINK(\"http://x\")", "'+A1", "'@SUM(A1)",
                                                 "-¥5.00", "-3", 7]
    assert back["二"]["A1"].value == "'=1+1" and back["二"]["A1"].data_type == "s"
    assert safe_value(None) is None


def test_every_export_builds_its_workbook_through_the_helper():
    import grants.applications.exports
    import grants.dashboard.exports
    import grants.finance.exports
    import grants.reviews.exports

    for module in (grants.applications.exports, grants.dashboard.exports, grants.finance.exports,
                   grants.reviews.exports):
        source = inspect.getsource(module)
        assert "Workbook()" not in source and "new_workbook()" in source, module.__name__


# --- reproductions through the pages, on the demo ----------------------------------------------

@pytest.fixture()
def demo(db):
    load_demo()
    db.session.commit()


def _login(client, username):
    client.post("/logout")
    assert client.post("/login", data={"login": username, "password": DEMO_PASSWORD}).status_code == 302


def test_public_pages_and_log_in_with_nul_bytes_and_huge_ids(client, demo):
    """Reproduction: NUL in POST /login, GET /disclosure/<id>?q=a%00b; huge ids and pages (500s)."""
    from grants.calls.models import Call

    disclosed = _db.session.scalars(sa.select(Call.id).order_by(Call.id)).all()
    r = client.post("/login", data={"login": "admin\x00", "password": "x\x00y"})
    assert r.status_code == 200 and "用户名或密码错误" in r.get_data(as_text=True)
    assert client.post("/register", data={"org_name": "a\x00b", "admin_username": "u\x00"}).status_code == 200
    assert client.get(f"/disclosure/{HUGE}").status_code == 404
    assert client.get(f"/public/calls/{HUGE}").status_code == 404
    for call_id in disclosed:
        for query in ("q=a%00b", f"page={HUGE}", "category=%C2%B2", "category=" + "9" * 5000, f"category={HUGE}"):
            assert client.get(f"/disclosure/{call_id}?{query}").status_code in (200, 404), query


def test_officer_pages_with_hostile_numbers_and_dates(client, demo):
    """Reproduction: ?call_id= of 5,000 digits, year 0001 in /calls/new (500s); year 9999 was accepted."""
    from grants.calls.models import Call

    _login(client, "officer")
    assert client.get("/contracts?call_id=" + "9" * 5000).status_code == 200
    assert client.get(f"/contracts?call_id={HUGE}&page={HUGE}").status_code == 200
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Call))
    for value in ("0001-01-01T00:00", "9999-12-31T23:59"):
        r = client.post("/calls/new", data={"title": "测试活动", "year": "2026", "open_at": value,
                                             "close_at": "2026-12-31T17:00"})
        assert r.status_code == 200
        assert "日期须在 2000 年至 2100 年之间" in r.get_data(as_text=True)
    r = client.post("/calls/new", data={"title": "测试活动", "year": "²"})
    assert r.status_code == 200
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == before


def test_control_character_in_a_project_name_does_not_break_the_export(client, demo):
    """Reproduction: "社区\\x0b助残项目" (pasted from Word, stored before this layer existed or imported) made
    the call's applications.xlsx a 500 for the whole call (openpyxl IllegalCharacterError)."""
    from grants.applications.models import Application

    a = _db.session.scalars(sa.select(Application).where(Application.number.is_not(None))
                            .order_by(Application.id)).first()
    a.project_name = "社区\x0b助残项目"
    _db.session.commit()
    _login(client, "officer")
    r = client.get(f"/calls/{a.call_id}/applications.xlsx")
    assert r.status_code == 200
    names = [row[1] for row in load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=3, values_only=True)]
    assert "社区助残项目" in names


def test_typed_control_characters_never_reach_the_database(client, login_as, db):
    from tests import factories

    org = factories.organization()
    admin = factories.member(org)
    login_as(admin)
    r = client.post(f"/organizations/{org.id}/invite", data={"invitee_name": "小\x00李\x0b"})
    assert r.status_code in (200, 302)
    from grants.organizations.models import Invitation

    names = db.session.scalars(sa.select(Invitation.invitee_name)).all()
    assert names == ["小李"]


def test_long_status_and_blacklist_reasons_are_refused_with_a_message(client, login_as, db):
    """Reproduction: reasons over 500 characters on /organizations/<id>/status and /blacklist were a 500 on
    PostgreSQL (the view read request.form, not the form's Length check)."""
    from grants.organizations.models import Organization
    from tests import factories

    unit = factories.host_unit(level="city")
    org = factories.organization(status="pending", unit=unit)
    login_as(factories.user(roles=("officer",), unit=unit))
    r = client.post(f"/organizations/{org.id}/status", data={"action": "reject", "reason": "理" * 600},
                    follow_redirects=True)
    assert r.status_code == 200 and "500" in r.get_data(as_text=True)
    r = client.post(f"/organizations/{org.id}/blacklist", data={"blacklisted": "1", "reason": "由" * 600},
                    follow_redirects=True)
    assert r.status_code == 200
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert org.status == "pending" and not org.blacklisted


def test_lost_race_is_a_friendly_message_not_a_500(app):
    """Reproduction: the loser of a release race on SQLite got a 500 (StaleDataError from the audit's
    autoflush); unique violations of concurrent submits too. Every such error answers with one message."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    from grants.core.web import RACE_MESSAGE, is_lost_race

    handler = app.error_handler_spec[None][None][StaleDataError]
    unique = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: contract.award_id"))
    check = IntegrityError("INSERT", {}, Exception("CHECK constraint failed: amount_positive"))
    assert is_lost_race(StaleDataError("x")) and is_lost_race(unique) and not is_lost_race(check)
    with app.app_context(), app.test_request_context("/finance/payments/1/release", method="POST",
                                                     headers={"Referer": "http://localhost/finance/payments/1"}):
        r = handler(StaleDataError("UPDATE payment expected 1 row"))
        assert r.status_code == 302 and r.headers["Location"] == "/finance/payments/1"
    with app.app_context(), app.test_request_context("/contracts/1/countersign", method="POST"):
        body, code = handler(unique)
        assert code == 409 and str(RACE_MESSAGE) in body
        with pytest.raises(IntegrityError):
            handler(check)  # a real fault stays one


def test_healthz_answers_within_three_seconds_when_the_database_hangs(app):
    """Reproduction: a database that accepts connections and never answers made /healthz take 39 s."""
    import socket
    import time

    from config import TestConfig
    from grants import create_app

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # accepts, never answers
    port = hung.getsockname()[1]

    class Hung(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg://x@127.0.0.1:{port}/x"
        DB_CONNECT_TIMEOUT_SECONDS = 2
        HEALTHZ_TIMEOUT_SECONDS = 1

    try:
        hung_app = create_app(Hung)
        assert hung_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["connect_timeout"] == 2
        assert "statement_timeout" in hung_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
        started = time.monotonic()
        r = hung_app.test_client().get("/healthz")
        assert r.status_code == 503 and r.json["database"] == "timeout"
        assert time.monotonic() - started < 3
        r = hung_app.test_client().get("/healthz")  # the first check still waits: answered at once
        assert r.status_code == 503
    finally:
        hung.close()


def test_rectification_deadline_empty_invalid_or_far(client, login_as, db, clock):
    """Reproduction: POST /tranches/<id>/rectify-deadline with an empty or invalid date was a 500 (joining
    lazy strings); 9999-12-31 was accepted and the later withhold overflowed."""
    from grants.contracts.models import TrancheStatus
    from tests.finance import factories as ff

    clock.set(dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc))
    call = ff.funded_call()
    contract = ff.active_contract(call)
    officer = ff.officer(call)
    t = contract.tranches[1]
    t.status, t.rectify_due_on, t.rectify_reason = TrancheStatus.RECTIFYING, dt.date(2026, 12, 1), "整改"
    db.session.commit()
    login_as(officer)
    for value, message in (("", "请填写整改期限"), ("2026-13-45", ""), ("0001-01-01", "2000 年至 2100 年"),
                           ("9999-12-31", "2000 年至 2100 年"), ("2099-12-31", "不能晚于今天起")):
        r = client.post(f"/tranches/{t.id}/rectify-deadline", data={"due_on": value}, follow_redirects=True)
        assert r.status_code == 200, value
        assert message in r.get_data(as_text=True), value
    db.session.expire_all()
    assert db.session.get(type(t), t.id).rectify_due_on == dt.date(2026, 12, 1)


def test_refused_budget_unit_price_keeps_the_saved_one(client, login_as, db, clock):
    """Reproduction: an unreadable budget unit price replaced the saved price with 0; an unreadable category
    cleared the saved category."""
    from grants.applications.models import Application
    from tests.applications import factories as af
    from tests.applications.test_flow import IN_WINDOW, form_data, start

    clock.set(IN_WINDOW)
    call = af.call()
    login_as("applicant")
    db.session.commit()
    application = start(client, call)
    good = form_data(call, **{"budget-0-kind": "personnel", "budget-0-item": "社工补贴",
                              "budget-0-unit_price": "1,000.00", "budget-0-quantity": "10",
                              "budget-0-funded_by": "grant"})
    assert client.post(f"/applications/{application.id}/edit", data=good).status_code == 302
    for bad in ("1,00", "1，5", "١٢٣", "²", "9" * 5000):
        r = client.post(f"/applications/{application.id}/edit",
                        data={**good, "budget-0-unit_price": bad, "category_id": "²"})
        assert r.status_code == 200 and "金额格式不正确" in r.get_data(as_text=True), bad
        db.session.expire_all()
        a = db.session.get(Application, application.id)
        assert (a.budget_lines[0].unit_price_fen, a.budget_lines[0].quantity) == (100000, 10), bad
        assert a.category_id == call.categories[0].id


def test_json_bodies_are_cleaned_too(app):
    """The JSON API's strings go through the same layer as forms and query strings."""
    with app.test_request_context("/api/x", method="POST", json={"名称\x00": ["社区\x0b助残", {"k": "a\x00b"}], "n": 5}):
        from flask import request

        assert request.get_json() == {"名称": ["社区助残", {"k": "ab"}], "n": 5}
