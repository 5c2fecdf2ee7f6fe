"""Officer pages for calls (list, form, publish check, workflow, documents) and the public call pages."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.calls import bp
from grants.calls import permissions as perm
from grants.calls.forms import ROW_FORMS, CallForm, DocumentForm, PublishedCallForm, row_template
from grants.calls.models import Call, CallDocument, CallStatus
from grants.calls.services import (
    CALL_WORKFLOW, EDITABLE_AFTER_PUBLISH, CallError, add_call_document, archive_call, calls_for_units,
    close_call_for_review, copy_call, copy_sources, create_call, days_left, default_children, public_calls,
    publish_call, remove_call_document, update_call, validate_call_for_publish,
)
from grants.core.forms import choices
from grants.core.storage import UploadRejected, save_upload, send_stored
from grants.core.timeutil import now
from grants.core.web import ensure, get_or_404, paginate
from grants.extensions import db
from grants.organizations.models import LEGAL_FORM_LABELS, HostUnit, Organization
from grants.organizations.services import unit_subtree_ids

DOCUMENT_TYPES = ("pdf", "doc", "docx", "xls", "xlsx")


@bp.app_template_global()
def open_public_calls(limit: int = 5) -> list[Call]:
    """For the public home page: the calls taking applications now or soon."""
    return [c for c in public_calls() if c.is_open or c.is_upcoming][:limit]


@bp.context_processor
def _labels():
    return {"LEGAL_FORM_LABELS": {str(k): v for k, v in LEGAL_FORM_LABELS.items()}}


@bp.app_template_global()
def call_days_left(call: Call):
    return days_left(call)


# --- officer -------------------------------------------------------------------------

@bp.route("/calls")
@login_required
def index():
    """The calls of the officer's (or auditor's) unit and the units below it."""
    ensure(perm.can_list_calls(current_user))
    unit_ids = perm.visible_unit_ids(current_user)
    page = paginate(calls_for_units(unit_ids), per_page=30)
    return render_template("calls/index.html", page=page, sources=copy_sources(unit_ids),
                           can_create=perm.can_create_call(current_user))


def _unit_choices() -> list:
    ids = unit_subtree_ids(current_user.host_unit_id)
    units = db.session.scalars(sa.select(HostUnit).where(HostUnit.id.in_(ids)).order_by(HostUnit.id)).all()
    return choices((u.id, f"{u.name}（{u.level_label}）") for u in units)


def _operator_choices() -> list:
    rows = db.session.execute(sa.select(Organization.id, Organization.name).order_by(Organization.name)).all()
    return choices([(0, _("（无）"))] + [(i, n) for i, n in rows])


def _prepare(form: CallForm) -> None:
    form.host_unit_id.choices = _unit_choices()
    form.operator_organization_id.choices = _operator_choices()


def _attach(form: CallForm, exc: CallError) -> None:
    names = {"min_grant_fen": "min_grant", "max_grant_fen": "max_grant", "filed_org_max_grant_fen": "filed_org_max_grant"}
    field = getattr(form, names.get(exc.field, exc.field), None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(exc.message, "danger")


def _form_page(form: CallForm, call: Call | None):
    return render_template(
        "calls/form.html", form=form, call=call, row_templates={n: row_template(n) for n in ROW_FORMS},
        problems=validate_call_for_publish(call) if call is not None else None,
        locked=call is not None and call.status != CallStatus.DRAFT, editable_after=EDITABLE_AFTER_PUBLISH)


@bp.route("/calls/new", methods=["GET", "POST"])
@login_required
def new():
    ensure(perm.can_create_call(current_user))
    form = CallForm()
    _prepare(form)
    if request.method == "GET":
        form.year.data = now().year
        form.host_unit_id.data = current_user.host_unit_id
        _fill_defaults(form)
    if form.validate_on_submit():
        unit = db.session.get(HostUnit, form.host_unit_id.data)
        ensure(unit is not None and perm.can_create_call(current_user, unit))
        settings = form.settings()
        try:
            call = create_call(unit, current_user, title=settings.pop("title"), year=settings.pop("year"),
                               children=form.children(), **settings)
        except CallError as exc:
            db.session.rollback()
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("活动草稿已保存。请根据“发布检查”补全后发布。"), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    elif request.method == "POST":
        flash(_("请修改标红的内容后再保存"), "danger")
    return _form_page(form, None)


def _fill_defaults(form: CallForm) -> None:
    rows = default_children()
    for r in rows["criteria"]:
        form.written_criteria.append_entry(dict(name=r["name"], description="", max_points=r["max_points"]))
    for r in rows["tranches"]:
        form.tranches.append_entry(dict(name=r["name"], percent=r["percent"], trigger=str(r["trigger"])))
    for r in rows["score_bands"]:
        form.score_bands.append_entry(dict(min_score=r["min_score"], grade=str(r["grade"]),
                                           payment_pct=r["payment_pct"], rectification=r["rectification"]))
    for r in rows["attachment_requirements"]:
        form.attachment_requirements.append_entry(dict(name=r["name"], required=r["required"],
                                                       allowed_types=",".join(r["allowed_types"])))
    form.funding_sources.append_entry(dict(kind="welfare_lottery", name="", amount=None))
    form.categories.append_entry(dict(name="", quota=None))
    form.notice_working_days.data = 5
    form.max_applications_per_org.data = 1
    form.reviewers_per_application.data = 5
    form.pitch_weight_pct.data = 40
    form.min_rating.data = 0
    form.min_years_registered.data = 0
    form.min_own_funding_pct.data = 0


@bp.route("/calls/<int:call_id>")
@login_required
def detail(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_view_call(current_user, call))
    return render_template(
        "calls/detail.html", call=call, problems=validate_call_for_publish(call) if call.status == CallStatus.DRAFT
        else [], can_edit=perm.can_edit_call(current_user, call), can_publish=perm.can_publish_call(current_user, call),
        can_manage=perm.can_manage_call(current_user, call), workflow=CALL_WORKFLOW,
        doc_form=DocumentForm(), can_docs=perm.can_manage_documents(current_user, call), days_left=days_left(call))


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_edit_call(current_user, call))
    draft = call.status == CallStatus.DRAFT
    form = CallForm() if draft else PublishedCallForm()
    if draft:
        _prepare(form)
        del form.host_unit_id  # the owning unit is fixed once the call exists
    if request.method == "GET":
        form.fill_from(call)
    if form.validate_on_submit():
        try:
            update_call(call, current_user, children=form.children() if draft else None, **form.settings())
        except CallError as exc:
            db.session.rollback()
            call = get_or_404(Call, call_id)
            _attach(form, exc)
        else:
            db.session.commit()
            flash(_("已保存"), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    elif request.method == "POST":
        flash(_("请修改标红的内容后再保存"), "danger")
    if not draft:
        return render_template("calls/form_published.html", form=form, call=call)
    return _form_page(form, call)


@bp.route("/calls/<int:call_id>/publish", methods=["POST"])
@login_required
def publish(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_publish_call(current_user, call))
    try:
        publish_call(call, current_user)
    except CallError as exc:
        db.session.rollback()
        flash(exc.message + "：" + "；".join(exc.problems), "danger")
    else:
        db.session.commit()
        flash(_("活动已发布，公众可在“征集公告”中查看"), "success")
    return redirect(url_for("calls.detail", call_id=call_id))


@bp.route("/calls/<int:call_id>/close", methods=["POST"])
@login_required
def close(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_manage_call(current_user, call))
    try:
        close_call_for_review(call, current_user)
    except CallError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("申报已截止，活动进入评审阶段"), "success")
    return redirect(url_for("calls.detail", call_id=call_id))


@bp.route("/calls/<int:call_id>/archive", methods=["POST"])
@login_required
def archive(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_manage_call(current_user, call))
    try:
        archive_call(call, current_user)
    except CallError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        db.session.commit()
        flash(_("活动已归档"), "success")
    return redirect(url_for("calls.detail", call_id=call_id))


@bp.route("/calls/<int:call_id>/copy", methods=["POST"])
@login_required
def copy(call_id: int):
    """Copy from last year: a draft of next year's call with every setting of this one."""
    previous = get_or_404(Call, call_id)
    ensure(perm.can_manage_call(current_user, previous) and perm.can_create_call(current_user, previous.host_unit))
    call = copy_call(previous, current_user)
    db.session.commit()
    flash(_("已从“%(title)s”复制生成新一届草稿，日期已顺延一年，请核对后发布", title=previous.title), "success")
    return redirect(url_for("calls.edit", call_id=call.id))


@bp.route("/calls/<int:call_id>/documents", methods=["POST"])
@login_required
def upload_document(call_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_manage_documents(current_user, call))
    form = DocumentForm()
    if not form.validate_on_submit():
        flash(_("上传失败，请重试"), "danger")
        return redirect(url_for("calls.detail", call_id=call_id))
    try:
        stored = save_upload(request.files.get("file") or _no_file(), allowed=DOCUMENT_TYPES, uploader=current_user)
    except UploadRejected as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    else:
        add_call_document(call, stored, form.title.data, current_user)
        db.session.commit()
        flash(_("文件已上传"), "success")
    return redirect(url_for("calls.detail", call_id=call_id) + "#documents")


def _no_file():
    from werkzeug.datastructures import FileStorage

    return FileStorage(filename="")


@bp.route("/calls/<int:call_id>/documents/<int:doc_id>/delete", methods=["POST"])
@login_required
def delete_document(call_id: int, doc_id: int):
    call = get_or_404(Call, call_id)
    ensure(perm.can_manage_documents(current_user, call))
    doc = get_or_404(CallDocument, doc_id)
    if doc.call_id != call.id:
        abort(404)
    remove_call_document(doc, current_user)
    db.session.commit()
    flash(_("文件已删除"), "success")
    return redirect(url_for("calls.detail", call_id=call_id) + "#documents")


# --- public ----------------------------------------------------------------------------

@bp.route("/public/calls")
def public_list():
    """Open and past calls with their deadlines; no log-in."""
    calls = public_calls()
    current = [c for c in calls if c.is_open or c.is_upcoming]
    past = [c for c in calls if not (c.is_open or c.is_upcoming)]
    return render_template("calls/public_list.html", current=current, past=past)


def _public_call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None or not perm.can_view_public_call(call):
        abort(404)  # a draft does not exist for the public
    return call


@bp.route("/public/calls/<int:call_id>")
def public_detail(call_id: int):
    call = _public_call(call_id)
    return render_template("calls/public_detail.html", call=call, days_left=days_left(call))


@bp.route("/public/calls/<int:call_id>/documents/<int:doc_id>")
def public_document(call_id: int, doc_id: int):
    """Documents of published calls are public; nothing else is served here."""
    call = _public_call(call_id)
    doc = db.session.get(CallDocument, doc_id)
    if doc is None or doc.call_id != call.id:
        abort(404)
    return send_stored(doc.stored_file)


@bp.route("/calls/<int:call_id>/documents/<int:doc_id>")
@login_required
def document(call_id: int, doc_id: int):
    """Staff download of a call document, drafts included."""
    doc = get_or_404(CallDocument, doc_id)
    if doc.call_id != call_id:
        abort(404)
    ensure(perm.can_view_call(current_user, doc.call))  # the public use calls.public_document
    return send_stored(doc.stored_file)
