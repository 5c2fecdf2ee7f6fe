"""Inbox, e-mail preferences, the admin's outbox and scheduler pages, officers' per-call reminder settings."""
from __future__ import annotations

import datetime as dt
import os

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.core.timeutil import now
from grants.core.web import ensure, get_or_404, paginate
from grants.extensions import db
from grants.reminders import bp
from grants.reminders.forms import ActionForm, RuleSettingForm
from grants.reminders.jobs import ensure_rule_rows
from grants.reminders.kinds import KINDS
from grants.reminders.models import (
    MAIL_STATUS_LABELS, Delivery, MailStatus, Notification, OutboxMail, OutboxSms, ReminderRule, SchedulerInstance,
)
from grants.reminders.permissions import (
    can_list_call_reminders, can_manage_call_reminders, can_manage_scheduler, can_read_notification,
    can_resend_mail, can_use_inbox, can_view_outbox,
)
from grants.reminders.registry import RULES
from grants.reminders.services import (
    ReminderError, call_reminder_settings, email_preferences, kinds_for, mark_all_read, mark_read, resend_mail,
    reset_call_reminder, set_call_reminder, set_email_preference, set_platform_rule, set_sms_preference,
    sms_preferences,
)


def _safe_link(link: str) -> str:
    """Only paths inside this site: a notification never sends anyone elsewhere."""
    return link if link.startswith("/") and not link.startswith("//") else url_for("reminders.inbox")


# --- inbox --------------------------------------------------------------------

@bp.route("/notifications")
@login_required
def inbox():
    ensure(can_use_inbox(current_user))
    only_unread = request.args.get("unread") == "1"
    stmt = sa.select(Notification).where(Notification.user_id == current_user.id)
    if only_unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    page = paginate(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()), per_page=30)
    return render_template("reminders/inbox.html", page=page, only_unread=only_unread, form=ActionForm(),
                           kind_labels={k: v.label for k, v in KINDS.items()})


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int):
    n = get_or_404(Notification, notification_id)
    ensure(can_read_notification(current_user, n))
    if ActionForm().validate_on_submit():
        mark_read(n, current_user)
        db.session.commit()
    return redirect(_safe_link(n.link) if n.link else url_for("reminders.inbox"))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_one_read(notification_id: int):
    n = get_or_404(Notification, notification_id)
    ensure(can_read_notification(current_user, n))
    if ActionForm().validate_on_submit():
        mark_read(n, current_user)
        db.session.commit()
    return redirect(url_for("reminders.inbox", unread=request.args.get("unread") or None))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_everything_read():
    ensure(can_use_inbox(current_user))
    if ActionForm().validate_on_submit():
        count = mark_all_read(current_user)
        db.session.commit()
        flash(_("已将 %(n)s 条通知标为已读。", n=count), "success")
    return redirect(url_for("reminders.inbox"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    ensure(can_use_inbox(current_user))
    form = ActionForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        wanted = set(request.form.getlist("email"))
        wanted_sms = set(request.form.getlist("sms"))
        for kind in kinds_for(current_user):
            key = kind.key
            if kind.critical:
                continue  # always on: not a choice the form offers
            try:
                set_email_preference(current_user, key, key in wanted)
                set_sms_preference(current_user, key, key in wanted_sms)
            except ReminderError as exc:
                errors[key] = exc.message
        if not errors:
            db.session.commit()
            flash(_("通知设置已保存。"), "success")
            return redirect(url_for("reminders.preferences"))
        db.session.rollback()
    prefs = email_preferences(current_user)
    return render_template("reminders/preferences.html", form=form, kinds=kinds_for(current_user), prefs=prefs,
                           sms=sms_preferences(current_user), errors=errors, has_email=bool(current_user.email),
                           has_mobile=bool(current_user.mobile))


# --- admin: outbox and scheduler -----------------------------------------------

@bp.route("/admin/outbox")
@login_required
def outbox():
    ensure(can_view_outbox(current_user))
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()
    stmt = sa.select(OutboxMail)
    if status in {str(s) for s in MailStatus}:
        stmt = stmt.where(OutboxMail.status == status)
    if q:
        stmt = stmt.where(sa.or_(OutboxMail.to_address.like(f"%{q}%"), OutboxMail.subject.like(f"%{q}%")))
    page = paginate(stmt.order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()))
    counts = dict(db.session.execute(sa.select(OutboxMail.status, sa.func.count()).group_by(OutboxMail.status)).all())
    from flask import current_app

    return render_template("reminders/outbox.html", page=page, status=status, q=q, counts=counts,
                           labels=MAIL_STATUS_LABELS, mail_server=current_app.config.get("MAIL_SERVER"))


@bp.route("/admin/outbox/<int:mail_id>")
@login_required
def outbox_mail(mail_id: int):
    ensure(can_view_outbox(current_user))
    mail = get_or_404(OutboxMail, mail_id)
    return render_template("reminders/outbox_mail.html", mail=mail, form=ActionForm(),
                           can_resend=can_resend_mail(current_user, mail))


@bp.route("/admin/outbox/<int:mail_id>/resend", methods=["POST"])
@login_required
def outbox_resend(mail_id: int):
    """重发 a failed or uncertain mail by hand: it is never resent automatically."""
    ensure(can_view_outbox(current_user))
    mail = get_or_404(OutboxMail, mail_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not can_resend_mail(current_user, mail):
        flash(_("只有发送失败或结果不明的邮件可以重发。"), "info")
    else:
        resend_mail(mail, current_user)
        db.session.commit()
        flash(_("邮件已重新排队发送。"), "success")
    return redirect(url_for("reminders.outbox_mail", mail_id=mail.id))


def _rule_forms(rows) -> dict[str, RuleSettingForm]:
    forms = {}
    for row in rows:
        key = row["rule"].key
        submitted = request.method == "POST" and request.form.get("rule") == key
        form = RuleSettingForm(prefix=key) if submitted else RuleSettingForm(
            prefix=key, formdata=None, data={"enabled": row["enabled"],
                                             "offsets": ", ".join(str(o) for o in row["offsets"])})
        forms[key] = form
    return forms


def _submitted(forms: dict[str, RuleSettingForm]) -> tuple[str, RuleSettingForm] | tuple[None, None]:
    key = request.form.get("rule")
    return (key, forms[key]) if key in forms else (None, None)


@bp.route("/admin/scheduler", methods=["GET", "POST"])
@login_required
def scheduler_status():
    ensure(can_manage_scheduler(current_user))
    if request.method == "POST":
        ensure_rule_rows()  # GET never writes: a rule without its row shows the registry's defaults
    settings = {r.rule: r for r in db.session.scalars(sa.select(ReminderRule))}
    rows = [dict(rule=r, enabled=settings[k].enabled if k in settings else True,
                 offsets=list(settings[k].offsets) if k in settings else list(r.default_offsets))
            for k, r in RULES.items()]
    forms = _rule_forms(rows)
    if request.method == "POST":
        key, form = _submitted(forms)
        if form is None:
            abort(400)
        if form.validate_on_submit():
            try:
                set_platform_rule(key, enabled=form.enabled.data, offsets_text=form.offsets.data,
                                  actor=current_user)
            except ReminderError as exc:
                db.session.rollback()
                form.offsets.errors = [exc.message]
            else:
                db.session.commit()
                flash(_("提醒规则“%(r)s”已保存。", r=RULES[key].label), "success")
                return redirect(url_for("reminders.scheduler_status"))
    at = now()
    instances = db.session.scalars(sa.select(SchedulerInstance).order_by(
        SchedulerInstance.is_active.desc(), SchedulerInstance.heartbeat_at.desc())).all()
    since = at - dt.timedelta(days=1)
    delivered = dict(db.session.execute(
        sa.select(Delivery.rule, sa.func.count()).where(Delivery.created_at >= since).group_by(Delivery.rule)).all())
    late = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
        Delivery.created_at >= since, Delivery.late.is_(True))) or 0
    mail_counts = dict(db.session.execute(
        sa.select(OutboxMail.status, sa.func.count()).group_by(OutboxMail.status)).all())
    recent = db.session.scalars(sa.select(Delivery).order_by(Delivery.id.desc()).limit(20)).all()
    from grants.accounts.models import User

    names = dict(db.session.execute(sa.select(User.id, User.display_name).where(
        User.id.in_({d.recipient_id for d in recent}))).all()) if recent else {}
    last_pass = db.session.scalar(sa.select(sa.func.max(ReminderRule.last_run_at)))
    return render_template("reminders/scheduler.html", instances=instances, rows=rows, forms=forms, at=at,
                           delivered=delivered, late=late, mail_counts=mail_counts, recent=recent, rules=RULES,
                           names=names, last_pass=last_pass,
                           stale_after=_stale_after())


def _stale_after() -> dt.timedelta:
    """How long an instance may stay silent before the page calls it dead: a few heartbeat periods."""
    from grants.reminders.scheduler import DEFAULT_INTERVAL, DEFAULT_STANDBY_RETRY, MISSED_HEARTBEATS, heartbeat_period

    def setting(name: str, default: int) -> int:
        value = current_app.config.get(name) or os.environ.get(name) or default
        try:
            return max(1, int(value))
        except ValueError:
            return default

    period = heartbeat_period(setting("SCHEDULER_INTERVAL_SECONDS", DEFAULT_INTERVAL),
                              setting("SCHEDULER_STANDBY_RETRY_SECONDS", DEFAULT_STANDBY_RETRY))
    return MISSED_HEARTBEATS * dt.timedelta(seconds=period)


# --- officers: per-call reminder settings --------------------------------------

@bp.route("/reminders/calls")
@login_required
def call_list():
    ensure(can_list_call_reminders(current_user))
    from grants.calls.models import Call
    from grants.calls.permissions import visible_unit_ids
    from grants.reminders.models import CallReminderSetting

    units = visible_unit_ids(current_user)
    stmt = sa.select(Call).where(Call.host_unit_id.in_(units)).order_by(Call.year.desc(), Call.id.desc())
    page = paginate(stmt)
    ids = [c.id for c in page.items]
    overridden = dict(db.session.execute(
        sa.select(CallReminderSetting.call_id, sa.func.count()).where(CallReminderSetting.call_id.in_(ids))
        .group_by(CallReminderSetting.call_id)).all()) if ids else {}
    return render_template("reminders/call_list.html", page=page, overridden=overridden)


@bp.route("/calls/<int:call_id>/reminders", methods=["GET", "POST"])
@login_required
def call_settings(call_id: int):
    from grants.calls.models import Call

    call = get_or_404(Call, call_id)
    ensure(can_manage_call_reminders(current_user, call))
    if request.method == "POST":
        ensure_rule_rows()  # GET never writes; call_reminder_settings falls back to the defaults
    rows = call_reminder_settings(call)
    forms = _rule_forms(rows)
    if request.method == "POST":
        if request.form.get("reset"):
            key = request.form.get("rule")
            if key not in forms or not ActionForm().validate_on_submit():
                abort(400)
            reset_call_reminder(call, key, current_user)
            db.session.commit()
            flash(_("“%(r)s”已恢复为平台默认设置。", r=RULES[key].label), "success")
            return redirect(url_for("reminders.call_settings", call_id=call.id))
        key, form = _submitted(forms)
        if form is None:
            abort(400)
        if form.validate_on_submit():
            try:
                set_call_reminder(call, key, enabled=form.enabled.data, offsets_text=form.offsets.data,
                                  actor=current_user)
            except ReminderError as exc:
                db.session.rollback()
                form.offsets.errors = [exc.message]
            else:
                db.session.commit()
                flash(_("本活动的“%(r)s”设置已保存。", r=RULES[key].label), "success")
                return redirect(url_for("reminders.call_settings", call_id=call.id))
    return render_template("reminders/call_settings.html", call=call, rows=rows, forms=forms,
                           reset_form=ActionForm())


# --- admin: the SMS outbox -------------------------------------------------------

@bp.route("/admin/sms-outbox")
@login_required
def sms_outbox():
    ensure(can_view_outbox(current_user))
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()
    stmt = sa.select(OutboxSms)
    if status in {str(s) for s in MailStatus}:
        stmt = stmt.where(OutboxSms.status == status)
    if q:
        stmt = stmt.where(sa.or_(OutboxSms.to_mobile.like(f"%{q}%"), OutboxSms.text.like(f"%{q}%")))
    page = paginate(stmt.order_by(OutboxSms.created_at.desc(), OutboxSms.id.desc()))
    counts = dict(db.session.execute(sa.select(OutboxSms.status, sa.func.count()).group_by(OutboxSms.status)).all())
    from grants.reminders.sms import sms_provider

    return render_template("reminders/sms_outbox.html", page=page, status=status, q=q, counts=counts,
                           labels=MAIL_STATUS_LABELS, provider=sms_provider())


@bp.route("/admin/sms-outbox/<int:sms_id>")
@login_required
def sms_outbox_item(sms_id: int):
    ensure(can_view_outbox(current_user))
    sms = get_or_404(OutboxSms, sms_id)
    return render_template("reminders/sms_outbox_item.html", sms=sms, form=ActionForm(),
                           can_resend=can_resend_mail(current_user, sms), kind_labels={k: v.label for k, v in KINDS.items()})


@bp.route("/admin/sms-outbox/<int:sms_id>/resend", methods=["POST"])
@login_required
def sms_outbox_resend(sms_id: int):
    """重发 a failed or uncertain SMS by hand: it is never resent automatically."""
    from grants.reminders.sms import resend_sms

    ensure(can_view_outbox(current_user))
    sms = get_or_404(OutboxSms, sms_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not can_resend_mail(current_user, sms):
        flash(_("只有发送失败或结果不明的短信可以重发。"), "info")
    else:
        resend_sms(sms, current_user)
        db.session.commit()
        flash(_("短信已重新排队发送。"), "success")
    return redirect(url_for("reminders.sms_outbox_item", sms_id=sms.id))


# --- admin: notice templates ----------------------------------------------------------

@bp.route("/admin/notice-templates")
@login_required
def notice_templates():
    from grants.reminders.models import NoticeTemplate
    from grants.reminders.notices import NOTICES

    ensure(can_manage_scheduler(current_user))
    rows = {t.kind: t for t in db.session.scalars(sa.select(NoticeTemplate))}
    return render_template("reminders/notice_templates.html", notices=list(NOTICES.values()), rows=rows)


@bp.route("/admin/notice-templates/<kind>", methods=["GET", "POST"])
@login_required
def notice_template(kind: str):
    """Edit one kind's wording: preview with sample data, save, or reset to the default."""
    from grants.reminders.models import NoticeTemplate
    from grants.reminders.notices import NOTICES
    from grants.reminders.templates import (
        PARTS, TemplateError, preview_template, reset_template, sample_variables, save_template,
    )

    ensure(can_manage_scheduler(current_user))
    notice = NOTICES.get(kind)
    if notice is None:
        abort(404)
    row = db.session.scalar(sa.select(NoticeTemplate).where(NoticeTemplate.kind == kind))
    form = ActionForm()
    parts = {p: (getattr(row, p) if row and getattr(row, p) else str(getattr(notice, p))) for p in PARTS}
    preview, error = None, None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        action = request.form.get("action")
        if action == "reset":
            reset_template(kind, current_user)
            db.session.commit()
            flash(_("已恢复默认内容。"), "success")
            return redirect(url_for("reminders.notice_template", kind=kind))
        parts = {p: request.form.get(p, "") for p in PARTS}
        try:
            if action == "save":
                save_template(kind, parts, current_user)
                db.session.commit()
                flash(_("通知模板已保存。"), "success")
                return redirect(url_for("reminders.notice_template", kind=kind))
            preview = preview_template(kind, parts)
        except TemplateError as exc:
            db.session.rollback()
            error = exc
    elif request.args.get("preview"):
        preview = preview_template(kind, parts)
    return render_template("reminders/notice_template.html", notice=notice, row=row, parts=parts, form=form,
                           preview=preview, error=error, samples=sample_variables(kind),
                           defaults={p: str(getattr(notice, p)) for p in PARTS})
