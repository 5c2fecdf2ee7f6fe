"""The one base of every refusal a domain rule gives: services raise a DomainError subclass with a message
for the user (in Chinese, translated) and, when the refusal belongs to one form field, that field's name, so a
view can show it next to the field (see core.web.run_action)."""
from __future__ import annotations


class DomainError(ValueError):
    """A domain rule refused the action. `message` is shown to the user; `field` names the form field it
    belongs to, or None for a refusal of the whole action."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.field = field

    def __str__(self) -> str:
        return self.message
