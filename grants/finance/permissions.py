"""Who may see and act on payments and ledgers. Deny by default.

Finance, officers and auditors see the payments and ledgers of calls whose host unit is in their unit's
subtree (never a sibling unit's). Finance approves, returns, releases and records reclaims; officers
hold and lift holds; auditors read. Organisations see their own payments through the contract page
and may download the voucher of a released payment to them. Segregation of duties (who approved,
who assessed) is checked by services.duty_conflict, which also explains a refusal.
"""
from __future__ import annotations

from grants.accounts.models import Role
from grants.core.permissions import is_authenticated
from grants.core.units import in_unit_subtree
from grants.finance.models import PaymentStatus
from grants.finance.states import PAYMENT_WORKFLOW
from grants.organizations.permissions import is_member

STAFF = (Role.FINANCE, Role.OFFICER, Role.AUDITOR)


def in_unit_scope(user, call) -> bool:
    return in_unit_subtree(user, call.host_unit_id)


def can_browse_payments(user) -> bool:
    """The payment queue (filtered to the user's unit subtree)."""
    return is_authenticated(user) and user.has_role(*STAFF) and user.host_unit_id is not None


def can_view_payment(user, payment) -> bool:
    return is_authenticated(user) and user.has_role(*STAFF) and in_unit_scope(user, payment.call)


def can_handle_payment(user, payment) -> bool:
    """Finance of the call's unit subtree (approve, second approval, return, release, reclaim)."""
    return is_authenticated(user) and user.has_role(Role.FINANCE) and in_unit_scope(user, payment.call)


def can_resubmit_payment(user, payment) -> bool:
    return (is_authenticated(user) and user.has_role(Role.FINANCE, Role.OFFICER) and in_unit_scope(user, payment.call)
            and PAYMENT_WORKFLOW.allows(payment.status, "resubmit"))


def can_hold_payment(user, payment) -> bool:
    """Officers of the call's unit subtree put a payment on hold (暂停拨付) or lift the hold."""
    return (is_authenticated(user) and user.has_role(Role.OFFICER) and in_unit_scope(user, payment.call)
            and (PAYMENT_WORKFLOW.allows(payment.status, "hold", {Role.OFFICER})
                 or PAYMENT_WORKFLOW.allows(payment.status, "lift_hold", {Role.OFFICER})))


def can_download_voucher(user, payment) -> bool:
    """拨款通知单 of a released payment: staff in scope, and the paid organisation's members."""
    if not is_authenticated(user) or payment.status != PaymentStatus.RELEASED:
        return False
    if user.has_role(Role.APPLICANT) and is_member(user, payment.organization):
        return True
    return can_view_payment(user, payment)


def can_view_ledger(user, call) -> bool:
    return is_authenticated(user) and user.has_role(*STAFF) and in_unit_scope(user, call)


def can_browse_ledgers(user) -> bool:
    return can_browse_payments(user)
