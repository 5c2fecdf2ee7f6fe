"""The thread page of an application or a contract, and its attachments."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.core.storage import send_stored
from grants.core.web import ensure, get_or_404, paginate
from grants.extensions import db
from grants.messages import bp
from grants.messages import permissions as perm
from grants.messages.forms import MessageForm
from grants.messages.models import Message, SubjectType
from grants.messages.services import MessageError, load_subject, post_message, subject_title, thread_link, thread_query


def _subject_or_404(subject_type: str, subject_id: int):
    subject = load_subject(subject_type, subject_id)
    if subject is None:
        abort(404)
    return subject


def _thread(subject_type: str, subject_id: int):
    subject = _subject_or_404(subject_type, subject_id)
    ensure(perm.can_view_thread(current_user, subject))
    form = MessageForm()
    if request.method == "POST":
        ensure(perm.can_post_message(current_user, subject))
        if form.validate_on_submit():
            internal = bool(form.internal.data) and perm.can_post_internal(current_user, subject)
            try:
                post_message(subject, current_user, body=form.body.data or "", internal=internal,
                             upload=request.files.get("attachment"))
            except MessageError as exc:
                db.session.rollback()
                form[exc.field or "body"].errors = list(form[exc.field or "body"].errors) + [exc.message]
            else:
                db.session.commit()
                flash(_("内部备注已保存。") if internal else _("消息已发送，对方会收到通知。"), "success")
                return redirect(thread_link(subject))
    with_internal = perm.can_see_internal(current_user, subject)
    page = paginate(thread_query(subject, with_internal=with_internal).order_by(None)
                    .order_by(Message.created_at.desc(), Message.id.desc()), per_page=30)
    back = (f"/contracts/{subject.id}" if subject_type == SubjectType.CONTRACT
            else f"/applications/{subject.id}/status" if perm.is_party(current_user, subject)
            else f"/applications/{subject.id}")
    return render_template("messages/thread.html", subject=subject, subject_type=subject_type,
                           title=subject_title(subject), page=page, form=form, back=back,
                           can_post=perm.can_post_message(current_user, subject),
                           can_internal=perm.can_post_internal(current_user, subject))


@bp.route("/applications/<int:application_id>/messages", methods=["GET", "POST"])
@login_required
def application_thread(application_id: int):
    return _thread(SubjectType.APPLICATION, application_id)


@bp.route("/contracts/<int:contract_id>/messages", methods=["GET", "POST"])
@login_required
def contract_thread(contract_id: int):
    return _thread(SubjectType.CONTRACT, contract_id)


@bp.route("/messages/<int:message_id>/attachment")
@login_required
def attachment(message_id: int):
    message = get_or_404(Message, message_id)
    subject = _subject_or_404(message.subject_type, message.subject_id)
    ensure(perm.can_download_attachment(current_user, message, subject) and message.attachment is not None)
    return send_stored(message.attachment)
