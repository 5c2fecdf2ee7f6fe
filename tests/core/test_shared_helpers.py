"""The shared helpers every domain uses: DomainError, run_action, is_authenticated, in_unit_subtree,
enum_check and Workflow.allows."""
from __future__ import annotations

from enum import StrEnum

import pytest
from flask import session
from flask_wtf import FlaskForm
from wtforms import StringField

from grants.core.errors import DomainError
from grants.core.models import enum_check
from grants.core.permissions import in_unit_subtree, is_authenticated
from grants.core.states import IllegalTransition, Workflow
from grants.core.web import run_action


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


def test_enum_check_lists_every_value():
    check = enum_check("colour", Colour)
    assert str(check.sqltext) == "colour IN ('red','blue')"
    assert check.name == "colour_known"
    assert enum_check("colour", Colour, name="c_ok").name == "c_ok"


def test_workflow_allows_reads_the_table():
    wf = Workflow("colour", {(Colour.RED, "paint"): (Colour.BLUE, frozenset({"officer"}))})
    assert wf.allows(Colour.RED, "paint")
    assert wf.allows(Colour.RED, "paint", {"officer", "expert"})
    assert not wf.allows(Colour.RED, "paint", {"expert"})
    assert not wf.allows(Colour.BLUE, "paint")
    assert issubclass(IllegalTransition, DomainError)


def test_is_authenticated():
    class Anon:
        is_authenticated = False

    class Someone:
        is_authenticated = True

    assert not is_authenticated(None)
    assert not is_authenticated(Anon())
    assert is_authenticated(Someone())


def test_in_unit_subtree(db):
    from tests import factories

    city = factories.host_unit(name="市民政局")
    district = factories.host_unit(name="区民政局", level="district", parent=city)
    other = factories.host_unit(name="另一区")
    db.session.flush()

    class U:
        host_unit_id = city.id

    class D:
        host_unit_id = district.id

    assert in_unit_subtree(U(), district.id) and in_unit_subtree(U(), city.id)
    assert not in_unit_subtree(D(), city.id)
    assert not in_unit_subtree(U(), other.id)
    assert not in_unit_subtree(U(), None)


class _Form(FlaskForm):
    amount = StringField()


def _flashes() -> list:
    return session.pop("_flashes", [])


def test_run_action_commits_or_rolls_back_with_the_message(app, db):
    from tests import factories

    with app.test_request_context("/", method="POST"):
        result = run_action(lambda: factories.host_unit(name="新单位"), "已保存")
        assert result.ok and _flashes() == [("success", "已保存")]

        def refuse():
            factories.host_unit(name="不该留下")
            raise DomainError("金额有误")

        result = run_action(refuse, "不会出现")
        assert not result.ok and result.error.message == "金额有误"
        assert _flashes() == [("danger", "金额有误")]

        form = _Form(meta={"csrf": False})
        result = run_action(lambda: (_ for _ in ()).throw(DomainError("超出预算", field="amount")), form=form)
        assert form.amount.errors == ["超出预算"] and _flashes() == []

        with pytest.raises(RuntimeError):
            run_action(lambda: (_ for _ in ()).throw(RuntimeError("boom")))

    from grants.organizations.models import HostUnit

    names = {u.name for u in db.session.query(HostUnit)}
    assert "新单位" in names and "不该留下" not in names
