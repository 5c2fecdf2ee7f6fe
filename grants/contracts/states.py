"""The contract and tranche workflows (docs/WORKFLOWS.md, generated from the tables below).

Contract: draft → issued → signed_by_org → active (countersigned) → completed | terminated.
Tranche: scheduled → due → report_submitted → assessed → payable | rectifying | withheld → paid.
Automatic steps (activation, the band's decision) run with roles={'system'} and the acting user recorded.
"""
from flask_babel import lazy_gettext as _l

from grants.accounts.models import Role
from grants.contracts.models import CONTRACT_STATUS_LABELS, TRANCHE_STATUS_LABELS
from grants.contracts.models import ContractStatus as C
from grants.contracts.models import TrancheStatus as T
from grants.core.states import Workflow

OFFICER = frozenset({Role.OFFICER})
APPLICANT = frozenset({Role.APPLICANT})
SYSTEM = frozenset({"system"})
OFFICER_OR_SYSTEM = frozenset({Role.OFFICER, "system"})

CONTRACT_ACTION_LABELS = {
    "issue": _l("下发协议"),
    "recall": _l("撤回修改"),
    "sign": _l("乙方签署"),
    "reject_signature": _l("退回重签"),
    "countersign": _l("甲方会签生效"),
    "complete": _l("结项"),
    "terminate": _l("终止协议"),
}

CONTRACT_WORKFLOW = Workflow(
    "contract",
    {
        (C.DRAFT, "issue"): (C.ISSUED, OFFICER),
        (C.ISSUED, "recall"): (C.DRAFT, OFFICER),
        (C.ISSUED, "sign"): (C.SIGNED_BY_ORG, APPLICANT),
        (C.SIGNED_BY_ORG, "reject_signature"): (C.ISSUED, OFFICER),
        (C.SIGNED_BY_ORG, "countersign"): (C.ACTIVE, OFFICER),
        (C.ACTIVE, "complete"): (C.COMPLETED, OFFICER_OR_SYSTEM),
        (C.DRAFT, "terminate"): (C.TERMINATED, OFFICER),
        (C.ISSUED, "terminate"): (C.TERMINATED, OFFICER),
        (C.SIGNED_BY_ORG, "terminate"): (C.TERMINATED, OFFICER),
        (C.ACTIVE, "terminate"): (C.TERMINATED, OFFICER),
    },
    state_labels={str(k): v for k, v in CONTRACT_STATUS_LABELS.items()},
    action_labels=CONTRACT_ACTION_LABELS,
    states=tuple(C),
    effects={
        (C.DRAFT, "issue"): "tranche amounts must add up to the contract's; organisation told (contract_issued)",
        (C.ISSUED, "sign"): "by an administrator of the organisation, with name and title; issuer and unit "
                            "officers told (contract_signed)",
        (C.SIGNED_BY_ORG, "reject_signature"): "reason required; organisation told (signature_rejected)",
        (C.SIGNED_BY_ORG, "countersign"): "organisation told (contract_active); a signing tranche becomes payable "
                                          "(payment requested); the first report is due",
        (C.ACTIVE, "complete"): "once every tranche is settled",
        **{(st, "terminate"): "reason required; tranches not yet payable are withheld; payments held"
           for st in (C.DRAFT, C.ISSUED, C.SIGNED_BY_ORG, C.ACTIVE)},
    },
    description="The grant agreement (资助协议) of one confirmed award.",
)

TRANCHE_ACTION_LABELS = {
    "open_reporting": _l("开始报告期"),
    "submit_report": _l("提交报告"),
    "return_report": _l("退回报告"),
    "return_rectification": _l("退回整改报告"),
    "assess": _l("完成评估"),
    "make_payable": _l("可拨付"),
    "rectify": _l("进入整改"),
    "withhold": _l("不予拨付"),
    "pay": _l("已拨付"),
}

TRANCHE_WORKFLOW = Workflow(
    "tranche",
    {
        (T.SCHEDULED, "open_reporting"): (T.DUE, OFFICER_OR_SYSTEM),
        (T.SCHEDULED, "make_payable"): (T.PAYABLE, SYSTEM),
        (T.DUE, "submit_report"): (T.REPORT_SUBMITTED, APPLICANT),
        (T.RECTIFYING, "submit_report"): (T.REPORT_SUBMITTED, APPLICANT),
        (T.REPORT_SUBMITTED, "return_report"): (T.DUE, OFFICER),
        (T.REPORT_SUBMITTED, "return_rectification"): (T.RECTIFYING, OFFICER),
        (T.REPORT_SUBMITTED, "assess"): (T.ASSESSED, SYSTEM),
        (T.ASSESSED, "make_payable"): (T.PAYABLE, SYSTEM),
        (T.ASSESSED, "rectify"): (T.RECTIFYING, SYSTEM),
        (T.ASSESSED, "withhold"): (T.WITHHELD, SYSTEM),
        # The rectification deadline passed without a resubmission, or the contract was terminated.
        (T.RECTIFYING, "withhold"): (T.WITHHELD, OFFICER_OR_SYSTEM),
        (T.SCHEDULED, "withhold"): (T.WITHHELD, SYSTEM),
        (T.DUE, "withhold"): (T.WITHHELD, SYSTEM),
        (T.REPORT_SUBMITTED, "withhold"): (T.WITHHELD, SYSTEM),
        (T.PAYABLE, "pay"): (T.PAID, frozenset({Role.FINANCE, "system"})),
    },
    state_labels={str(k): v for k, v in TRANCHE_STATUS_LABELS.items()},
    action_labels=TRANCHE_ACTION_LABELS,
    states=tuple(T),
    effects={
        (T.SCHEDULED, "make_payable"): "a tranche paid on signing: a payment is requested",
        (T.ASSESSED, "make_payable"): "the band's payment ratio applies; a payment is requested",
        (T.ASSESSED, "rectify"): "a failing round-1 assessment: a rectification deadline is set",
        (T.PAYABLE, "pay"): "taken when its payment is released",
    },
    description="One instalment (分期) of a contract: reported on, assessed, then paid or withheld.",
)
