"""Every transition table, move by move: each (state, action) of the table takes the object to its target for
each of its roles and is refused for any other role; every (state, action) the table does not hold is refused.
docs/WORKFLOWS.md is the tables' own rendering and must be regenerated when one changes."""
from __future__ import annotations

import pytest

from grants.core.states import IllegalTransition
from grants.workflows import DOC_PATH, all_workflows, render_markdown

ALL_ROLES = {"admin", "officer", "applicant", "expert", "evaluator", "finance", "auditor", "system"}
WORKFLOWS = {w.name: w for w in all_workflows()}


class Thing:
    def __init__(self, status):
        self.status = status


class Actor:
    id = None
    display_name = "测试"

    def __init__(self, roles=()):
        self.role_names = set(roles)


def _legal():
    for w in all_workflows():
        for (state, action), (target, roles) in w.table.items():
            yield pytest.param(w.name, state, action, target, roles, id=f"{w.name}:{state}-{action}")


def _illegal():
    for w in all_workflows():
        actions = sorted({a for (_s, a) in w.table})
        for state in w.all_states():
            for action in actions:
                if (state, action) not in w.table:
                    yield pytest.param(w.name, state, action, id=f"{w.name}:{state}-{action}")


@pytest.mark.parametrize("name,state,action,target,roles", list(_legal()))
def test_legal_move(app, name, state, action, target, roles):
    w = WORKFLOWS[name]
    assert w.allows(state, action) and w.target(state, action) == target
    assert action in w.allowed_actions(state)
    for role in roles:
        obj = Thing(state)
        assert w.transition(obj, action, Actor({role}), audit=False) == target
        assert obj.status == target
        assert w.allows(state, action, {role}) and action in w.allowed_actions(state, {role})
    for role in ALL_ROLES - set(roles):
        obj = Thing(state)
        with app.test_request_context(), pytest.raises(IllegalTransition):
            w.transition(obj, action, Actor({role}), audit=False)
        assert obj.status == state
        assert not w.allows(state, action, {role})


@pytest.mark.parametrize("name,state,action", list(_illegal()))
def test_illegal_move_raises(app, name, state, action):
    w = WORKFLOWS[name]
    obj = Thing(state)
    assert not w.allows(state, action) and action not in w.allowed_actions(state)
    with app.test_request_context(), pytest.raises(IllegalTransition):
        w.transition(obj, action, Actor(ALL_ROLES), audit=False)
    assert obj.status == state


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_every_state_labelled_and_every_action_named(app, name):
    w = WORKFLOWS[name]
    with app.test_request_context():
        assert w.states, "declare states=tuple(Enum) so unreachable states are drawn"
        for state in w.all_states():
            assert str(state) in {str(k) for k in w.state_labels}, state
        for (_state, action) in w.table:
            assert action in w.action_labels, action
        for key in w.effects:
            assert key in w.table, f"side effect of a transition the table does not hold: {key}"


def test_workflow_names_unique():
    assert len(WORKFLOWS) == len(all_workflows())


def test_workflows_doc_up_to_date(app):
    with app.app_context():
        expected = render_markdown()
    assert DOC_PATH.exists(), "docs/WORKFLOWS.md missing: run `flask --app wsgi workflows-doc`"
    assert DOC_PATH.read_text(encoding="utf-8") == expected, \
        "docs/WORKFLOWS.md is out of date: run `flask --app wsgi workflows-doc`"


def test_workflows_doc_command(app, tmp_path, monkeypatch):
    import grants.workflows as module

    target = tmp_path / "WORKFLOWS.md"
    monkeypatch.setattr(module, "DOC_PATH", target)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["workflows-doc", "--check"]).exit_code != 0
    result = runner.invoke(args=["workflows-doc"])
    assert result.exit_code == 0, result.output
    assert "```mermaid" in target.read_text(encoding="utf-8")
    assert runner.invoke(args=["workflows-doc", "--check"]).exit_code == 0


def test_templates_compare_statuses_with_existing_enum_members(app):
    """Templates compare statuses as enums (globals from grants.workflows.register_status_enums); a misspelt
    member would be Undefined in Jinja and every comparison silently false, so each one must exist."""
    import re
    from pathlib import Path

    templates = Path(app.root_path).parent / "templates"
    enums = app.jinja_env.globals
    used = [(path.name, enum, member) for path in templates.rglob("*.html")
            for enum, member in re.findall(r"\b(\w+Status)\.([A-Z_]+)\b", path.read_text(encoding="utf-8"))]
    assert used, "no template compares a status as an enum"
    assert [u for u in used if u[1] not in enums or not hasattr(enums[u[1]], u[2])] == []
