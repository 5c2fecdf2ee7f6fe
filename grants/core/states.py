"""Transition tables: each workflow is {(state, action): (new_state, roles)} and one transition()
moves an object, refusing illegal moves and recording the change in the audit log."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Iterable

from flask_babel import gettext as _

from grants.core.errors import DomainError


class IllegalTransition(DomainError):
    """An action that the object's current state or the actor's roles do not allow."""


@dataclass(frozen=True)
class Workflow:
    name: str
    table: dict[tuple[StrEnum, str], tuple[StrEnum, frozenset[str]]]
    state_labels: dict = field(default_factory=dict)
    action_labels: dict = field(default_factory=dict)
    state_attr: str = "status"
    # What else happens when a transition is taken (notices, money, other workflows), as data for
    # docs/WORKFLOWS.md: {(state, action): text}.
    effects: dict = field(default_factory=dict)
    # Every state of the workflow in display order (the enum), so states no transition reaches are listed too.
    states: tuple = ()
    description: str = ""

    def state_label(self, state) -> str:
        return str(self.state_labels.get(str(state), state))

    def action_label(self, action: str) -> str:
        return str(self.action_labels.get(action, action))

    def allowed_actions(self, state: StrEnum, roles: Iterable[str] | None = None) -> list[str]:
        roles = set(roles) if roles is not None else None
        return [
            action
            for (from_state, action), (_target, allowed) in self.table.items()
            if from_state == state and (roles is None or roles & allowed)
        ]

    def allows(self, state: StrEnum, action: str, roles: Iterable[str] | None = None) -> bool:
        """The table has `action` from `state` (for one of `roles`, when given): what permission functions
        ask instead of re-listing states."""
        entry = self.table.get((state, action))
        if entry is None:
            return False
        return roles is None or bool(set(roles) & entry[1])

    def target(self, state: StrEnum, action: str) -> StrEnum | None:
        entry = self.table.get((state, action))
        return entry[0] if entry else None

    def all_states(self) -> list:
        """Every state: the declared ones first, then any the table names that were not declared."""
        seen = list(self.states)
        for (from_state, _action), (to_state, _roles) in self.table.items():
            for st in (from_state, to_state):
                if st not in seen:
                    seen.append(st)
        return seen

    def transition(self, obj, action: str, actor, *, roles: Iterable[str] | None = None,
                   detail: dict | None = None, audit: bool = True) -> StrEnum:
        """Apply `action` to `obj`, checking the table and the actor's roles; audit it.

        `roles` defaults to the actor's roles; the system (scheduler) passes roles={'system'}. A service
        that writes its own, richer audit record of the same action passes audit=False.
        """
        from grants.core.audit import record  # late import: audit imports models

        current = getattr(obj, self.state_attr)
        entry = self.table.get((current, action))
        if entry is None:
            raise IllegalTransition(
                _("当前状态“%(state)s”下不能执行“%(action)s”", state=self.state_label(current),
                  action=self.action_label(action)))
        new_state, allowed = entry
        actor_roles = set(roles) if roles is not None else set(getattr(actor, "role_names", ()) or ())
        if not actor_roles & allowed:
            raise IllegalTransition(_("您的角色无权执行“%(action)s”", action=self.action_label(action)))
        setattr(obj, self.state_attr, new_state)
        if not audit:
            return new_state
        record(actor, f"{self.name}.{action}", obj,
               before={self.state_attr: str(current)}, after={self.state_attr: str(new_state), **(detail or {})})
        return new_state
