"""The award and objection workflows (docs/WORKFLOWS.md).

Award: draft → approved (by another officer than the drafter, or an admin) → confirmed when the notice is
finalised; an approved list may go back to draft before it is published; an upheld objection cancels an award.
Objection: open → upheld | rejected, by an officer of the call's unit during the notice."""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.awards.models import AWARD_STATUS_LABELS, OBJECTION_STATUS_LABELS
from grants.awards.models import AwardStatus as A
from grants.awards.models import ObjectionStatus as O
from grants.core.states import Workflow

OFFICER = frozenset({Role.OFFICER})
OFFICER_OR_ADMIN = frozenset({Role.OFFICER, Role.ADMIN})
OFFICER_OR_SYSTEM = frozenset({Role.OFFICER, "system"})

AWARD_ACTION_LABELS = {
    "approve": _l("审批通过"),
    "reopen": _l("退回修改"),
    "confirm": _l("确认立项"),
    "cancel": _l("取消资助"),
}

AWARD_WORKFLOW = Workflow(
    "award",
    {
        (A.DRAFT, "approve"): (A.APPROVED, OFFICER_OR_ADMIN),
        (A.APPROVED, "reopen"): (A.DRAFT, OFFICER_OR_ADMIN),
        (A.APPROVED, "confirm"): (A.CONFIRMED, OFFICER_OR_SYSTEM),
        (A.DRAFT, "cancel"): (A.CANCELLED, OFFICER),
        (A.APPROVED, "cancel"): (A.CANCELLED, OFFICER),
        (A.CONFIRMED, "cancel"): (A.CANCELLED, OFFICER),
    },
    state_labels={str(k): v for k, v in AWARD_STATUS_LABELS.items()},
    action_labels=AWARD_ACTION_LABELS,
    states=tuple(A),
    effects={
        (A.DRAFT, "approve"): "not by whoever drafted or last changed the list (unless admin); approver recorded",
        (A.APPROVED, "reopen"): "only before the notice is published; a reason is required; approval cleared",
        (A.APPROVED, "confirm"): "with the call's finalize: the application is confirmed, unfunded ones rejected",
        (A.DRAFT, "cancel"): "the budget is freed; the awarded application is cancelled; organisation told "
                             "(award_cancelled)",
        (A.APPROVED, "cancel"): "the budget is freed; the awarded application is cancelled; organisation told "
                                "(award_cancelled)",
        (A.CONFIRMED, "cancel"): "the budget is freed; the awarded application is cancelled; organisation told "
                                 "(award_cancelled)",
    },
    description="The decision to fund one application with an amount (立项).",
)

OBJECTION_WORKFLOW = Workflow(
    "objection",
    {
        (O.OPEN, "uphold"): (O.UPHELD, OFFICER),
        (O.OPEN, "reject"): (O.REJECTED, OFFICER),
    },
    state_labels={str(k): v for k, v in OBJECTION_STATUS_LABELS.items()},
    action_labels={"uphold": _l("异议成立"), "reject": _l("异议不成立")},
    states=tuple(O),
    effects={
        (O.OPEN, "uphold"): "reason required; the objected award is cancelled and, if asked, the next project "
                            "within budget is promoted",
        (O.OPEN, "reject"): "reason required",
    },
    description="An objection (异议) raised during the public notice.",
)
