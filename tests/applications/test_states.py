"""The application workflow as a table: every legal move with its roles, and illegal moves refused."""
import pytest

from grants.applications.models import ApplicationStatus as S
from grants.applications.states import APPLICATION_WORKFLOW
from grants.core.states import IllegalTransition

LEGAL = [
    (S.DRAFT, "submit", S.SUBMITTED, "applicant"),
    (S.RETURNED, "submit", S.SUBMITTED, "applicant"),
    (S.DRAFT, "withdraw", S.WITHDRAWN, "applicant"),
    (S.SUBMITTED, "withdraw", S.WITHDRAWN, "applicant"),
    (S.RETURNED, "withdraw", S.WITHDRAWN, "applicant"),
    (S.SUBMITTED, "mark_eligible", S.ELIGIBLE, "officer"),
    (S.SUBMITTED, "mark_ineligible", S.INELIGIBLE, "officer"),
    (S.SUBMITTED, "return", S.RETURNED, "officer"),
    (S.ELIGIBLE, "start_review", S.UNDER_REVIEW, "officer"),
    (S.UNDER_REVIEW, "score", S.SCORED, "system"),
    (S.SCORED, "shortlist", S.SHORTLISTED, "officer"),
    (S.SHORTLISTED, "pitch", S.PITCHED, "officer"),
    (S.SCORED, "award", S.AWARDED, "officer"),
    (S.PITCHED, "award", S.AWARDED, "officer"),
    (S.SCORED, "reject", S.NOT_AWARDED, "officer"),
    (S.PITCHED, "reject", S.NOT_AWARDED, "officer"),
    (S.AWARDED, "confirm", S.CONFIRMED, "system"),
    (S.AWARDED, "cancel", S.CANCELLED, "officer"),
    (S.SCORED, "reopen_review", S.UNDER_REVIEW, "officer"),
    (S.PITCHED, "reopen_pitch", S.SHORTLISTED, "officer"),
]

ILLEGAL = [
    (S.DRAFT, "mark_eligible", "officer"),
    (S.SUBMITTED, "submit", "applicant"),
    (S.ELIGIBLE, "withdraw", "applicant"),
    (S.INELIGIBLE, "mark_eligible", "officer"),
    (S.WITHDRAWN, "submit", "applicant"),
    (S.RETURNED, "mark_eligible", "officer"),
    (S.DRAFT, "award", "officer"),
    (S.CONFIRMED, "cancel", "officer"),
]

WRONG_ROLE = [
    (S.SUBMITTED, "mark_eligible", "applicant"),
    (S.SUBMITTED, "return", "expert"),
    (S.DRAFT, "submit", "officer"),
    (S.SUBMITTED, "withdraw", "officer"),
    (S.AWARDED, "cancel", "system"),
    (S.SCORED, "reopen_review", "expert"),
]


class Obj:
    __tablename__ = "application"

    def __init__(self, status):
        from tests import factories

        self.status = status
        self.id = 1
        self.host_unit_id = factories.host_unit().id  # audited work belongs to a unit


@pytest.mark.parametrize("state,action,target,role", LEGAL)
def test_legal_moves(app, db, state, action, target, role):
    with app.test_request_context():
        obj = Obj(state)
        assert APPLICATION_WORKFLOW.transition(obj, action, None, roles={role}) == target
        assert obj.status == target


@pytest.mark.parametrize("state,action,role", ILLEGAL)
def test_illegal_moves(app, db, state, action, role):
    with app.test_request_context():
        obj = Obj(state)
        with pytest.raises(IllegalTransition, match="不能执行"):
            APPLICATION_WORKFLOW.transition(obj, action, None, roles={role})
        assert obj.status == state


@pytest.mark.parametrize("state,action,role", WRONG_ROLE)
def test_wrong_role(app, db, state, action, role):
    with app.test_request_context():
        obj = Obj(state)
        with pytest.raises(IllegalTransition, match="无权"):
            APPLICATION_WORKFLOW.transition(obj, action, None, roles={role})
        assert obj.status == state


def test_every_state_has_a_label_and_every_action_a_label():
    for state in S:
        assert APPLICATION_WORKFLOW.state_label(state) != str(state)
    for (_state, action) in APPLICATION_WORKFLOW.table:
        assert APPLICATION_WORKFLOW.action_label(action) != action


def test_every_state_is_reachable_from_draft():
    reached, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        state = frontier.pop()
        for (from_state, _action), (target, _roles) in APPLICATION_WORKFLOW.table.items():
            if from_state == state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(S)
