"""Contract pages: the officers' list (with confirmed awards still waiting for a contract), the
organisation's contracts, the contract page with its tranche schedule, terms editing, issue, signing,
countersigning, termination, closing, the contract PDF and the stamped scan."""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from grants.calls.models import Call
from grants.contracts import bp
from grants.contracts import permissions as perm
from grants.contracts.forms import ActionForm, ContractEditForm, ContractFilterForm, ReasonForm, SignForm
from grants.contracts.models import Contract, ContractStatus
from grants.contracts.services import (
    ContractError, can_be_completed, complete_contract, countersign_contract, create_contract_from_award,
    issue_contract, payments_by_tranche, recall_contract, reclaim_suggested, reject_signature, sign_contract,
    terminate_contract, update_contract,
)
from grants.core.forms import form_errors
from grants.core.pdf import pdf_response, render_pdf
from grants.core.states import IllegalTransition
from grants.core.storage import UploadRejected, save_upload, send_stored
from grants.core.web import ensure, get_or_404, int_arg, paginate, run_action
from grants.extensions import db

PER_PAGE = 50


def _scope_units():
    from grants.organizations.services import unit_subtree_ids

    return unit_subtree_ids(current_user.host_unit_id)


def _contract_filters(units):
    """The list's filter form and statement (the page and its Excel export share them)."""
    calls = db.session.scalars(sa.select(Call).where(Call.host_unit_id.in_(units))
                               .order_by(Call.year.desc(), Call.id.desc())).all()
    form = ContractFilterForm(request.args)
    form.set_choices(calls)
    stmt = (sa.select(Contract).join(Call, Call.id == Contract.call_id).where(Call.host_unit_id.in_(units))
            .order_by(Contract.call_id.desc(), Contract.seq))
    q = (request.args.get("q") or "").strip()
    if q:  # the staff search's query language and conditions (number, project, organisation; year:, …)
        from grants.search.query import QueryError, parse_query
        from grants.search.services import contract_condition

        try:
            stmt = stmt.where(contract_condition(parse_query(q)))
        except QueryError as exc:
            flash(exc.message, "warning")
    status = request.args.get("status", "")
    if status in {str(s) for s in ContractStatus}:
        stmt = stmt.where(Contract.status == status)
    call_id = int_arg("call_id")
    if call_id is not None:
        stmt = stmt.where(Contract.call_id == call_id)
    return calls, form, stmt


@bp.route("/contracts")
@login_required
def index():
    """资助协议 list of the unit subtree: filters and paging, a fixed number of queries."""
    ensure(perm.can_list_contracts(current_user))
    units = _scope_units()
    calls, form, stmt = _contract_filters(units)
    page = paginate(stmt.options(selectinload(Contract.tranches)), per_page=PER_PAGE)
    waiting = _awards_waiting(units) if current_user.has_role("officer") else []
    rubric_calls = [c for c in calls if str(c.status) in ("notice", "finalized", "archived")]
    from grants.assessments.services import late_reports_by_tranche

    late = late_reports_by_tranche([c.id for c in page.items])
    return render_template("contracts/index.html", page=page, form=form, waiting=waiting, action_form=ActionForm(),
                           rubric_calls=rubric_calls, late=late)


@bp.route("/contracts.xlsx")
@login_required
def export():
    """The contract list as filtered, every row, in the user's unit subtree."""
    ensure(perm.can_list_contracts(current_user))
    from grants.contracts.exports import contracts_workbook
    from grants.core.excel import xlsx_response
    from grants.core.timeutil import today_local

    _calls, _form, stmt = _contract_filters(_scope_units())
    contracts = db.session.scalars(stmt.options(selectinload(Contract.tranches), selectinload(Contract.call))
                                   .execution_options(yield_per=500))
    return xlsx_response(contracts_workbook(contracts), f"资助协议-{today_local().isoformat()}.xlsx")


def _awards_waiting(units):
    """Confirmed awards of the unit subtree without a contract yet (one query)."""
    from grants.awards.models import Award

    return db.session.scalars(
        sa.select(Award).join(Call, Call.id == Award.call_id)
        .where(Call.host_unit_id.in_(units), Award.status == "confirmed",
               ~sa.exists().where(Contract.award_id == Award.id))
        .order_by(Award.call_id, Award.rank, Award.id)).unique().all()


@bp.route("/awards/<int:award_id>/contract", methods=["POST"])
@login_required
def create(award_id: int):
    from grants.awards.models import Award

    award = get_or_404(Award, award_id)
    ensure(perm.can_create_contract(current_user, award))
    if not ActionForm().validate_on_submit():
        flash(_("表单安全校验失败，请刷新页面后重试"), "danger")
        return redirect(url_for("contracts.index"))
    try:
        contract = create_contract_from_award(award, current_user)
    except ContractError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("contracts.index"))
    db.session.commit()
    flash(_("已生成协议草稿 %(n)s，请核对条款后下发", n=contract.number), "success")
    return redirect(url_for("contracts.detail", contract_id=contract.id))


@bp.route("/contracts/mine")
@login_required
def mine():
    """The organisation's contracts (issued or later), each with its schedule."""
    ensure(perm.can_list_own_contracts(current_user))
    contracts = db.session.scalars(
        sa.select(Contract).where(Contract.organization_id == current_user.organization.id,
                                  Contract.status != ContractStatus.DRAFT)
        .options(selectinload(Contract.tranches)).order_by(Contract.id.desc())).all()
    return render_template("contracts/mine.html", contracts=contracts)


def _reports_by_tranche(contract):
    from grants.assessments.models import Assessment, ProgressReport

    reports = db.session.scalars(sa.select(ProgressReport).where(ProgressReport.contract_id == contract.id)
                                 .order_by(ProgressReport.tranche_id, ProgressReport.round)).all()
    assessments = db.session.scalars(sa.select(Assessment).where(Assessment.contract_id == contract.id)
                                     .order_by(Assessment.round)).all()
    by_tranche: dict[int, list] = {}
    for r in reports:
        by_tranche.setdefault(r.tranche_id, []).append(r)
    by_report = {a.report_id: a for a in assessments}
    return by_tranche, by_report


@bp.route("/contracts/<int:contract_id>")
@login_required
def detail(contract_id: int):
    """The contract: parties, amount, period, outputs, the tranche schedule with what was paid and why
    an amount was reduced, reports and assessments, and the actions the viewer may take."""
    contract = get_or_404(Contract, contract_id)
    ensure(perm.can_view_contract(current_user, contract))
    reports, assessments = _reports_by_tranche(contract)
    return render_template(
        "contracts/detail.html", c=contract, payments=payments_by_tranche(contract), reports=reports,
        assessments=assessments, perm=perm, action_form=ActionForm(), reason_form=ReasonForm(),
        reclaim=reclaim_suggested(contract), completable=can_be_completed(contract))


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    ensure(perm.can_edit_contract(current_user, contract))
    form = ContractEditForm(obj=contract)
    if form.validate_on_submit():
        try:
            update_contract(contract, terms=form.terms.data, period_start_on=form.period_start_on.data,
                            period_end_on=form.period_end_on.data, actor=current_user)
        except ContractError as exc:
            db.session.rollback()
            getattr(form, exc.field or "terms").errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("协议已保存"), "success")
            return redirect(url_for("contracts.detail", contract_id=contract.id))
    return render_template("contracts/edit.html", c=contract, form=form), (400 if form.errors else 200)


def _act(contract, allowed: bool, fn, success: str, *, form=None):
    ensure(allowed)
    form = form or ActionForm()
    if not form.validate_on_submit():
        flash(form_errors(form) or _("表单安全校验失败，请刷新页面后重试"), "danger")
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    run_action(fn, success)
    return redirect(url_for("contracts.detail", contract_id=contract.id))


@bp.route("/contracts/<int:contract_id>/issue", methods=["POST"])
@login_required
def issue(contract_id: int):
    c = get_or_404(Contract, contract_id)
    return _act(c, perm.can_issue_contract(current_user, c), lambda: issue_contract(c, current_user),
                _("协议已下发，等待乙方签署"))


@bp.route("/contracts/<int:contract_id>/recall", methods=["POST"])
@login_required
def recall(contract_id: int):
    c = get_or_404(Contract, contract_id)
    return _act(c, perm.can_recall_contract(current_user, c), lambda: recall_contract(c, current_user),
                _("协议已撤回为草稿"))


@bp.route("/contracts/<int:contract_id>/countersign", methods=["POST"])
@login_required
def countersign(contract_id: int):
    c = get_or_404(Contract, contract_id)
    return _act(c, perm.can_countersign_contract(current_user, c), lambda: countersign_contract(c, current_user),
                _("甲方已会签，协议生效；首期款已进入拨付流程"))


@bp.route("/contracts/<int:contract_id>/reject-signature", methods=["POST"])
@login_required
def reject(contract_id: int):
    c = get_or_404(Contract, contract_id)
    form = ReasonForm()
    return _act(c, perm.can_countersign_contract(current_user, c),
                lambda: reject_signature(c, current_user, form.reason.data), _("已退回乙方重新签署"), form=form)


@bp.route("/contracts/<int:contract_id>/terminate", methods=["POST"])
@login_required
def terminate(contract_id: int):
    c = get_or_404(Contract, contract_id)
    form = ReasonForm()
    return _act(c, perm.can_terminate_contract(current_user, c),
                lambda: terminate_contract(c, current_user, form.reason.data), _("协议已终止"), form=form)


@bp.route("/contracts/<int:contract_id>/complete", methods=["POST"])
@login_required
def complete(contract_id: int):
    c = get_or_404(Contract, contract_id)
    return _act(c, perm.can_complete_contract(current_user, c), lambda: complete_contract(c, current_user),
                _("项目已结项"))


@bp.route("/contracts/<int:contract_id>/sign", methods=["GET", "POST"])
@login_required
def sign(contract_id: int):
    """The organisation's administrator accepts the contract: name, title, optional stamped scan."""
    contract = get_or_404(Contract, contract_id)
    ensure(perm.can_sign_contract(current_user, contract))
    form = SignForm()
    if form.validate_on_submit():
        scan = None
        upload = request.files.get("scan")
        try:
            if upload is not None and upload.filename:
                scan = save_upload(upload, allowed=("pdf", "jpg", "jpeg", "png"), uploader=current_user,
                                   organization_id=contract.organization_id)
            sign_contract(contract, current_user, signer_name=form.signer_name.data,
                          signer_title=form.signer_title.data, scan=scan)
        except UploadRejected as exc:
            db.session.rollback()
            form.scan.errors = [exc.message]
        except (ContractError, IllegalTransition) as exc:
            db.session.rollback()
            target = getattr(form, getattr(exc, "field", None) or "signer_name")
            target.errors = list(target.errors) + [exc.message]
        else:
            db.session.commit()
            flash(_("已签署协议，等待甲方会签"), "success")
            return redirect(url_for("contracts.detail", contract_id=contract.id))
    elif request.method == "GET":
        form.signer_name.data = current_user.display_name
    return render_template("contracts/sign.html", c=contract, form=form), (400 if form.errors else 200)


def contract_pdf_bytes(contract) -> bytes:
    return render_pdf("contracts/pdf.html", c=contract, outputs=contract.application.output_targets)


@bp.route("/contracts/<int:contract_id>/pdf")
@login_required
def pdf(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    ensure(perm.can_download_contract(current_user, contract))
    started = time.perf_counter()
    data = contract_pdf_bytes(contract)
    current_app.logger.info("contract %s PDF rendered in %.0f ms", contract.number,
                            (time.perf_counter() - started) * 1000)
    return pdf_response(data, f"资助协议-{contract.number}.pdf")


@bp.route("/contracts/<int:contract_id>/scan")
@login_required
def scan(contract_id: int):
    contract = get_or_404(Contract, contract_id)
    ensure(perm.can_download_contract(current_user, contract) and contract.signed_scan_file_id is not None)
    return send_stored(contract.signed_scan)


@bp.app_template_global()
def organization_projects(org) -> list:
    """Contracts of an organisation with their final grades, for the organisation's record page."""
    return db.session.scalars(sa.select(Contract).where(Contract.organization_id == org.id,
                                                        Contract.status != ContractStatus.DRAFT)
                              .options(selectinload(Contract.application)).order_by(Contract.id.desc())).all()

