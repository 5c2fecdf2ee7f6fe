"""The brand-project selection workflow (品牌项目评选).

draft → nominating → scoring → decided → published; an officer may send a decision back to scoring before
it is published, and cancel a selection that has not been decided."""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.brand.models import NOMINATION_STATUS_LABELS, SELECTION_STATUS_LABELS
from grants.brand.models import NominationStatus as N
from grants.brand.models import SelectionStatus as S
from grants.core.states import Workflow

OFFICER = frozenset({Role.OFFICER})

SELECTION_ACTION_LABELS = {
    "open_nominations": _l("开始推荐"),
    "start_scoring": _l("开始专家评审"),
    "decide": _l("确定入选项目"),
    "reopen_scoring": _l("退回重新评审"),
    "publish": _l("公布结果"),
    "cancel": _l("取消评选"),
}

SELECTION_WORKFLOW = Workflow(
    "brand_selection",
    {
        (S.DRAFT, "open_nominations"): (S.NOMINATING, OFFICER),
        (S.NOMINATING, "start_scoring"): (S.SCORING, OFFICER),
        (S.SCORING, "decide"): (S.DECIDED, OFFICER),
        (S.DECIDED, "reopen_scoring"): (S.SCORING, OFFICER),
        (S.DECIDED, "publish"): (S.PUBLISHED, OFFICER),
        (S.DRAFT, "cancel"): (S.CANCELLED, OFFICER),
        (S.NOMINATING, "cancel"): (S.CANCELLED, OFFICER),
        (S.SCORING, "cancel"): (S.CANCELLED, OFFICER),
    },
    state_labels={str(k): v for k, v in SELECTION_STATUS_LABELS.items()},
    action_labels=SELECTION_ACTION_LABELS,
    states=tuple(S),
    effects={
        (S.NOMINATING, "start_scoring"): "only when no self-nomination waits for a decision and one is accepted",
        (S.DECIDED, "publish"): "the winners become public",
    },
    description="A brand-project selection (品牌项目评选) of one host unit among its finished projects.",
)

# A nomination made by an officer is accepted at once; an organisation's self-nomination (自荐) is proposed
# until an officer accepts or declines it; an accepted one may still be withdrawn (declined) before scoring.
NOMINATION_WORKFLOW = Workflow(
    "brand_nomination",
    {
        (N.PROPOSED, "accept"): (N.ACCEPTED, OFFICER),
        (N.PROPOSED, "decline"): (N.DECLINED, OFFICER),
        (N.ACCEPTED, "decline"): (N.DECLINED, OFFICER),
    },
    state_labels={str(k): v for k, v in NOMINATION_STATUS_LABELS.items()},
    action_labels={"accept": _l("采纳自荐"), "decline": _l("不予采纳")},
    states=tuple(N),
    effects={
        (N.PROPOSED, "accept"): "only while the selection is nominating",
        (N.PROPOSED, "decline"): "reason required (the organisation reads it); only while nominating",
        (N.ACCEPTED, "decline"): "reason required; only while nominating",
    },
    description="A project nominated to a brand selection (by an officer, or put forward by its organisation).",
)
