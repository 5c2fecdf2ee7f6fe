"""The review workflow (docs/WORKFLOWS.md): an expert's score sheet is a draft until submitted; an officer may
send a submitted review back to the expert (with a reason) while the application is still under review."""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.core.states import Workflow
from grants.reviews.models import REVIEW_STATUS_LABELS, ReviewStatus

REVIEW_WORKFLOW = Workflow(
    "review",
    {
        (ReviewStatus.DRAFT, "submit"): (ReviewStatus.SUBMITTED, frozenset({Role.EXPERT})),
        (ReviewStatus.SUBMITTED, "reopen"): (ReviewStatus.DRAFT, frozenset({Role.OFFICER})),
    },
    state_labels={str(k): v for k, v in REVIEW_STATUS_LABELS.items()},
    action_labels={"submit": _l("提交评分"), "reopen": _l("退回评分")},
    states=tuple(ReviewStatus),
    effects={
        (ReviewStatus.DRAFT, "submit"): "only a complete sheet (every criterion, comment, recommendation); when the "
                                        "stage's last review is in, the application is scored (written: "
                                        "review_finished to the organisation) or pitched",
        (ReviewStatus.SUBMITTED, "reopen"): "reason required; only while the application is under review, "
                                            "scored, shortlisted or pitched; the expert is told (review_returned)",
    },
    description="One expert's score sheet of one application at one stage (written or pitch).",
)
