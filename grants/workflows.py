"""Every status workflow of the application, and docs/WORKFLOWS.md generated from their tables.

`flask workflows-doc` writes the file; tests/core/test_workflows.py fails when it is out of date, so the
document is always the tables themselves: states, transitions, who may take them and what else happens."""
from __future__ import annotations

from pathlib import Path

from flask_babel import force_locale

from grants.core.states import Workflow

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "WORKFLOWS.md"

ROLE_NAMES = {"system": "system (scheduler, or a service acting for the user)"}


def all_workflows() -> list[Workflow]:
    """Every transition table, in the order of the grant's life."""
    from grants.applications.states import APPLICATION_WORKFLOW
    from grants.assessments.states import ASSESSMENT_WORKFLOW, REPORT_WORKFLOW
    from grants.awards.states import AWARD_WORKFLOW, OBJECTION_WORKFLOW
    from grants.brand.states import NOMINATION_WORKFLOW, SELECTION_WORKFLOW
    from grants.calls.states import CALL_WORKFLOW
    from grants.contracts.states import CONTRACT_WORKFLOW, TRANCHE_WORKFLOW
    from grants.finance.states import PAYMENT_WORKFLOW
    from grants.organizations.states import CHANGE_REQUEST_WORKFLOW, ORG_WORKFLOW
    from grants.reviews.states import REVIEW_WORKFLOW

    return [ORG_WORKFLOW, CHANGE_REQUEST_WORKFLOW, CALL_WORKFLOW, APPLICATION_WORKFLOW, REVIEW_WORKFLOW,
            AWARD_WORKFLOW, OBJECTION_WORKFLOW, CONTRACT_WORKFLOW, TRANCHE_WORKFLOW, REPORT_WORKFLOW,
            ASSESSMENT_WORKFLOW, PAYMENT_WORKFLOW, SELECTION_WORKFLOW, NOMINATION_WORKFLOW]


def status_enums() -> dict[str, type]:
    """Each workflow's status enum by its class name (ContractStatus, TrancheStatus, ...)."""
    return {type(w.states[0]).__name__: type(w.states[0]) for w in all_workflows()}


def register_status_enums(app) -> None:
    """Templates compare statuses as enums (`c.status == ContractStatus.ACTIVE`), never as raw strings."""
    app.jinja_env.globals.update(status_enums())


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _mermaid_id(state) -> str:
    return str(state.value if hasattr(state, "value") else state)


def render_workflow(w: Workflow) -> str:
    lines = [f"## `{w.name}`", ""]
    if w.description:
        lines += [w.description, ""]
    states = w.all_states()
    targets = {t for (_s, _a), (t, _r) in w.table.items()}
    sources = {s for (s, _a) in w.table}
    initial = [s for s in states if s not in targets]
    lines += ["```mermaid", "stateDiagram-v2"]
    for st in states:
        lines.append(f"    {_mermaid_id(st)} : {_mermaid_id(st)} ({w.state_label(st)})")
    for st in initial:
        lines.append(f"    [*] --> {_mermaid_id(st)}")
    for (src, action), (dst, _roles) in w.table.items():
        lines.append(f"    {_mermaid_id(src)} --> {_mermaid_id(dst)} : {action}")
    for st in states:
        if st not in sources:
            lines.append(f"    {_mermaid_id(st)} --> [*]")
    lines += ["```", ""]
    lines += ["| From | Action | To | Roles | Side effects |", "|---|---|---|---|---|"]
    for (src, action), (dst, roles) in w.table.items():
        role_text = ", ".join(ROLE_NAMES.get(str(r), str(r)) for r in sorted(str(r) for r in roles))
        lines.append(f"| `{_mermaid_id(src)}` {_cell(w.state_label(src))} | `{action}` {_cell(w.action_label(action))} "
                     f"| `{_mermaid_id(dst)}` {_cell(w.state_label(dst))} | {role_text} "
                     f"| {_cell(w.effects.get((src, action), ''))} |")
    lines.append("")
    return "\n".join(lines)


def render_markdown() -> str:
    """The whole document (needs an application context for the Chinese labels)."""
    with force_locale("zh"):
        parts = [
            "# Workflows",
            "",
            "Generated from the transition tables (`grants/*/states.py`) by `flask workflows-doc`; do not edit by "
            "hand. Every status change goes through `Workflow.transition`, which refuses a move the table does "
            "not hold or the actor's roles do not allow, and (unless the service writes its own, richer record) "
            "audits it as `<workflow>.<action>`. Permission functions ask `Workflow.allows(state, action)`.",
            "",
        ]
        parts.append("\n".join(f"- [`{w.name}`](#{w.name})" for w in all_workflows()))
        parts.append("")
        for w in all_workflows():
            parts.append(render_workflow(w))
    return "\n".join(parts).rstrip() + "\n"
