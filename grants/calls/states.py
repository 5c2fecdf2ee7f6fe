"""The call workflow (docs/WORKFLOWS.md): draft → published → reviewing → notice → finalized → archived.

Closing for review, starting the notice and finalising are taken by the services of calls and awards; the
notice and the finalisation move the awards and applications with them."""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.calls.models import CALL_STATUS_LABELS, CallStatus
from grants.core.states import Workflow

OFFICER = frozenset({Role.OFFICER})

CALL_ACTION_LABELS = {"publish": _l("发布"), "close": _l("截止申报、进入评审"), "start_notice": _l("进入公示"),
                      "finalize": _l("确定立项"), "archive": _l("归档")}

CALL_WORKFLOW = Workflow(
    "call",
    {
        (CallStatus.DRAFT, "publish"): (CallStatus.PUBLISHED, OFFICER),
        (CallStatus.PUBLISHED, "close"): (CallStatus.REVIEWING, OFFICER),
        (CallStatus.REVIEWING, "start_notice"): (CallStatus.NOTICE, OFFICER),
        (CallStatus.NOTICE, "finalize"): (CallStatus.FINALIZED, OFFICER),
        (CallStatus.FINALIZED, "archive"): (CallStatus.ARCHIVED, OFFICER),
    },
    state_labels=CALL_STATUS_LABELS,
    action_labels=CALL_ACTION_LABELS,
    states=tuple(CallStatus),
    effects={
        (CallStatus.DRAFT, "publish"): "only after every check of the call passes; the call becomes public",
        (CallStatus.PUBLISHED, "close"): "submitted applications wait for screening; organisations are told "
                                         "(call_closed)",
        (CallStatus.REVIEWING, "start_notice"): "taken by publishing the approved award list (public notice, "
                                                "objection window opens)",
        (CallStatus.NOTICE, "finalize"): "awards confirmed, their applications confirmed, the rest not awarded",
    },
    description="A call for proposals (申报指南) of one host unit.",
)
