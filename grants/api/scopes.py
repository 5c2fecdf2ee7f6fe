"""Token scopes: read or write per domain. A write scope includes its read scope.

Award notices and calls are public, so they need no scope. A scope only ever narrows what the token's user
may do: every call is still checked by the domain's own
permission function with the user (and the token's unit, when it has one).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

DOMAINS = {
    "organizations": _l("社会组织"),
    "applications": _l("申报书与形式审查"),
    "contracts": _l("资助协议与拨付节点"),
    "reports": _l("项目报告与评估"),
    "payments": _l("拨款"),
    "ledger": _l("台账与统计"),
    "notifications": _l("消息通知"),
}
ACTIONS = ("read", "write")
ALL_SCOPES = tuple(f"{d}:{a}" for d in DOMAINS for a in ACTIONS)


def normalise(scopes) -> list[str]:
    """Known scopes only, sorted, without duplicates."""
    return sorted({s for s in (scopes or []) if s in ALL_SCOPES})


def grants_scope(held, needed: str) -> bool:
    """`needed` is "domain:read" or "domain:write"; write covers read."""
    held = set(held or [])
    if needed in held:
        return True
    domain, _, action = needed.partition(":")
    return action == "read" and f"{domain}:write" in held


def scope_label(scope: str) -> str:
    domain, _, action = scope.partition(":")
    return f"{DOMAINS.get(domain, domain)}（{_l('读写') if action == 'write' else _l('只读')}）"
