"""The brand-selection transition table, row by row, and every move that is not in it."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.brand.models import SelectionStatus as S
from grants.brand.states import SELECTION_WORKFLOW as WF
from grants.core.models import AuditLog
from grants.core.states import IllegalTransition

ACTIONS = ["open_nominations", "start_scoring", "decide", "reopen_scoring", "publish", "cancel"]
# (from, action) → to; officers only.
TABLE = {
    (S.DRAFT, "open_nominations"): S.NOMINATING,
    (S.NOMINATING, "start_scoring"): S.SCORING,
    (S.SCORING, "decide"): S.DECIDED,
    (S.DECIDED, "reopen_scoring"): S.SCORING,
    (S.DECIDED, "publish"): S.PUBLISHED,
    (S.DRAFT, "cancel"): S.CANCELLED,
    (S.NOMINATING, "cancel"): S.CANCELLED,
    (S.SCORING, "cancel"): S.CANCELLED,
}


def test_table_has_exactly_these_rows():
    assert {k: v for k, (v, _r) in WF.table.items()} == TABLE
    assert all(roles == {"officer"} for _t, roles in WF.table.values())


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("action", ACTIONS)
def test_every_state_and_action(state, action):
    assert WF.target(state, action) == TABLE.get((state, action))


class _Obj:
    __tablename__ = "brand_selection"
    id = 1
    host_unit_id = None

    def __init__(self, status):
        self.status = status


class _Actor:
    id = None
    display_name = "测试"

    def __init__(self, *roles):
        self.role_names = set(roles)


@pytest.mark.parametrize("key,target", list(TABLE.items()))
def test_officer_moves_and_it_is_audited(app, db, key, target):
    from tests import factories

    state, action = key
    obj = _Obj(state)
    obj.host_unit_id = factories.host_unit().id  # audited work belongs to a unit
    with app.test_request_context():
        assert WF.transition(obj, action, _Actor("officer")) == target
        row = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert obj.status == target
    assert row.action == f"brand_selection.{action}"
    assert row.before == {"status": str(state)} and row.after == {"status": str(target)}


@pytest.mark.parametrize("role", ["expert", "auditor", "applicant", "admin", "finance", "evaluator"])
@pytest.mark.parametrize("key", list(TABLE))
def test_other_roles_are_refused(app, key, role):
    state, action = key
    obj = _Obj(state)
    with app.test_request_context(), pytest.raises(IllegalTransition):
        WF.transition(obj, action, _Actor(role))
    assert obj.status == state


@pytest.mark.parametrize("state,action", [(S.PUBLISHED, "reopen_scoring"), (S.PUBLISHED, "cancel"),
                                          (S.DECIDED, "cancel"), (S.DRAFT, "start_scoring"),
                                          (S.NOMINATING, "publish"), (S.CANCELLED, "open_nominations")])
def test_illegal_moves_raise(app, state, action):
    with app.test_request_context(), pytest.raises(IllegalTransition):
        WF.transition(_Obj(state), action, _Actor("officer"))
