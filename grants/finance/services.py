"""Payment rules: request, approve (and second approval above the threshold), return, release exactly
once, hold and lift (officers), reclaims capped at what was paid, and what an organisation sees.

Every state change goes through `_locked()`: the payment row is re-read with SELECT … FOR UPDATE on
PostgreSQL (a second finance user clicking at the same moment waits, then sees the new state), and the
mapper's version counter makes any stale write fail on every database. Services never commit.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from grants.core.audit import lock_chain, record
from grants.core.errors import DomainError
from grants.core.money import Money
from grants.core.timeutil import now, today_local
from grants.extensions import db
from grants.finance.models import HOLDABLE_STATUSES, Payment, PaymentHold, PaymentStatus, ProjectHold, Reclaim
from grants.finance.states import PAYMENT_WORKFLOW

DEFAULT_SECOND_APPROVAL_FEN = 20_000_000  # ¥200,000


class PaymentError(DomainError):
    """A refused payment action, with a message for the user (and the form field it concerns)."""


class AlreadyDone(PaymentError):
    """The action was already carried out (double submit, retry, or another user was first)."""


# --- settings and helpers ------------------------------------------------------------

def second_approval_threshold_fen() -> int:
    """Payments strictly above this amount need a second finance user's approval (复核)."""
    return int(current_app.config.get("PAYMENT_SECOND_APPROVAL_FEN", DEFAULT_SECOND_APPROVAL_FEN))


def needs_second_approval(payment: Payment) -> bool:
    return payment.amount_fen > second_approval_threshold_fen()


def _locked(payment: Payment) -> Payment:
    """The payment re-read from the database, row-locked until commit on PostgreSQL (after the audit
    chain's lock: the one lock order, see grants/core/audit.py)."""
    lock_chain()
    stmt = sa.select(Payment).where(Payment.id == payment.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Payment)
    return db.session.scalars(stmt).unique().one()


def _flush() -> None:
    """Flush, turning a lost race (the row changed since we read it) into a user message."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise AlreadyDone(_("这笔拨款刚刚已被其他人处理，请查看最新状态。")) from exc


def _check_version(payment: Payment, expected_version: int | None) -> None:
    if expected_version is not None and payment.version != expected_version:
        raise AlreadyDone(_("这笔拨款的状态已变化（可能已被他人处理或重复提交），请查看最新状态后再操作。"))


def tranche_evaluator_ids(tranche) -> set[int]:
    """Users who assessed this tranche (中期/结项评估): they may not approve or release its payment."""
    try:
        from grants.assessments.models import Assessment
    except ImportError:  # pragma: no cover - the assessments domain is always installed
        return set()
    ids = db.session.scalars(sa.select(Assessment.evaluator_id).where(
        Assessment.tranche_id == tranche.id, Assessment.evaluator_id.is_not(None))).all()
    return set(ids)


def duty_conflict(payment: Payment, user, action: str) -> str | None:
    """Why `user` may not do `action` (approve / second_approve / release) on this payment, or None.

    The one who assesses a tranche, the one who approves its payment and the one who releases it are
    three different users; the second approver is yet another finance user.
    """
    if user.id in tranche_evaluator_ids(payment.tranche):
        return _("您是该拨付节点的评估人员，不能审核、复核或支付这笔拨款。")
    if payment.requested_by_id is not None and user.id == payment.requested_by_id:
        return _("这笔拨款申请由您发起，须由其他财务人员审核和支付。")
    if payment.tranche.trigger == "signing" and user.id == payment.contract.countersigned_by_id:
        # The system requests a first tranche when the contract is countersigned: the countersigner's act.
        return _("这笔拨款申请因您会签协议而生成，须由其他财务人员审核和支付。")
    if action == "second_approve" and user.id == payment.approved_by_id:
        return _("复核须由审核人以外的另一位财务人员进行。")
    if action == "release" and user.id in (payment.approved_by_id, payment.second_approved_by_id):
        return _("审核人（复核人）不能同时办理支付，须由另一位财务人员确认支付。")
    return None


def _require_no_conflict(payment: Payment, actor, action: str) -> None:
    problem = duty_conflict(payment, actor, action)
    if problem:
        raise PaymentError(problem)


def _require_reason(reason: str | None, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PaymentError(_("请填写原因"), field)
    if len(reason) > 1000:
        raise PaymentError(_("原因不能超过 1000 字"), field)
    return reason


# --- request ---------------------------------------------------------------------------

def payment_basis(tranche) -> dict:
    """What the system requested a payment on: the evaluator's assessment of the tranche, or the contract
    taking effect (a first tranche paid on signing). {"text": ..., "evaluator": User | None}."""
    from grants.assessments.models import Assessment

    assessment = db.session.scalar(sa.select(Assessment).where(Assessment.tranche_id == tranche.id,
                                                               Assessment.evaluator_id.is_not(None))
                                   .order_by(Assessment.id.desc()).limit(1))
    if assessment is not None:
        return {"text": _("依据评估人员 %(n)s 的评估结果", n=assessment.evaluator.display_name),
                "evaluator": assessment.evaluator}
    return {"text": _("依据资助协议生效（首期拨付）"), "evaluator": None}


def request_payment(tranche, actor) -> Payment | None:
    """Create the payment request for a payable tranche (amount = tranche.payable_fen).

    Idempotent: a second call returns the existing payment (one payment per tranche, also a unique
    constraint). A tranche with nothing payable (fully withheld) gets no payment and returns None.
    """
    existing = db.session.scalar(sa.select(Payment).where(Payment.tranche_id == tranche.id))
    if existing is not None:
        return existing
    amount = tranche.payable_fen or 0
    if amount <= 0:
        return None
    contract = tranche.contract
    payment = Payment(
        tranche_id=tranche.id, contract_id=contract.id, call_id=contract.call_id,
        organization_id=contract.organization_id, amount_fen=amount, status=PaymentStatus.REQUESTED,
        # The system requests the payment (on the evaluator's result or the countersigned contract): no person
        # is its requester, so the evaluator is never named as one, and approval and release stay separate.
        requested_at=now(), requested_by_id=None,
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Two workers making the same tranche payable: the loser's insert hits unique(tranche_id);
        # undo just that insert and hand back the winner's payment.
        try:
            with db.session.begin_nested():
                db.session.add(payment)
        except sa.exc.IntegrityError:
            return db.session.scalars(sa.select(Payment).where(Payment.tranche_id == tranche.id)).one()
    else:
        db.session.add(payment)
    basis = payment_basis(tranche)
    record(None, "payment.request", payment, after={
        "status": str(PaymentStatus.REQUESTED), "amount_fen": amount, "tranche_id": tranche.id,
        "payment_pct": tranche.payment_pct, "withheld_fen": tranche.withheld_fen, "basis": basis["text"],
        "triggered_by": getattr(actor, "display_name", None)})
    project_hold = project_hold_in_force(contract.id)
    if project_hold is not None:
        _hold_under_project(payment, project_hold)
    else:
        _tell_finance("payment_requested", payment)
    return payment


# --- notices ----------------------------------------------------------------------------------

def _payment_vars(p: Payment) -> dict:
    from grants.contracts.services import contract_vars

    return dict(contract_vars(p.contract), tranche=p.tranche.name, amount=Money(p.amount_fen).format())


def _tell_finance(kind: str, p: Payment, *, exclude=()) -> None:
    """The call's finance staff (but not who already acted on this payment) are told it waits for them."""
    from grants.reminders.notices import send_notice, unit_staff

    users = [u for u in unit_staff(p.contract.call.host_unit_id, "finance") if u.id not in set(exclude)]
    send_notice(kind, users, link=f"/finance/payments/{p.id}", **_payment_vars(p))


def _tell_organization(kind: str, p: Payment, **variables) -> None:
    from grants.reminders.notices import organization_people, send_notice

    send_notice(kind, organization_people(p.organization_id), link=f"/contracts/{p.contract_id}",
                **{**_payment_vars(p), **variables})


def _hold_under_project(payment: Payment, project_hold: ProjectHold) -> None:
    """A payment requested while its project is on hold is held at once, by the system, under that hold."""
    payment.hold_reason = project_hold.reason
    PAYMENT_WORKFLOW.transition(payment, "hold", None, roles={"system"}, detail={
        "reason": project_hold.reason, "project_hold_id": project_hold.id, "automatic": True})
    db.session.add(PaymentHold(payment_id=payment.id, reason=project_hold.reason, from_status=PaymentStatus.REQUESTED,
                               placed_by_id=None, placed_at=now(), project_hold_id=project_hold.id))
    _flush()
    _tell_organization("payment_held", payment, reason=project_hold.reason)


# --- finance decisions -------------------------------------------------------------------

def approve_payment(payment: Payment, actor, *, expected_version: int | None = None) -> Payment:
    """审核: a finance user who is neither the tranche's evaluator nor the requester approves."""
    p = _locked(payment)
    if p.status in (PaymentStatus.APPROVED, PaymentStatus.SECOND_APPROVED, PaymentStatus.RELEASED):
        raise AlreadyDone(_("这笔拨款已审核，无需重复操作。"))
    _check_version(p, expected_version)
    if p.status == PaymentStatus.HELD:
        raise PaymentError(_("这笔拨款已被暂停，解除暂停前不能审核。"))
    _require_no_conflict(p, actor, "approve")
    # Fields first: the transition's audit query may autoflush, and the CHECKs want them with the status.
    p.approved_by_id = actor.id
    p.approved_at = now()
    PAYMENT_WORKFLOW.transition(p, "approve", actor, detail={
        "amount_fen": p.amount_fen, "needs_second_approval": needs_second_approval(p)})
    _flush()
    _tell_finance("payment_approved", p, exclude=(actor.id,))
    return p


def second_approve_payment(payment: Payment, actor, *, expected_version: int | None = None) -> Payment:
    """复核: above the threshold, another finance user confirms the approval."""
    p = _locked(payment)
    if p.status in (PaymentStatus.SECOND_APPROVED, PaymentStatus.RELEASED):
        raise AlreadyDone(_("这笔拨款已复核，无需重复操作。"))
    _check_version(p, expected_version)
    if p.status == PaymentStatus.HELD:
        raise PaymentError(_("这笔拨款已被暂停，解除暂停前不能复核。"))
    if not needs_second_approval(p):
        raise PaymentError(_("金额未超过复核限额 %(limit)s，无需复核，可直接支付。",
                             limit=Money(second_approval_threshold_fen()).format()))
    _require_no_conflict(p, actor, "second_approve")
    p.second_approved_by_id = actor.id
    p.second_approved_at = now()
    PAYMENT_WORKFLOW.transition(p, "second_approve", actor, detail={"amount_fen": p.amount_fen})
    _flush()
    _tell_finance("payment_approved", p, exclude=(actor.id, p.approved_by_id))
    return p


def return_payment(payment: Payment, actor, reason: str, *, expected_version: int | None = None) -> Payment:
    """退回 with a reason (e.g. wrong bank details); the approvals are cleared."""
    reason = _require_reason(reason)
    p = _locked(payment)
    if p.status == PaymentStatus.RETURNED:
        raise AlreadyDone(_("这笔拨款已退回。"))
    _check_version(p, expected_version)
    p.returned_reason, p.returned_by_id, p.returned_at = reason, actor.id, now()
    PAYMENT_WORKFLOW.transition(p, "return", actor, detail={"reason": reason})
    _clear_approvals(p)
    _flush()
    from grants.reminders.notices import send_notice, unit_staff

    send_notice("payment_returned", unit_staff(p.contract.call.host_unit_id, "officer"),
                link=f"/finance/payments/{p.id}", reason=reason, **_payment_vars(p))
    return p


def resubmit_payment(payment: Payment, actor, *, expected_version: int | None = None) -> Payment:
    """A returned payment goes back to the queue as requested."""
    p = _locked(payment)
    if p.status != PaymentStatus.RETURNED:
        raise AlreadyDone(_("这笔拨款不在“已退回”状态，无需重新提交。"))
    _check_version(p, expected_version)
    PAYMENT_WORKFLOW.transition(p, "resubmit", actor, detail={"returned_reason": p.returned_reason})
    _flush()
    _tell_finance("payment_requested", p, exclude=(actor.id,))
    return p


def release_payment(payment: Payment, actor, bank_reference: str, released_on: dt.date, *,
                    expected_version: int | None = None) -> Payment:
    """确认支付 — exactly once, by a finance user who neither approved it nor assessed the tranche.

    Two users clicking at once, a double submit or a retry: the first to lock the row releases; the
    others find it released and get AlreadyDone (nothing written, no second audit row).
    """
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise PaymentError(_("请填写银行流水号（交易参考号）"), "bank_reference")
    if len(bank_reference) > 64:
        raise PaymentError(_("银行流水号不能超过 64 个字符"), "bank_reference")
    if released_on is None:
        raise PaymentError(_("请填写支付日期"), "released_on")
    if released_on > today_local():
        raise PaymentError(_("支付日期不能晚于今天"), "released_on")
    p = _locked(payment)
    if p.status == PaymentStatus.RELEASED:
        raise AlreadyDone(_("这笔拨款已于 %(day)s 支付（银行流水号 %(ref)s），不会重复支付。",
                            day=p.released_on.isoformat(), ref=p.bank_reference))
    _check_version(p, expected_version)
    if p.status == PaymentStatus.HELD:
        raise PaymentError(_("这笔拨款已被暂停，解除暂停前不能支付。"))
    if p.status == PaymentStatus.APPROVED and needs_second_approval(p):
        raise PaymentError(_("金额超过 %(limit)s，须由另一位财务人员复核后才能支付。",
                             limit=Money(second_approval_threshold_fen()).format()))
    _require_no_conflict(p, actor, "release")
    used = db.session.scalar(sa.select(Payment.id).where(Payment.bank_reference == bank_reference,
                                                          Payment.id != p.id))
    if used is not None:
        raise PaymentError(_("该银行流水号已用于另一笔拨款，请核对"), "bank_reference")
    contract = p.contract
    p.release_by_id, p.released_at = actor.id, now()
    p.bank_reference, p.released_on = bank_reference, released_on
    p.payee_name = contract.party_b_bank_account_name or contract.party_b_name
    p.payee_bank_name = contract.party_b_bank_name
    p.payee_account_number = contract.party_b_bank_account_number
    PAYMENT_WORKFLOW.transition(p, "release", actor, detail={
        "amount_fen": p.amount_fen, "bank_reference": bank_reference, "released_on": released_on.isoformat()})
    _flush()
    _tell_organization("payment_released", p, date=released_on.isoformat())
    _settle_tranche(p.tranche, actor)
    return p


def _settle_tranche(tranche, actor) -> None:
    """The tranche is paid; the contracts domain closes the project when its last tranche settles."""
    from grants.contracts.services import settle_tranche

    settle_tranche(tranche, actor)


def _clear_approvals(p: Payment) -> None:
    p.approved_by_id = p.approved_at = None
    p.second_approved_by_id = p.second_approved_at = None


# --- officers: hold ---------------------------------------------------------------------

def hold_payment(payment: Payment, actor, reason: str, *, expected_version: int | None = None,
                 project_hold: ProjectHold | None = None) -> Payment:
    """暂停拨付: an officer stops a payment (not yet released) with a reason."""
    reason = _require_reason(reason)
    p = _locked(payment)
    if p.status == PaymentStatus.HELD:
        raise AlreadyDone(_("这笔拨款已处于暂停状态。"))
    if p.status == PaymentStatus.RELEASED:
        raise PaymentError(_("这笔拨款已支付，不能暂停；如需收回请登记追回。"))
    _check_version(p, expected_version)
    from_status = p.status
    p.hold_reason = reason
    PAYMENT_WORKFLOW.transition(p, "hold", actor, detail={"reason": reason})
    db.session.add(PaymentHold(payment_id=p.id, reason=reason, from_status=from_status, placed_by_id=actor.id,
                               placed_at=now(), project_hold_id=project_hold.id if project_hold else None))
    _flush()
    _tell_organization("payment_held", p, reason=reason)
    return p


def project_hold_in_force(contract_id: int) -> ProjectHold | None:
    """The project-wide hold of this contract that is not lifted, if any."""
    return db.session.scalar(sa.select(ProjectHold).where(ProjectHold.contract_id == contract_id,
                                                          ProjectHold.lifted_at.is_(None))
                             .order_by(ProjectHold.id.desc()).limit(1))


def _lock_contract_row(contract_id: int) -> None:
    """The contract's row, locked until commit on PostgreSQL (FOR NO KEY UPDATE: rows that only reference the
    contract, such as a new hold, are not blocked by it). The audit log's append takes no lock any more, so
    project-wide holds take turns on their contract (grants/core/audit.py, LOCK ORDER)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from grants.contracts.models import Contract

        db.session.execute(sa.select(Contract.id).where(Contract.id == contract_id).with_for_update(key_share=True))


def hold_contract_payments(contract, actor, reason: str) -> int:
    """Hold the whole project: every payment not yet released now, and every payment requested while the
    hold is in force (request_payment); returns how many were held now."""
    reason = _require_reason(reason)
    # The contract's row first (LOCK ORDER: contract, then its payments): two officers holding the same
    # project take turns, and the second finds the first one's hold in force (the partial unique index
    # uq_project_hold_in_force backs this).
    _lock_contract_row(contract.id)
    project_hold = project_hold_in_force(contract.id)
    if project_hold is None:
        project_hold = ProjectHold(contract_id=contract.id, reason=reason, placed_by_id=getattr(actor, "id", None),
                                   placed_at=now())
        db.session.add(project_hold)
        db.session.flush()
        record(actor, "project_hold.place", project_hold, after={"contract_id": contract.id, "reason": reason},
               host_unit_id=contract.call.host_unit_id)
    payments = db.session.scalars(sa.select(Payment).where(
        Payment.contract_id == contract.id, Payment.status.in_(HOLDABLE_STATUSES)).order_by(Payment.id)).all()
    for p in payments:
        hold_payment(p, actor, reason, project_hold=project_hold)
    return len(payments)


def lift_project_hold(contract, actor, reason: str) -> int:
    """Lift the project-wide hold: payments requested from now on go ahead, and each payment still held
    under it returns to the queue as requested (lift_hold). Returns how many payments were lifted."""
    reason = _require_reason(reason)
    _lock_contract_row(contract.id)
    project_hold = project_hold_in_force(contract.id)
    if project_hold is None:
        raise AlreadyDone(_("本项目未处于整体暂停拨付状态。"))
    project_hold.lift_reason, project_hold.lifted_by_id, project_hold.lifted_at = reason, actor.id, now()
    record(actor, "project_hold.lift", project_hold, after={"contract_id": contract.id, "reason": reason},
           host_unit_id=contract.call.host_unit_id)
    held = db.session.scalars(
        sa.select(Payment).join(PaymentHold, PaymentHold.payment_id == Payment.id)
        .where(PaymentHold.project_hold_id == project_hold.id, PaymentHold.lifted_at.is_(None),
               Payment.status == PaymentStatus.HELD).order_by(Payment.id)).unique().all()
    for p in held:
        lift_hold(p, actor, reason)
    return len(held)


def lift_hold(payment: Payment, actor, reason: str, *, expected_version: int | None = None) -> Payment:
    """解除暂停: back to requested; approvals given before the hold are cleared and given afresh."""
    reason = _require_reason(reason)
    p = _locked(payment)
    if p.status != PaymentStatus.HELD:
        raise AlreadyDone(_("这笔拨款未处于暂停状态。"))
    _check_version(p, expected_version)
    PAYMENT_WORKFLOW.transition(p, "lift_hold", actor, detail={"reason": reason})
    hold = db.session.scalar(sa.select(PaymentHold).where(PaymentHold.payment_id == p.id,
                                                          PaymentHold.lifted_at.is_(None))
                             .order_by(PaymentHold.id.desc()).limit(1))
    if hold is not None:
        hold.lift_reason, hold.lifted_by_id, hold.lifted_at = reason, actor.id, now()
    p.hold_reason = ""
    _clear_approvals(p)
    _flush()
    _tell_finance("payment_requested", p)
    return p


# --- reclaims ----------------------------------------------------------------------------

def record_reclaim(payment: Payment, actor, amount_fen: int, reason: str, reference: str = "") -> Reclaim:
    """追回: an entry linked to the released payment; all reclaims together never exceed what was paid."""
    reason = _require_reason(reason)
    if amount_fen is None or amount_fen <= 0:
        raise PaymentError(_("追回金额必须大于 0"), "amount")
    p = _locked(payment)
    if p.status != PaymentStatus.RELEASED:
        raise PaymentError(_("只有已支付的拨款才能登记追回。"))
    left = p.amount_fen - (p.reclaimed_fen or 0)
    if amount_fen > left:
        raise PaymentError(_("追回总额不能超过已支付金额：已支付 %(paid)s，已追回 %(done)s，最多还可追回 %(left)s。",
                             paid=Money(p.amount_fen).format(), done=Money(p.reclaimed_fen or 0).format(),
                             left=Money(left).format()), "amount")
    reclaim = Reclaim(payment_id=p.id, amount_fen=amount_fen, reason=reason, reference=(reference or "").strip()[:64],
                      recorded_by_id=actor.id, recorded_at=now())
    db.session.add(reclaim)
    # Bumps the version too: a concurrent reclaim that read the old total cannot also be written.
    p.reclaimed_fen = (p.reclaimed_fen or 0) + amount_fen
    _flush()
    record(actor, "payment.reclaim", p, before={"reclaimed_fen": p.reclaimed_fen - amount_fen},
           after={"reclaimed_fen": p.reclaimed_fen, "amount_fen": amount_fen, "reason": reason,
                  "reclaim_id": reclaim.id})
    _tell_organization("payment_reclaimed", p, amount=Money(amount_fen).format(), reason=reason)
    return reclaim


# --- what organisations and contract pages see --------------------------------------------

def payments_for_contract(contract) -> dict[int, Payment]:
    """{tranche_id: payment} for one contract, reclaims loaded (two queries), for the contract page."""
    payments = db.session.scalars(
        sa.select(Payment).where(Payment.contract_id == contract.id)
        .options(selectinload(Payment.reclaims))).unique().all()
    return {p.tranche_id: p for p in payments}
