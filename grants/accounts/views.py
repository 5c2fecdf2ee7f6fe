"""Log-in, log-out and password change."""
from urllib.parse import urlparse

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from grants.accounts import bp
from grants.accounts.forms import (
    ChangePasswordForm, CodeForm, ContactsForm, ForgotPasswordForm, LoginForm, ResetWithCodeForm, SendCodeForm,
)
from grants.accounts.services import AccountError, authenticate, change_password, change_contacts
from grants.accounts.verification import (
    VerificationError, confirm_contact, request_password_reset, reset_password_with_code, send_contact_code,
)
from grants.core.audit import record
from grants.extensions import db


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    return target if not parsed.netloc and not parsed.scheme and target.startswith("/") else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(form.login.data, form.password.data)
        except AccountError as exc:
            db.session.commit()  # keep the failure count / lock even though log-in failed
            error = exc.message
        else:
            record(user, "user.login", user)
            db.session.commit()
            session.clear()  # a fresh session on log-in (no fixation)
            login_user(user, remember=form.remember.data)
            session.permanent = True
            if user.must_change_password:
                flash(_("请先修改初始密码"), "warning")
                return redirect(url_for("accounts.password"))
            return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("accounts/login.html", form=form, error=error)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("您已安全退出"), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.old_password.data, form.new_password.data)
        except AccountError as exc:
            getattr(form, exc.field or "new_password").errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("密码已修改"), "success")
            return redirect(url_for("main.index"))
    return render_template("accounts/password.html", form=form)


# --- contacts: mobile and e-mail, verified by one-time codes ---------------------------------------------

def client_ip() -> str:
    return (request.remote_addr or "")[:45]


@bp.route("/account/contacts", methods=["GET", "POST"])
@login_required
def contacts():
    """The person's mobile (required) and e-mail (optional), each verified by a code."""
    form = ContactsForm(obj=current_user) if request.method == "GET" else ContactsForm()
    if form.validate_on_submit():
        try:
            changed = change_contacts(current_user, mobile=form.mobile.data, email=form.email.data,
                                      actor=current_user)
            if "mobile" in changed:
                send_contact_code(current_user, "mobile", ip=client_ip())
        except (AccountError, VerificationError) as exc:
            db.session.rollback()
            getattr(form, exc.field if exc.field in ("mobile", "email") else "mobile").errors.append(exc.message)
        else:
            db.session.commit()
            if changed:
                flash(_("联系方式已更新，请输入验证码完成验证。"), "success")
            return redirect(url_for("accounts.contacts"))
    return render_template("accounts/contacts.html", form=form, code_form=CodeForm(), send_form=SendCodeForm())


@bp.route("/account/contacts/send", methods=["POST"])
@login_required
def send_code():
    form = SendCodeForm()
    if form.validate_on_submit():
        try:
            send_contact_code(current_user, form.which.data, ip=client_ip())
        except VerificationError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("验证码已发送至您的手机，请查收短信。") if form.which.data == "mobile"
                  else _("验证码已发送至您的邮箱，请查收。"), "success")
    return redirect(url_for("accounts.contacts", sent=form.which.data))


@bp.route("/account/contacts/confirm", methods=["POST"])
@login_required
def confirm_code():
    form = CodeForm()
    if form.validate_on_submit():
        try:
            confirm_contact(current_user, form.which.data if form.which.data in ("mobile", "email") else "mobile",
                            form.code.data)
        except VerificationError as exc:
            db.session.commit()  # the wrong guess is counted
            flash(exc.message, "danger")
            return redirect(url_for("accounts.contacts", sent=form.which.data))
        db.session.commit()
        flash(_("手机号已验证。") if form.which.data == "mobile" else _("电子邮箱已验证。"), "success")
    else:
        flash(_("请输入验证码"), "danger")
    return redirect(url_for("accounts.contacts"))


# --- 忘记密码: reset by SMS code or e-mail link ------------------------------------------------------------

@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset code (mobile) or link (e-mail). The answer is the same whether an account exists."""
    if current_user.is_authenticated:
        return redirect(url_for("accounts.password"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        contact = form.contact.data.strip()
        try:
            request_password_reset(contact, ip=client_ip(), link_for=lambda c, t: url_for(
                "accounts.reset_password", c=c, t=t, _external=True))
        except VerificationError as exc:
            db.session.rollback()
            form.contact.errors.append(exc.message)
        else:
            db.session.commit()
            if "@" in contact:
                flash(_("如果该邮箱已登记，重置密码的链接已发送，15 分钟内有效。"), "info")
                return redirect(url_for("accounts.login"))
            flash(_("如果该手机号已登记，验证码已通过短信发送，15 分钟内有效。"), "info")
            return redirect(url_for("accounts.reset_password", c=contact))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    """Set a new password with the SMS code, or from the e-mail link (?c=address&t=token)."""
    link_token = request.args.get("t", "")[:64]
    form = ResetWithCodeForm(contact=request.args.get("c", "")[:120], code=link_token) \
        if request.method == "GET" else ResetWithCodeForm()
    if form.validate_on_submit():
        try:
            reset_password_with_code(form.contact.data, form.code.data, form.new_password.data)
        except VerificationError as exc:
            db.session.commit()  # a wrong code is counted
            getattr(form, exc.field if exc.field in ("new_password",) else "code").errors.append(exc.message)
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash(_("密码已重置，其他设备上的登录已全部退出。请用新密码登录。"), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, by_link=bool(link_token))
