"""Contract rules: making a contract from a confirmed award, issuing, signing, countersigning,
terminating and closing it, and THE hook that makes a tranche payable (mark_tranche_payable)."""
from __future__ import annotations

import datetime as dt
import importlib.util

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.contracts.models import SETTLED_TRANCHE_STATES, Contract, ContractStatus, Tranche, TrancheStatus
from grants.contracts.states import CONTRACT_WORKFLOW, TRANCHE_WORKFLOW
from grants.core.audit import lock_chain, record
from grants.core.errors import DomainError
from grants.core.money import Money, yuan
from grants.core.timeutil import now, today_local
from grants.extensions import db

SYSTEM_ROLES = {"system"}
# Used when a call has no tranche template: 首期 on signing, then after the mid-term and final assessments.
DEFAULT_TRANCHES = [(1, "首期款", 40, "signing"), (2, "中期款", 30, "midterm_assessment"),
                    (3, "尾款", 30, "final_assessment")]
DEFAULT_TERMS = """第一条 项目内容
乙方按照经评审确认的申报书（项目名称：{项目名称}）组织实施项目，完成协议约定的绩效目标。

第二条 资助金额与拨付
甲方资助乙方{金额大写}（{金额}），按本协议拨付计划分期拨付。首期款在协议生效后拨付；其余各期在中期、结项评估后，按评估等级对应的比例拨付，评估不合格的须在限期内整改，整改后仍不合格的不予拨付。

第三条 资金管理
乙方应专款专用、单独核算，不得截留、挪用；项目资金使用接受甲方、第三方评估机构和审计部门的监督检查。

第四条 报告与评估
乙方应按时提交中期报告和结项报告，如实反映项目进展、绩效目标完成情况和资金使用情况，并提供佐证材料。

第五条 违约责任
乙方违反本协议约定、弄虚作假或结项评估不合格的，甲方有权终止协议、停止拨付并追回已拨付资金。

第六条 其他
本协议一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。"""


class ContractError(DomainError):
    """A refused contract action, with a Chinese message for the user."""


# --- numbers, terms, schedule ---------------------------------------------------------------

def contract_prefix(call) -> str:
    """Every contract of a call shares this prefix: GYCT-<year>-<call id>-."""
    return f"GYCT-{call.year}-{call.id:03d}-"


def _next_seq(call_id: int) -> int:
    current = db.session.scalar(sa.select(sa.func.max(Contract.seq)).where(Contract.call_id == call_id))
    return (current or 0) + 1


def fill_terms(template: str, contract: Contract) -> str:
    """The call's terms template with the contract's own names and amounts filled in."""
    money = Money(contract.amount_fen)
    values = {"{甲方}": contract.party_a_name, "{乙方}": contract.party_b_name,
              "{项目名称}": contract.project_name, "{金额}": money.format(), "{金额大写}": money.capitals(),
              "{协议编号}": contract.number}
    text = template
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def tranche_plan(call) -> list[tuple[int, str, int, str]]:
    """(seq, name, percent, trigger) from the call's tranche template, or the default 40/30/30."""
    rows = [(t.seq, t.name, t.percent, str(t.trigger)) for t in sorted(call.tranches, key=lambda t: t.seq)]
    return rows or list(DEFAULT_TRANCHES)


def build_tranches(amount_fen: int, plan, start: dt.date, end: dt.date) -> list[Tranche]:
    """Tranches whose planned amounts add up exactly to the contract amount (remainder on the last)."""
    parts = Money(amount_fen).split([p for _s, _n, p, _t in plan])
    midpoint = start + (end - start) / 2
    tranches = []
    for (seq, name, percent, trigger), part in zip(plan, parts):
        due_on = {"midterm_assessment": midpoint, "final_assessment": end}.get(trigger)
        tranches.append(Tranche(seq=seq, name=name, percent=percent, trigger=trigger, planned_fen=part.fen,
                                status=TrancheStatus.SCHEDULED, due_on=due_on))
    return tranches


def create_contract_from_award(award, actor) -> Contract:
    """A confirmed award becomes a draft contract with its number, both parties, amount, period,
    the call's terms and the tranche schedule."""
    if str(award.status) != "confirmed":
        raise ContractError(_("只有已立项（公示期满确认）的资助才能生成协议"))
    if db.session.scalar(sa.select(Contract.id).where(Contract.award_id == award.id)) is not None:
        raise ContractError(_("该项目已生成协议"))
    call, application, org = award.call, award.application, award.organization
    start = call.project_start_on or today_local()
    end = call.project_end_on or (start + dt.timedelta(days=365))
    if end < start:
        raise ContractError(_("征集公告的项目执行期有误：结束日期早于开始日期"))
    seq = _next_seq(call.id)
    contract = Contract(
        award_id=award.id, call_id=call.id, application_id=application.id, organization_id=org.id,
        seq=seq, number=f"{contract_prefix(call)}{seq:03d}", project_name=application.display_name,
        amount_fen=award.amount_fen, status=ContractStatus.DRAFT, period_start_on=start, period_end_on=end,
        party_a_name=call.host_unit.name, party_b_name=org.name,
        party_b_uscc=org.uscc or org.filing_number or "",
        party_b_bank_account_name=org.bank_account_name or org.name, party_b_bank_name=org.bank_name or "",
        party_b_bank_account_number=org.bank_account_number or "",
        created_by_id=getattr(actor, "id", None), created_at=now(),
    )
    contract.terms = fill_terms(call.contract_terms or DEFAULT_TERMS, contract)
    contract.tranches = build_tranches(award.amount_fen, tranche_plan(call), start, end)
    db.session.add(contract)
    db.session.flush()
    record(actor, "contract.create", contract, after={"number": contract.number, "amount_fen": contract.amount_fen,
                                                      "award_id": award.id})
    return contract


def update_contract(contract: Contract, *, terms: str, period_start_on: dt.date, period_end_on: dt.date,
                    actor) -> None:
    """Edit the terms and period while the contract is a draft; report due dates follow the period."""
    if contract.status != ContractStatus.DRAFT:
        raise ContractError(_("协议已下发，不能再修改；如需修改请先撤回"))
    terms = (terms or "").strip()
    if not terms:
        raise ContractError(_("请填写协议条款"), "terms")
    if period_end_on < period_start_on:
        raise ContractError(_("结束日期不能早于开始日期"), "period_end_on")
    before = {"period": [str(contract.period_start_on), str(contract.period_end_on)],
              "terms_length": len(contract.terms)}
    contract.terms = terms
    contract.period_start_on, contract.period_end_on = period_start_on, period_end_on
    midpoint = period_start_on + (period_end_on - period_start_on) / 2
    for t in contract.tranches:
        t.due_on = {"midterm_assessment": midpoint, "final_assessment": period_end_on}.get(t.trigger)
    record(actor, "contract.edit", contract, before=before,
           after={"period": [str(period_start_on), str(period_end_on)], "terms_length": len(terms)})


# --- the contract workflow --------------------------------------------------------------------

def _locked(contract: Contract) -> Contract:
    """The contract re-read from the database, row-locked until commit on PostgreSQL, after the audit chain's
    lock (LOCK ORDER, grants/core/audit.py). With the version counter (Contract.version) this makes every
    transition happen once: fifty simultaneous countersigns take turns, and the second finds the contract
    active and is refused; a writer that read an older version fails on every database (StaleDataError)."""
    lock_chain()
    stmt = sa.select(Contract).where(Contract.id == contract.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Contract)
    return db.session.scalars(stmt).unique().one()


def _transition(contract: Contract, action: str, actor, *, roles=None, detail=None, **fields) -> None:
    """Move the contract and set the fields its new state needs in one step: the table's CHECK
    constraints tie them together, so nothing is flushed in between. A refused move changes nothing."""
    contract = _locked(contract)
    with db.session.no_autoflush:
        CONTRACT_WORKFLOW.transition(contract, action, actor, roles=roles, detail=detail)
        for name, value in fields.items():
            setattr(contract, name, value)

def issue_contract(contract: Contract, actor) -> None:
    """下发: the organisation can now read and sign it."""
    if sum(t.planned_fen for t in contract.tranches) != contract.amount_fen:
        raise ContractError(_("拨付计划各期金额之和与协议金额不一致"))
    _transition(contract, "issue", actor, issued_at=now(), issued_by_id=actor.id)
    tell_organization("contract_issued", contract, amount=yuan(contract.amount_fen))


def recall_contract(contract: Contract, actor) -> None:
    """Take an issued (not yet signed) contract back to draft to correct it."""
    _transition(contract, "recall", actor)


def sign_contract(contract: Contract, actor, *, signer_name: str, signer_title: str, scan=None) -> None:
    """The organisation's administrator accepts the contract with name and title (and the stamped scan)."""
    signer_name, signer_title = (signer_name or "").strip(), (signer_title or "").strip()
    if not signer_name:
        raise ContractError(_("请填写签署人姓名"), "signer_name")
    if not signer_title:
        raise ContractError(_("请填写签署人职务"), "signer_title")
    _transition(contract, "sign", actor, detail={"signer": signer_name, "title": signer_title},
                signer_name=signer_name[:50], signer_title=signer_title[:50], signed_by_id=actor.id,
                signed_at=now())
    from grants.accounts.models import User

    # Whoever issued it countersigns as a rule; the unit's other officers may too.
    issuer = db.session.get(User, contract.issued_by_id) if contract.issued_by_id else None
    tell_staff("contract_signed", contract, [issuer, *unit_users(contract.call.host_unit_id, "officer")])
    if scan is not None:
        contract.signed_scan = scan


def reject_signature(contract: Contract, actor, reason: str) -> None:
    """Send the signature back (wrong signer, unreadable scan) so the organisation signs again."""
    reason = (reason or "").strip()
    if not reason:
        raise ContractError(_("请填写退回原因"), "reason")
    _transition(contract, "reject_signature", actor, detail={"reason": reason})
    tell_organization("signature_rejected", contract, reason=reason)
    contract.signed_at = None
    contract.signed_by_id = None
    contract.signed_scan_file_id = None


def countersign_contract(contract: Contract, actor) -> None:
    """甲方会签: the contract is in force; the signing tranche becomes payable and the first report is due."""
    _transition(contract, "countersign", actor, countersigned_by_id=actor.id, countersigned_at=now())
    tell_organization("contract_active", contract)
    for tranche in contract.tranches:
        if tranche.trigger == "signing" and tranche.status == TrancheStatus.SCHEDULED:
            mark_tranche_payable(tranche, actor, payment_pct=100)
    open_next_report(contract, actor)


def terminate_contract(contract: Contract, actor, reason: str) -> None:
    """终止 with a reason; tranches not yet payable are withheld in full (never silently dropped)."""
    reason = (reason or "").strip()
    if not reason:
        raise ContractError(_("请填写终止原因"), "reason")
    _transition(contract, "terminate", actor, detail={"reason": reason}, terminated_reason=reason[:1000],
                terminated_at=now())
    for tranche in contract.tranches:
        if tranche.status in (TrancheStatus.SCHEDULED, TrancheStatus.DUE, TrancheStatus.REPORT_SUBMITTED,
                              TrancheStatus.RECTIFYING):
            withhold_tranche(tranche, actor, reason=_("协议终止"))
    if _finance_installed():
        from grants.finance.services import hold_contract_payments

        # Requested but unreleased payments stop too; finance can still see why.
        hold_contract_payments(contract, actor, _("协议终止：%(r)s", r=reason)[:1000])


def can_be_completed(contract: Contract) -> bool:
    return contract.status == ContractStatus.ACTIVE and all(t.status in SETTLED_TRANCHE_STATES
                                                            for t in contract.tranches)


def complete_contract(contract: Contract, actor) -> None:
    """结项: every tranche is paid or withheld; the final grade goes on the organisation's record."""
    if not can_be_completed(contract):
        raise ContractError(_("尚有未结清的拨付节点，不能结项"))
    roles = None if getattr(actor, "has_role", None) and actor.has_role("officer") else SYSTEM_ROLES
    _transition(contract, "complete", actor, roles=roles, completed_at=now())
    keep_final_grade(contract)


def keep_final_grade(contract: Contract) -> None:
    """The final tranche's grade (or fail, when it was withheld) is kept on the application, where the
    next call's eligibility rule (exclude_failed_previous) reads it."""
    final = [t for t in contract.tranches if t.trigger == "final_assessment"]
    if not final:
        return
    tranche = final[-1]
    grade = tranche.grade or ("fail" if tranche.status == TrancheStatus.WITHHELD else None)
    if grade:
        contract.application.final_grade = grade


# --- tranches ---------------------------------------------------------------------------------

def _finance_installed() -> bool:
    return (importlib.util.find_spec("grants.finance") is not None
            and importlib.util.find_spec("grants.finance.services") is not None)


def _finance_request_payment():
    """FINANCE's request_payment if the finance domain is installed, else None."""
    if not _finance_installed():
        return None
    from grants.finance.services import request_payment

    return request_payment


def mark_tranche_payable(tranche: Tranche, actor, payment_pct: int | None = None) -> None:
    """THE hook that makes a tranche payable: payable = planned × payment_pct (half up), the rest
    withheld; then the payment request is created. A 0 % tranche is withheld instead."""
    pct = payment_pct if payment_pct is not None else (tranche.payment_pct if tranche.payment_pct is not None else 100)
    payable = Money(tranche.planned_fen).times_ratio(pct).fen
    tranche.payment_pct = pct
    tranche.payable_fen = payable
    tranche.withheld_fen = tranche.planned_fen - payable
    if payable == 0:
        TRANCHE_WORKFLOW.transition(tranche, "withhold", actor, roles=SYSTEM_ROLES,
                                    detail={"payment_pct": pct, "withheld_fen": tranche.withheld_fen})
        tranche.settled_at = now()
        tell_organization("tranche_withheld", tranche.contract, tranche=tranche.name,
                          amount=yuan(tranche.withheld_fen), reason=_("按评估结果不予拨付"))
        return
    TRANCHE_WORKFLOW.transition(tranche, "make_payable", actor, roles=SYSTEM_ROLES,
                                detail={"payment_pct": pct, "payable_fen": payable,
                                        "withheld_fen": tranche.withheld_fen})
    tranche.payable_at = now()
    db.session.flush()
    request_payment = _finance_request_payment()
    if request_payment is not None:
        request_payment(tranche, actor)


def withhold_tranche(tranche: Tranche, actor, *, reason: str, roles=None) -> None:
    """Nothing of this tranche will be paid: payable 0, withheld = planned, and the reason recorded."""
    tranche.payable_fen = 0
    tranche.withheld_fen = tranche.planned_fen
    if tranche.payment_pct is None:
        tranche.payment_pct = 0
    TRANCHE_WORKFLOW.transition(tranche, "withhold", actor, roles=roles or SYSTEM_ROLES,
                                detail={"reason": str(reason), "withheld_fen": tranche.planned_fen})
    tranche.settled_at = now()
    tell_organization("tranche_withheld", tranche.contract, tranche=tranche.name, amount=yuan(tranche.planned_fen),
                      reason=str(reason))


def open_next_report(contract: Contract, actor) -> Tranche | None:
    """The earliest gated tranche still scheduled becomes due (reports come one after another)."""
    for tranche in contract.tranches:
        if not tranche.is_gated:
            continue
        if tranche.status == TrancheStatus.SCHEDULED:
            TRANCHE_WORKFLOW.transition(tranche, "open_reporting", actor, roles=SYSTEM_ROLES)
            return tranche
        if not tranche.is_settled and tranche.status != TrancheStatus.PAYABLE:
            return None  # an earlier report is still in progress
    return None


def settle_tranche(tranche: Tranche, actor) -> None:
    """Called by finance when the tranche's payment is released: paid; the project closes with its last tranche."""
    if tranche.status == TrancheStatus.PAID:
        return
    TRANCHE_WORKFLOW.transition(tranche, "pay", actor, roles=SYSTEM_ROLES)
    tranche.settled_at = now()
    close_if_settled(tranche.contract, actor)


def close_if_settled(contract: Contract, actor) -> bool:
    """Complete the contract when its last tranche is settled."""
    if can_be_completed(contract):
        _transition(contract, "complete", actor, roles=SYSTEM_ROLES, completed_at=now())
        keep_final_grade(contract)
        return True
    return False


def reclaim_suggested(contract: Contract) -> bool:
    """True when a failed final assessment means earlier payments should be reclaimed (追回)."""
    return contract.reclaim_flagged_at is not None


def flag_reclaim(contract: Contract, actor, reason: str, link: str | None = None) -> None:
    """A failed final assessment: earlier payments should be reclaimed (追回). The contract and payment
    pages show it, and the call's finance staff are told, since they record the reclaim."""
    if contract.reclaim_flagged_at is None:
        contract.reclaim_flagged_at = now()
        contract.reclaim_reason = reason[:1000]
        record(actor, "contract.flag_reclaim", contract, after={"reason": reason})
        tell_staff("reclaim_flagged", contract, unit_users(contract.call.host_unit_id, "finance"),
                   link=link or contract_link(contract), reason=reason)


def payments_by_tranche(contract: Contract) -> dict:
    """{tranche_id: Payment} from finance when installed (for the schedule), else {}."""
    if not _finance_installed():
        return {}
    from grants.finance.services import payments_for_contract

    return payments_for_contract(contract)


def contract_for_award_ids(award_ids) -> dict[int, Contract]:
    if not award_ids:
        return {}
    rows = db.session.scalars(sa.select(Contract).where(Contract.award_id.in_(list(award_ids)))).all()
    return {c.award_id: c for c in rows}


# --- notifications ------------------------------------------------------------------------------

def unit_users(unit_id: int, role: str) -> list:
    """Active users of a host unit with a role (e.g. the call's finance staff)."""
    from grants.accounts.models import User, UserRole

    return list(db.session.scalars(
        sa.select(User).join(UserRole, UserRole.user_id == User.id)
        .where(User.host_unit_id == unit_id, UserRole.role == role, User.is_active_account.is_(True))
        .order_by(User.id)).unique())


def contract_link(contract: Contract) -> str:
    return f"/contracts/{contract.id}"


def contract_vars(contract: Contract) -> dict:
    """The variables every contract notice offers (notices.V_CONTRACT)."""
    return dict(project=contract.project_name, organization=contract.party_b_name, contract_number=contract.number)


def tell_organization(kind: str, contract: Contract, *, link: str | None = None, **variables) -> None:
    """A notice of `kind` to every member of the contract's organisation."""
    from grants.reminders.notices import organization_people, send_notice

    send_notice(kind, organization_people(contract.organization_id), link=link or contract_link(contract),
                **{**contract_vars(contract), **variables})


def tell_staff(kind: str, contract: Contract, users, *, link: str | None = None, **variables) -> None:
    """A notice of `kind` about this contract to the staff who must act on it."""
    from grants.reminders.notices import send_notice

    send_notice(kind, users, link=link or contract_link(contract), **{**contract_vars(contract), **variables})
