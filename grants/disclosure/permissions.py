"""Who may see disclosure pages: anyone, but only for calls whose award list is final."""
from grants.disclosure.services import DISCLOSED_STATUSES


def can_view_call_disclosure(user, call) -> bool:
    """Public once the 公示 is over and the awards are final (已定项 / 已归档); never drafts or calls in review."""
    return call is not None and call.status in DISCLOSED_STATUSES
