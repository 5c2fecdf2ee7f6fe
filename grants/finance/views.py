"""Finance pages: the payment queue, a payment with its decision forms, the voucher PDF (拨款通知单),
and the ledgers (台账) per call with their Excel export."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from grants.accounts.models import Role
from grants.calls.models import Call
from grants.core.batch import render_outcome, run_batch, selected_ids
from grants.core.inputs import int_or_none
from grants.core.money import Money
from grants.core.pdf import pdf_response, render_pdf
from grants.core.states import IllegalTransition
from grants.core.timeutil import now, today_local
from grants.core.web import Page, ensure, get_or_404, paginate
from grants.extensions import db
from grants.finance import bp
from grants.finance import permissions as perm
from grants.finance import services
from grants.core.excel import xlsx_response
from grants.finance.exports import ledger_workbook, payments_workbook
from grants.finance.forms import (
    HoldForm, LiftForm, PaymentActionForm, QueueFilterForm, ReasonForm, ReclaimForm, ReleaseForm,
)
from grants.finance.ledger import (ENTRY_KIND_LABELS, ENTRY_KINDS, call_ledger, calls_summary, ledger_entries_page,
                                   ledger_totals)
from grants.finance.models import OPEN_STATUSES, Payment, PaymentHold, PaymentStatus, Reclaim
from grants.finance.states import PAYMENT_WORKFLOW
from grants.organizations.models import Organization

PER_PAGE = 30
LEDGER_PER_PAGE = 100


def _scope_call_ids():
    """Calls of the current user's unit subtree, as a subquery."""
    from grants.organizations.services import unit_subtree_ids

    return sa.select(Call.id).where(Call.host_unit_id.in_(unit_subtree_ids(current_user.host_unit_id)))


# --- the queue ----------------------------------------------------------------------------

def _queue_filters():
    """The queue's filter form and its SQL conditions (the list and its Excel export share them)."""
    scope = _scope_call_ids()
    calls = db.session.scalars(sa.select(Call).where(Call.id.in_(scope))
                               .order_by(Call.year.desc(), Call.id.desc())).all()
    form = QueueFilterForm(request.args)
    form.fill(calls)
    conditions = [Payment.call_id.in_(scope)]
    status = request.args.get("status") or "open"
    if status == "open":
        conditions.append(Payment.status.in_(OPEN_STATUSES))
    elif status == "reclaim":
        # Released payments of projects whose failed final assessment suggests a reclaim, not yet fully reclaimed.
        from grants.contracts.models import Contract

        conditions += [Payment.status == PaymentStatus.RELEASED, Payment.reclaimed_fen < Payment.amount_fen,
                       Payment.contract_id.in_(sa.select(Contract.id).where(Contract.reclaim_flagged_at.is_not(None)))]
    elif status in set(PaymentStatus):
        conditions.append(Payment.status == status)
    form.status.data = status
    call_id = request.args.get("call_id", type=int)
    if call_id:
        conditions.append(Payment.call_id == call_id)
    org = (request.args.get("org") or "").strip()[:100]
    if org:
        conditions.append(Payment.organization_id.in_(
            sa.select(Organization.id).where(Organization.name.contains(org, autoescape=True))))
    return form, conditions


@bp.route("/payments")
@login_required
def queue():
    """付款队列: filters by status, call and organisation; a fixed number of queries per page."""
    ensure(perm.can_browse_payments(current_user))
    form, conditions = _queue_filters()
    stmt = sa.select(Payment).where(*conditions).order_by(Payment.requested_at.desc(), Payment.id.desc())
    page = paginate(stmt, per_page=PER_PAGE,
                    count_stmt=sa.select(sa.func.count(Payment.id)).where(*conditions))
    totals = db.session.execute(sa.select(sa.func.count(Payment.id), sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0))
                                .where(*conditions)).one()
    return render_template("finance/queue.html", page=page, form=form, total_fen=int(totals[1]),
                           threshold_fen=services.second_approval_threshold_fen(),
                           can_batch=current_user.has_role(Role.FINANCE), batch_form=PaymentActionForm(),
                           today=today_local())


@bp.route("/payments.xlsx")
@login_required
def queue_export():
    """The queue as filtered, every row (not only the page shown), in the user's unit scope."""
    ensure(perm.can_browse_payments(current_user))
    _form, conditions = _queue_filters()
    stmt = (sa.select(Payment).where(*conditions).order_by(Payment.requested_at.desc(), Payment.id.desc())
            .options(selectinload(Payment.call))
            .execution_options(yield_per=500))
    return xlsx_response(payments_workbook(db.session.scalars(stmt)), f"拨款-{today_local().isoformat()}.xlsx")


BATCH_ACTIONS = {"approve": _l("审核通过"), "second_approve": _l("复核通过"), "release": _l("确认支付")}


@bp.route("/payments/batch", methods=["POST"])
@login_required
def batch():
    """对所选项审核 / 复核 / 确认支付: each payment through its single-item service, one transaction each, with
    every rule of that service (segregation of duties, the second-approval threshold, holds) applied per item."""
    ensure(perm.can_browse_payments(current_user) and current_user.has_role(Role.FINANCE))
    back = url_for("finance.queue", **{k: v for k, v in request.args.items() if k != "page"})
    form = PaymentActionForm()
    action = request.form.get("batch_action", "")
    if not form.validate_on_submit() or action not in BATCH_ACTIONS:
        flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
        return redirect(back)
    ids = selected_ids()
    if not ids:
        flash(_("请先勾选要处理的项"), "warning")
        return redirect(back)
    released_on = None
    if action == "release":
        try:
            released_on = dt.date.fromisoformat(request.form.get("released_on", ""))
        except ValueError:
            flash(_("请填写支付日期（格式 2026-11-23）"), "danger")
            return redirect(back)

    def version(p):
        return int_or_none(request.form.get(f"version-{p.id}"))

    def act(p):
        if action == "approve":
            services.approve_payment(p, current_user, expected_version=version(p))
        elif action == "second_approve":
            services.second_approve_payment(p, current_user, expected_version=version(p))
        else:
            services.release_payment(p, current_user, request.form.get(f"bank_reference-{p.id}", ""), released_on,
                                     expected_version=version(p))

    outcome = run_batch(str(BATCH_ACTIONS[action]), ids, lambda i: db.session.get(Payment, i),
                        lambda p: perm.can_handle_payment(current_user, p), act,
                        label=lambda p: f"{p.contract.party_b_name} · {p.contract.number} · {p.tranche.name} · "
                                        f"{Money(p.amount_fen).format()}",
                        url=lambda p: url_for("finance.payment", payment_id=p.id))
    return render_outcome(outcome, back, _("返回拨款队列"))


# --- one payment ---------------------------------------------------------------------------

def _forms(payment: Payment, **override) -> dict:
    v = {"version": payment.version}
    forms = {
        "action_form": PaymentActionForm(formdata=None, data=v),
        "return_form": ReasonForm(formdata=None, data=v),
        "hold_form": HoldForm(formdata=None, data=v),
        "lift_form": LiftForm(formdata=None, data=v),
        "release_form": ReleaseForm(formdata=None, data={**v, "released_on": today_local()}),
        "reclaim_form": ReclaimForm(formdata=None, data=v),
    }
    forms.update(override)
    return forms


def _render_payment(payment: Payment, status: int = 200, **override):
    handle = perm.can_handle_payment(current_user, payment)
    conflicts = {a: services.duty_conflict(payment, current_user, a) for a in ("approve", "second_approve", "release")} \
        if handle else {}
    s = payment.status
    needs_second = services.needs_second_approval(payment)
    holds = db.session.scalars(sa.select(PaymentHold).where(PaymentHold.payment_id == payment.id)
                               .order_by(PaymentHold.id)).all()
    reclaims = db.session.scalars(sa.select(Reclaim).where(Reclaim.payment_id == payment.id)
                                  .order_by(Reclaim.id)).all()
    return render_template(
        "finance/payment.html", payment=payment, tranche=payment.tranche, contract=payment.contract,
        holds=holds, reclaims=reclaims, needs_second=needs_second,
        project_hold=services.project_hold_in_force(payment.contract_id),
        threshold_fen=services.second_approval_threshold_fen(), conflicts=conflicts, workflow=PAYMENT_WORKFLOW,
        basis=services.payment_basis(payment.tranche),
        can_approve=handle and s == PaymentStatus.REQUESTED,
        can_second=handle and s == PaymentStatus.APPROVED and needs_second,
        can_release=handle and (s == PaymentStatus.SECOND_APPROVED or (s == PaymentStatus.APPROVED and not needs_second)),
        can_return=handle and s in (PaymentStatus.REQUESTED, PaymentStatus.APPROVED, PaymentStatus.SECOND_APPROVED),
        can_reclaim=handle and s == PaymentStatus.RELEASED and payment.reclaimed_fen < payment.amount_fen,
        can_resubmit=perm.can_resubmit_payment(current_user, payment),
        can_hold=perm.can_hold_payment(current_user, payment) and s != PaymentStatus.HELD,
        can_lift=perm.can_hold_payment(current_user, payment) and s == PaymentStatus.HELD,
        can_voucher=perm.can_download_voucher(current_user, payment),
        **_forms(payment, **override),
    ), status


@bp.route("/payments/<int:payment_id>")
@login_required
def payment(payment_id: int):
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_view_payment(current_user, p))
    return _render_payment(p)


def _done(p: Payment, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("finance.payment", payment_id=p.id))


def _refused(p: Payment, exc: Exception, form=None, form_name: str | None = None):
    """Roll back and explain; a field error is shown next to the field with what was typed kept."""
    db.session.rollback()
    message = getattr(exc, "message", str(exc))
    if isinstance(exc, services.AlreadyDone):
        flash(message, "info")
        return redirect(url_for("finance.payment", payment_id=p.id))
    field = getattr(exc, "field", None)
    if form is not None and field and hasattr(form, field):
        getattr(form, field).errors = [*getattr(form, field).errors, message]
        p = db.session.get(Payment, p.id)
        return _render_payment(p, 400, **{form_name: form})
    flash(message, "danger")
    return redirect(url_for("finance.payment", payment_id=p.id))


def _version(form) -> int | None:
    return form.version.data if form.version.data is not None else None


def _simple_action(payment_id: int, fn, success: str):
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_handle_payment(current_user, p))
    form = PaymentActionForm()
    if not form.validate_on_submit():
        flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
        return redirect(url_for("finance.payment", payment_id=p.id))
    try:
        fn(p, current_user, expected_version=_version(form))
    except (services.PaymentError, IllegalTransition) as exc:
        return _refused(p, exc)
    return _done(p, success)


@bp.route("/payments/<int:payment_id>/approve", methods=["POST"])
@login_required
def approve(payment_id: int):
    return _simple_action(payment_id, services.approve_payment, _("已审核通过"))


@bp.route("/payments/<int:payment_id>/second-approve", methods=["POST"])
@login_required
def second_approve(payment_id: int):
    return _simple_action(payment_id, services.second_approve_payment, _("已复核通过"))


@bp.route("/payments/<int:payment_id>/release", methods=["POST"])
@login_required
def release(payment_id: int):
    """确认支付 with the bank reference and the value date: exactly once (see services.release_payment)."""
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_handle_payment(current_user, p))
    form = ReleaseForm()
    if not form.validate_on_submit():
        if p.status == PaymentStatus.RELEASED:
            flash(_("这笔拨款已支付，不会重复支付。"), "info")
            return redirect(url_for("finance.payment", payment_id=p.id))
        return _render_payment(p, 400, release_form=form)
    try:
        services.release_payment(p, current_user, form.bank_reference.data, form.released_on.data,
                                 expected_version=_version(form))
    except (services.PaymentError, IllegalTransition) as exc:
        return _refused(p, exc, form, "release_form")
    return _done(p, _("已确认支付 %(amount)s，银行流水号 %(ref)s", amount=Money(p.amount_fen).format(),
                      ref=p.bank_reference))


@bp.route("/payments/<int:payment_id>/return", methods=["POST"])
@login_required
def return_(payment_id: int):
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_handle_payment(current_user, p))
    return _reason_action(p, services.return_payment, "return_form", _("已退回"))


@bp.route("/payments/<int:payment_id>/resubmit", methods=["POST"])
@login_required
def resubmit(payment_id: int):
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_resubmit_payment(current_user, p))
    form = PaymentActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("finance.payment", payment_id=p.id))
    try:
        services.resubmit_payment(p, current_user, expected_version=_version(form))
    except (services.PaymentError, IllegalTransition) as exc:
        return _refused(p, exc)
    return _done(p, _("已重新提交，等待财务审核"))


@bp.route("/payments/<int:payment_id>/hold", methods=["POST"])
@login_required
def hold(payment_id: int):
    """暂停拨付 of this payment, or of every unpaid payment of the project."""
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_hold_payment(current_user, p))
    form = HoldForm()
    if not form.whole_project.data:
        return _reason_action(p, services.hold_payment, "hold_form", _("已暂停拨付"), form=form)
    if not form.validate_on_submit():
        return _render_payment(p, 400, hold_form=form)
    if form.version.data is not None and form.version.data != p.version:
        flash(_("这笔拨款的状态已变化（可能已被他人处理或重复提交），请查看最新状态后再操作。"), "info")
        return redirect(url_for("finance.payment", payment_id=p.id))
    try:
        n = services.hold_contract_payments(p.contract, current_user, form.reason.data)
    except (services.PaymentError, IllegalTransition) as exc:
        return _refused(p, exc, form, "hold_form")
    return _done(p, _("已暂停整个项目：%(n)s 笔未支付的拨款，暂停期间新申请的拨款也将自动暂停", n=n))


@bp.route("/payments/<int:payment_id>/lift-hold", methods=["POST"])
@login_required
def lift_hold(payment_id: int):
    """解除暂停 of this payment, or of the whole project's hold (with every payment held under it)."""
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_hold_payment(current_user, p))
    form = LiftForm()
    if not form.whole_project.data:
        return _reason_action(p, services.lift_hold, "lift_form", _("已解除暂停，需财务重新审核"), form=form)
    if not form.validate_on_submit():
        return _render_payment(p, 400, lift_form=form)
    try:
        n = services.lift_project_hold(p.contract, current_user, form.reason.data)
        if db.session.get(Payment, p.id).status == PaymentStatus.HELD:  # held on its own as well
            services.lift_hold(p, current_user, form.reason.data)
            n += 1
    except (services.PaymentError, IllegalTransition) as exc:
        return _refused(p, exc, form, "lift_form")
    return _done(p, _("已解除本项目的整体暂停，%(n)s 笔拨款恢复待审核", n=n))


def _reason_action(p: Payment, fn, form_name: str, success: str, form=None):
    form = form or ReasonForm()
    if not form.validate_on_submit():
        return _render_payment(p, 400, **{form_name: form})
    try:
        fn(p, current_user, form.reason.data, expected_version=_version(form))
    except (services.PaymentError, IllegalTransition) as exc:
        return _refused(p, exc, form, form_name)
    return _done(p, success)


@bp.route("/payments/<int:payment_id>/reclaim", methods=["POST"])
@login_required
def reclaim(payment_id: int):
    """追回: an entry linked to this payment, never more than was paid in total."""
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_handle_payment(current_user, p))
    form = ReclaimForm()
    valid = form.validate_on_submit()  # validation resets field errors: parse the amount after it
    amount = form.amount_fen() if form.amount.data else None
    if not valid or amount is None:
        return _render_payment(p, 400, reclaim_form=form)
    if form.version.data is not None and form.version.data != p.version:
        flash(_("这笔拨款的状态已变化（可能已重复提交），请核对追回记录后再操作。"), "info")
        return redirect(url_for("finance.payment", payment_id=p.id))
    try:
        services.record_reclaim(p, current_user, amount, form.reason.data, form.reference.data or "")
    except (services.PaymentError, IllegalTransition) as exc:
        return _refused(p, exc, form, "reclaim_form")
    return _done(p, _("已登记追回 %(amount)s", amount=Money(amount).format()))


def payment_sources(p: Payment) -> list[tuple[str, int]]:
    """[(funding source, fen)] of a released payment, as the ledger charges it (资金来源 on the voucher)."""
    from grants.finance.ledger import UNALLOCATED, charges_of

    labels = {s.id: s.label for s in p.call.funding_sources}
    parts = charges_of("paid", [p.id]).get(p.id, {})
    return [(labels.get(fs, _("未分配来源")) if fs != UNALLOCATED else _("未分配来源"), fen)
            for fs, fen in sorted(parts.items())]


@bp.route("/payments/<int:payment_id>/voucher.pdf")
@login_required
def voucher(payment_id: int):
    """拨款通知单 of a released payment."""
    p = get_or_404(Payment, payment_id)
    ensure(perm.can_download_voucher(current_user, p))
    data = render_pdf("finance/voucher.pdf.html", payment=p, tranche=p.tranche, contract=p.contract, call=p.call,
                      by_source=payment_sources(p), printed_at=now())
    return pdf_response(data, f"拨款通知单-{p.voucher_number}.pdf")


# --- ledgers ----------------------------------------------------------------------------------

@bp.route("/ledger")
@login_required
def ledgers():
    """台账 index: the calls of the user's unit subtree with their totals (five queries)."""
    ensure(perm.can_browse_ledgers(current_user))
    calls = db.session.scalars(sa.select(Call).where(Call.id.in_(_scope_call_ids()))
                               .options(selectinload(Call.funding_sources))
                               .order_by(Call.year.desc(), Call.id.desc())).all()
    summary = calls_summary([c.id for c in calls])
    return render_template("finance/ledgers.html", calls=calls, summary=summary)


@bp.route("/ledger/<int:call_id>")
@login_required
def ledger(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_view_ledger(current_user, call))
    kind = request.args.get("kind")
    if kind not in ENTRY_KINDS:
        kind = "paid"
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    # Totals are aggregated in SQL and the entries are shown a page at a time: a provincial call has
    # thousands of them (the Excel export keeps them all).
    entries, total = ledger_entries_page(call, kind, page_no, per_page=LEDGER_PER_PAGE)
    page = Page(items=entries, page=page_no, per_page=LEDGER_PER_PAGE, total=total)
    return render_template("finance/ledger.html", call=call, ledger=ledger_totals(call), page=page, kind=kind,
                           kinds=ENTRY_KIND_LABELS)


@bp.route("/ledger/<int:call_id>/export.xlsx")
@login_required
def ledger_export(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_view_ledger(current_user, call))
    data = ledger_workbook(call_ledger(call))
    return xlsx_response(data, f"资金台账-{call.year}-{call.title}.xlsx")
