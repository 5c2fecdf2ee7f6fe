"""The payment workflow (docs/WORKFLOWS.md, generated from the table below): requested → approved (→ second_approved above the threshold)
→ released; requested | approved | second_approved → held (officer) → requested once lifted (the
approvals are cleared, so a lifted payment is approved afresh); finance may return a payment with a
reason, and a returned payment is resubmitted as requested. Reclaims (追回) are entries linked to a
released payment and do not change its state.

Segregation of duties (approver ≠ releaser, the tranche's evaluator excluded, second approver ≠ first)
and the threshold are checked by the services: the table only knows states and roles.
"""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.core.states import Workflow
from grants.finance.models import PAYMENT_STATUS_LABELS
from grants.finance.models import PaymentStatus as S

FINANCE = frozenset({Role.FINANCE})
OFFICER = frozenset({Role.OFFICER})
OFFICER_OR_FINANCE = frozenset({Role.OFFICER, Role.FINANCE})
OFFICER_OR_SYSTEM = frozenset({Role.OFFICER, "system"})

ACTION_LABELS = {
    "approve": _l("审核通过"),
    "second_approve": _l("复核通过"),
    "release": _l("确认支付"),
    "return": _l("退回"),
    "resubmit": _l("重新提交"),
    "hold": _l("暂停拨付"),
    "lift_hold": _l("解除暂停"),
}

PAYMENT_WORKFLOW = Workflow(
    "payment",
    {
        (S.REQUESTED, "approve"): (S.APPROVED, FINANCE),
        (S.APPROVED, "second_approve"): (S.SECOND_APPROVED, FINANCE),
        (S.APPROVED, "release"): (S.RELEASED, FINANCE),
        (S.SECOND_APPROVED, "release"): (S.RELEASED, FINANCE),
        (S.REQUESTED, "return"): (S.RETURNED, FINANCE),
        (S.APPROVED, "return"): (S.RETURNED, FINANCE),
        (S.SECOND_APPROVED, "return"): (S.RETURNED, FINANCE),
        (S.RETURNED, "resubmit"): (S.REQUESTED, OFFICER_OR_FINANCE),
        # The system holds a payment requested while its project is on hold (services.request_payment).
        (S.REQUESTED, "hold"): (S.HELD, OFFICER_OR_SYSTEM),
        (S.APPROVED, "hold"): (S.HELD, OFFICER),
        (S.SECOND_APPROVED, "hold"): (S.HELD, OFFICER),
        (S.HELD, "lift_hold"): (S.REQUESTED, OFFICER),
    },
    state_labels={str(k): v for k, v in PAYMENT_STATUS_LABELS.items()},
    action_labels=ACTION_LABELS,
    states=tuple(S),
    effects={
        (S.REQUESTED, "approve"): "not by the tranche's evaluator",
        (S.APPROVED, "second_approve"): "above the threshold only; not by the first approver",
        (S.APPROVED, "release"): "below the threshold; not by the approver; the tranche takes pay (paid)",
        (S.SECOND_APPROVED, "release"): "not by either approver; the tranche takes pay (paid)",
        (S.REQUESTED, "return"): "reason required",
        (S.APPROVED, "return"): "reason required",
        (S.SECOND_APPROVED, "return"): "reason required",
        (S.REQUESTED, "hold"): "reason required; a payment of a project on hold is held at once (system)",
        (S.HELD, "lift_hold"): "approvals cleared: approved afresh",
    },
    description="A payment (拨付) of one payable tranche.",
)
