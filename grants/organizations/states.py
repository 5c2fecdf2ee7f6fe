"""The organisation workflow (docs/WORKFLOWS.md): pending → verified ⇄ suspended; a pending organisation that is
not verified is suspended with the reason. A change request (变更申请) is pending until approved or rejected."""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.core.states import Workflow
from grants.organizations.models import (
    CHANGE_REQUEST_STATUS_LABELS, ORG_STATUS_LABELS, ChangeRequestStatus, OrgStatus,
)

OFFICER = frozenset({Role.OFFICER})

ORG_WORKFLOW = Workflow(
    "organization",
    {
        (OrgStatus.PENDING, "verify"): (OrgStatus.VERIFIED, OFFICER),
        (OrgStatus.VERIFIED, "suspend"): (OrgStatus.SUSPENDED, OFFICER),
        (OrgStatus.SUSPENDED, "reinstate"): (OrgStatus.VERIFIED, OFFICER),
        (OrgStatus.PENDING, "reject"): (OrgStatus.SUSPENDED, OFFICER),
    },
    state_labels=ORG_STATUS_LABELS,
    action_labels={"verify": _l("认证通过"), "suspend": _l("暂停"), "reinstate": _l("恢复"), "reject": _l("不予认证")},
    states=tuple(OrgStatus),
    effects={
        (OrgStatus.PENDING, "verify"): "verified_at set; the organisation's members are told (organization_status)",
        (OrgStatus.VERIFIED, "suspend"): "reason required; members told (organization_status)",
        (OrgStatus.SUSPENDED, "reinstate"): "verified_at set; members told (organization_status)",
        (OrgStatus.PENDING, "reject"): "reason required; members told (organization_status)",
    },
    description="A registered social organisation (社会组织), verified by an officer of its unit or one above.",
)

CHANGE_REQUEST_WORKFLOW = Workflow(
    "organization_change_request",
    {
        (ChangeRequestStatus.PENDING, "approve"): (ChangeRequestStatus.APPROVED, OFFICER),
        (ChangeRequestStatus.PENDING, "reject"): (ChangeRequestStatus.REJECTED, OFFICER),
    },
    state_labels=CHANGE_REQUEST_STATUS_LABELS,
    action_labels={"approve": _l("批准"), "reject": _l("驳回")},
    states=tuple(ChangeRequestStatus),
    effects={
        (ChangeRequestStatus.PENDING, "approve"): "the requested facts are written to the organisation "
                                                  "(identity re-checked); its admins are told (org_change_decided)",
        (ChangeRequestStatus.PENDING, "reject"): "a note is required; its admins are told (org_change_decided)",
    },
    description="A verified organisation's request to change a verified fact (变更申请).",
)
