"""Posting to a thread and reading it. No commits here."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.core.audit import record
from grants.core.errors import DomainError
from grants.extensions import db
from grants.messages.models import Message, SubjectType
from grants.messages.permissions import is_party, subject_kind

MAX_BODY = 5000
# Control characters (NUL and the like) cannot be stored on PostgreSQL and mean nothing in a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MessageError(DomainError):
    """A message was refused."""


def load_subject(subject_type: str, subject_id: int):
    """The application or contract a thread belongs to (None when there is none)."""
    from grants.applications.models import Application
    from grants.contracts.models import Contract

    model = {SubjectType.APPLICATION: Application, SubjectType.CONTRACT: Contract}.get(subject_type)
    return db.session.get(model, subject_id) if model else None


def subject_title(subject) -> str:
    if subject_kind(subject) == SubjectType.CONTRACT:
        return f"{subject.number} {subject.project_name}"
    return f"{subject.number or ''} {subject.display_name}".strip()


def thread_link(subject) -> str:
    prefix = "/contracts" if subject_kind(subject) == SubjectType.CONTRACT else "/applications"
    return f"{prefix}/{subject.id}/messages"


def post_message(subject, actor, *, body: str, internal: bool = False, upload=None) -> Message:
    """Add a message (or, for staff, an internal note) to the subject's thread; tell the other side."""
    from grants.core.storage import UploadRejected, save_upload

    body = _CONTROL.sub("", body or "").strip()
    if len(body) > MAX_BODY:
        raise MessageError(_("消息不超过 %(n)s 字", n=MAX_BODY), "body")
    has_file = upload is not None and bool(getattr(upload, "filename", ""))
    if not body and not has_file:
        raise MessageError(_("请填写消息内容或添加附件"), "body")
    from_staff = not is_party(actor, subject)
    if internal and not from_staff:
        raise MessageError(_("只有工作人员可以写内部备注"))
    message = Message(subject_type=str(subject_kind(subject)), subject_id=subject.id,
                      organization_id=subject.organization_id, author_id=actor.id, internal=bool(internal),
                      from_staff=from_staff, body=body)
    if has_file:
        try:
            message.attachment = save_upload(upload, uploader=actor, organization_id=subject.organization_id)
        except UploadRejected as exc:
            raise MessageError(str(exc), "attachment") from exc
    db.session.add(message)
    db.session.flush()
    record(actor, "message.post", message, after={
        "subject": f"{message.subject_type}:{subject.id}", "internal": message.internal,
        "attachment": message.attachment.original_name if message.attachment else None, "length": len(body)},
        host_unit_id=subject.call.host_unit_id)
    _tell_other_side(subject, message, actor)
    return message


def _tell_other_side(subject, message: Message, actor) -> None:
    from grants.reminders.notices import organization_people, send_notice, unit_staff

    if message.internal:
        return
    preview = message.body[:100] or (message.attachment.original_name if message.attachment else "")
    variables = dict(subject=subject_title(subject), author=actor.display_name or actor.username, preview=preview)
    if message.from_staff:
        send_notice("message_to_organization", organization_people(subject.organization_id),
                    link=thread_link(subject), **variables)
    else:
        officers = [u for u in unit_staff(subject.call.host_unit_id, "officer") if u.id != actor.id]
        send_notice("message_to_staff", officers, link=thread_link(subject), **variables)


def thread_query(subject, *, with_internal: bool):
    stmt = sa.select(Message).where(Message.subject_type == str(subject_kind(subject)),
                                    Message.subject_id == subject.id)
    if not with_internal:
        stmt = stmt.where(Message.internal.is_(False))
    return stmt.order_by(Message.created_at, Message.id)


def organization_threads(organization_id: int, *, with_internal: bool, unit_ids: set[int] | None) -> list[dict]:
    """The threads of an organisation for its record: one row per subject with its count and last message,
    limited to the subjects of `unit_ids` (staff) — two queries whatever the number of threads."""
    from grants.applications.models import Application
    from grants.contracts.models import Contract

    stmt = (sa.select(Message.subject_type, Message.subject_id, sa.func.count(Message.id),
                      sa.func.max(Message.created_at))
            .where(Message.organization_id == organization_id))
    if not with_internal:
        stmt = stmt.where(Message.internal.is_(False))
    rows = db.session.execute(stmt.group_by(Message.subject_type, Message.subject_id)).all()
    from sqlalchemy.orm import selectinload

    apps = {a.id: a for a in db.session.scalars(sa.select(Application).where(Application.id.in_(
        [r[1] for r in rows if r[0] == SubjectType.APPLICATION])).options(selectinload(Application.call)))} \
        if rows else {}
    contracts = {c.id: c for c in db.session.scalars(sa.select(Contract).where(Contract.id.in_(
        [r[1] for r in rows if r[0] == SubjectType.CONTRACT])).options(selectinload(Contract.call)))} \
        if rows else {}
    result = []
    for subject_type, subject_id, count, last_at in rows:
        subject = (contracts if subject_type == SubjectType.CONTRACT else apps).get(subject_id)
        if subject is None or (unit_ids is not None and subject.call.host_unit_id not in unit_ids):
            continue
        result.append(dict(subject=subject, title=subject_title(subject), link=thread_link(subject), count=count,
                           last_at=last_at,
                           kind=_("资助协议") if subject_type == SubjectType.CONTRACT else _("申报书")))
    return sorted(result, key=lambda r: r["last_at"], reverse=True)
