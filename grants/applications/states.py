"""The application workflow (docs/WORKFLOWS.md, generated from the table below):
draft → submitted → eligible | ineligible | returned (the organisation edits and resubmits);
eligible → under_review → scored → (shortlisted → pitched) → awarded | not_awarded;
awarded → confirmed | cancelled (objection upheld); draft | submitted | returned → withdrawn.

Deadlines are not part of the table: services check them with now() before calling transition().
"""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.applications.models import STATUS_LABELS
from grants.applications.models import ApplicationStatus as S
from grants.core.states import Workflow

APPLICANT = frozenset({Role.APPLICANT})
OFFICER = frozenset({Role.OFFICER})
# Steps later domains drive from their own screens or scheduled jobs.
OFFICER_OR_SYSTEM = frozenset({Role.OFFICER, "system"})

ACTION_LABELS = {
    "submit": _l("提交申报"),
    "withdraw": _l("撤回申报"),
    "mark_eligible": _l("审查通过"),
    "mark_ineligible": _l("审查不通过"),
    "return": _l("退回修改"),
    "start_review": _l("进入专家评审"),
    "score": _l("完成评分"),
    "shortlist": _l("入围路演"),
    "pitch": _l("完成路演"),
    "award": _l("拟予资助"),
    "reject": _l("不予资助"),
    "confirm": _l("确认立项"),
    "cancel": _l("取消资助"),
    "reopen_review": _l("退回专家评分"),
    "reopen_pitch": _l("退回路演评分"),
}

APPLICATION_WORKFLOW = Workflow(
    "application",
    {
        (S.DRAFT, "submit"): (S.SUBMITTED, APPLICANT),
        (S.RETURNED, "submit"): (S.SUBMITTED, APPLICANT),
        (S.DRAFT, "withdraw"): (S.WITHDRAWN, APPLICANT),
        (S.SUBMITTED, "withdraw"): (S.WITHDRAWN, APPLICANT),
        (S.RETURNED, "withdraw"): (S.WITHDRAWN, APPLICANT),
        (S.SUBMITTED, "mark_eligible"): (S.ELIGIBLE, OFFICER),
        (S.SUBMITTED, "mark_ineligible"): (S.INELIGIBLE, OFFICER),
        (S.SUBMITTED, "return"): (S.RETURNED, OFFICER),
        (S.ELIGIBLE, "start_review"): (S.UNDER_REVIEW, OFFICER_OR_SYSTEM),
        (S.UNDER_REVIEW, "score"): (S.SCORED, OFFICER_OR_SYSTEM),
        (S.SCORED, "shortlist"): (S.SHORTLISTED, OFFICER),
        (S.SHORTLISTED, "pitch"): (S.PITCHED, OFFICER_OR_SYSTEM),
        (S.SCORED, "award"): (S.AWARDED, OFFICER),
        (S.PITCHED, "award"): (S.AWARDED, OFFICER),
        (S.SCORED, "reject"): (S.NOT_AWARDED, OFFICER),
        (S.SHORTLISTED, "reject"): (S.NOT_AWARDED, OFFICER),
        (S.PITCHED, "reject"): (S.NOT_AWARDED, OFFICER),
        (S.AWARDED, "confirm"): (S.CONFIRMED, OFFICER_OR_SYSTEM),
        (S.AWARDED, "cancel"): (S.CANCELLED, OFFICER),
        # An officer reopens a submitted review (or adds an expert): the application is under review again.
        (S.SCORED, "reopen_review"): (S.UNDER_REVIEW, OFFICER),
        (S.PITCHED, "reopen_pitch"): (S.SHORTLISTED, OFFICER),
    },
    state_labels={str(k): v for k, v in STATUS_LABELS.items()},
    action_labels=ACTION_LABELS,
    states=tuple(S),
    effects={
        (S.DRAFT, "submit"): "only before the call's deadline, complete and eligible; numbered; organisation "
                             "told (application_received)",
        (S.RETURNED, "submit"): "before the resubmission deadline; officers told (application_resubmitted)",
        (S.SUBMITTED, "mark_eligible"): "organisation told (screening_passed)",
        (S.SUBMITTED, "mark_ineligible"): "reason required; organisation told (screening_ineligible)",
        (S.SUBMITTED, "return"): "reason and resubmission deadline; organisation told (screening_returned)",
        (S.UNDER_REVIEW, "score"): "system: when the last written review is in; organisation told "
                                   "(review_finished)",
        (S.SHORTLISTED, "pitch"): "system: when the last pitch review is in",
        (S.AWARDED, "confirm"): "with the call's finalize (notice ended, objections handled)",
        (S.AWARDED, "cancel"): "an upheld objection cancels the award",
    },
    description="One organisation's application (申报) to a call.",
)

# The officer's screening decisions (形式审查) offered on the application page.
SCREENING_ACTIONS = ("mark_eligible", "mark_ineligible", "return")
