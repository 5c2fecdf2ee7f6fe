"""The progress-report and assessment workflows (docs/WORKFLOWS.md).

Report: draft → submitted → accepted (受理, an evaluator assigned) | returned (退回, edited and resubmitted).
Assessment: assigned → submitted (评分); the band of the score moves the tranche (see the tranche workflow)."""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.assessments.models import ASSESSMENT_STATUS_LABELS, REPORT_STATUS_LABELS
from grants.assessments.models import AssessmentStatus as AS
from grants.assessments.models import ReportStatus as R
from grants.core.states import Workflow

OFFICER = frozenset({Role.OFFICER})
APPLICANT = frozenset({Role.APPLICANT})

REPORT_WORKFLOW = Workflow(
    "report",
    {
        (R.DRAFT, "submit"): (R.SUBMITTED, APPLICANT),
        (R.RETURNED, "submit"): (R.SUBMITTED, APPLICANT),
        (R.SUBMITTED, "return"): (R.RETURNED, OFFICER),
        (R.SUBMITTED, "accept"): (R.ACCEPTED, OFFICER),
    },
    state_labels={str(k): v for k, v in REPORT_STATUS_LABELS.items()},
    action_labels={"submit": _l("提交报告"), "return": _l("退回报告"), "accept": _l("受理报告")},
    states=tuple(R),
    effects={
        (R.DRAFT, "submit"): "complete reports only (a rectification report only until its deadline); the "
                             "tranche takes submit_report; officers told (report_submitted)",
        (R.RETURNED, "submit"): "as from draft",
        (R.SUBMITTED, "return"): "comment required; the tranche takes return_report (return_rectification in "
                                 "round 2); the organisation is told (report_returned)",
        (R.SUBMITTED, "accept"): "an evaluator (not of the organisation, not the officer) is assigned: a new "
                                 "assessment; organisation told (report_accepted), evaluator told "
                                 "(assessment_assigned)",
    },
    description="A midterm or final progress report (中期/结项报告) of one tranche, round 1 or 2 (rectification).",
)

ASSESSMENT_WORKFLOW = Workflow(
    "assessment",
    {
        (AS.ASSIGNED, "submit"): (AS.SUBMITTED, frozenset({Role.EVALUATOR})),
    },
    state_labels={str(k): v for k, v in ASSESSMENT_STATUS_LABELS.items()},
    action_labels={"submit": _l("提交评估")},
    states=tuple(AS),
    effects={
        (AS.ASSIGNED, "submit"): "only by the assigned evaluator; the tranche takes assess, then by the band: "
                                 "make_payable (payment requested), rectify (round 1) or withhold; a failed "
                                 "final assessment flags a reclaim",
    },
    description="A third-party assessment (第三方评估) of one accepted report.",
)
