from enum import StrEnum

import pytest
import sqlalchemy as sa

from grants.core.models import AuditLog
from grants.core.states import IllegalTransition, Workflow


class S(StrEnum):
    A = "a"
    B = "b"


class Obj:
    __tablename__ = "thing"

    def __init__(self):
        self.id = 7
        self.status = S.A


class Actor:
    id = None
    display_name = "测试"
    role_names = {"officer"}


WF = Workflow("thing", {(S.A, "go"): (S.B, frozenset({"officer"})), (S.B, "back"): (S.A, frozenset({"admin"}))},
              state_labels={"a": "甲", "b": "乙"}, action_labels={"go": "前进", "back": "后退"})


def test_transition_moves_and_audits(db):
    from tests import factories

    obj = Obj()
    obj.host_unit_id = factories.host_unit().id  # every audited object belongs to a unit
    assert WF.transition(obj, "go", Actor()) == S.B
    assert obj.status == S.B
    row = db.session.scalars(sa.select(AuditLog)).one()
    assert row.action == "thing.go" and row.before == {"status": "a"} and row.after == {"status": "b"}


def test_illegal_move_and_wrong_role_refused(db, app):
    obj = Obj()
    with app.test_request_context():
        with pytest.raises(IllegalTransition, match="当前状态“甲”下不能执行“后退”"):
            WF.transition(obj, "back", Actor())
        obj.status = S.B
        with pytest.raises(IllegalTransition, match="无权执行“后退”"):
            WF.transition(obj, "back", Actor())
    assert WF.allowed_actions(S.A, {"officer"}) == ["go"]
    assert WF.allowed_actions(S.B, {"officer"}) == []
