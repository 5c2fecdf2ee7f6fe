"""Who may search. Deny by default: staff whose roles open applications, contracts or organisations, in a
unit (what each finds follows its roles: grants.search.services.searchable_kinds)."""
from __future__ import annotations

from grants.search.services import searchable_kinds


def can_search(user) -> bool:
    """Officers, auditors and finance staff of a host unit (an administrator manages accounts, not cases)."""
    return bool(searchable_kinds(user))
