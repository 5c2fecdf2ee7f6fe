"""The payment transition table, row by row."""
import pytest

from grants.finance.models import PaymentStatus as S
from grants.finance.states import PAYMENT_WORKFLOW

TABLE = [
    (S.REQUESTED, "approve", "finance", S.APPROVED),
    (S.APPROVED, "second_approve", "finance", S.SECOND_APPROVED),
    (S.APPROVED, "release", "finance", S.RELEASED),
    (S.SECOND_APPROVED, "release", "finance", S.RELEASED),
    (S.REQUESTED, "return", "finance", S.RETURNED),
    (S.APPROVED, "return", "finance", S.RETURNED),
    (S.SECOND_APPROVED, "return", "finance", S.RETURNED),
    (S.RETURNED, "resubmit", "officer", S.REQUESTED),
    (S.RETURNED, "resubmit", "finance", S.REQUESTED),
    (S.REQUESTED, "hold", "officer", S.HELD),
    (S.APPROVED, "hold", "officer", S.HELD),
    (S.SECOND_APPROVED, "hold", "officer", S.HELD),
    (S.HELD, "lift_hold", "officer", S.REQUESTED),
]


@pytest.mark.parametrize("state,action,role,target", TABLE)
def test_allowed(state, action, role, target):
    assert PAYMENT_WORKFLOW.target(state, action) == target
    assert action in PAYMENT_WORKFLOW.allowed_actions(state, {role})


def test_table_has_exactly_these_rows():
    assert {(s, a) for s, a, _r, _t in TABLE} == set(PAYMENT_WORKFLOW.table)


@pytest.mark.parametrize("state,action", [
    (S.REQUESTED, "release"), (S.RELEASED, "release"), (S.RELEASED, "hold"), (S.RELEASED, "return"),
    (S.HELD, "approve"), (S.HELD, "release"), (S.RETURNED, "approve"), (S.REQUESTED, "second_approve"),
])
def test_refused(state, action):
    assert PAYMENT_WORKFLOW.target(state, action) is None


@pytest.mark.parametrize("action,role", [("approve", "officer"), ("release", "officer"), ("hold", "finance"),
                                         ("approve", "auditor"), ("lift_hold", "finance"), ("release", "evaluator")])
def test_wrong_role(action, role):
    for (state, a), (_t, roles) in PAYMENT_WORKFLOW.table.items():
        if a == action:
            assert role not in roles
