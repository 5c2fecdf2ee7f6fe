"""Log-in (with CAPTCHA after failures and a second factor), log-out, password change, 登录设备, 两步验证."""
import time
from urllib.parse import urlparse

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from grants.accounts import bp
from grants.accounts import services
from grants.accounts.forms import (ChangePasswordForm, CodeForm, ContactsForm, DisableTwoFactorForm,
                                   EnableTwoFactorForm, ForgotPasswordForm, LoginForm, RecoveryCodesForm,
                                   ResetWithCodeForm, SendCodeForm, TwoFactorLoginForm)
from grants.accounts.services import AccountError, authenticate, change_contacts, change_password
from grants.accounts.sessions import (DEVICE_COOKIE, client_ip, complete_login, current_session,
                                      end_current_session)
from grants.core import captcha
from grants.accounts.verification import (
    VerificationError, confirm_contact, request_password_reset, reset_password_with_code, send_contact_code,
)
from grants.core.audit import record
from grants.extensions import db, limiter

PENDING_MINUTES = 10  # how long the code step may wait after the password step
PENDING_TRIES = 5


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    return target if not parsed.netloc and not parsed.scheme and target.startswith("/") else None


def _typed_login() -> str:
    return "login-account:" + (request.form.get("login") or "").strip().lower()[:100]


def _finish_login(user, remember: bool, next_url: str | None, notice: str | None = None):
    record(user, "user.login", user)
    complete_login(user, remember=remember)
    db.session.commit()
    if notice:
        flash(notice, "warning")
    if user.must_change_password:
        flash(_("请先修改初始密码"), "warning")
        return redirect(url_for("accounts.password"))
    if session.get("2fa_required") and not user.has_two_factor:
        flash(_("您的角色须使用两步验证：请用手机验证器应用扫描二维码完成设置"), "warning")
        return redirect(url_for("accounts.two_factor"))
    return redirect(_safe_next(next_url) or url_for("main.index"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"], methods=["POST"], key_func=_typed_login)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    error = None
    need_captcha = captcha.enabled() and services.login_captcha_needed(client_ip())
    if form.validate_on_submit():
        if need_captcha and not captcha.check(request.form.get("captcha")):
            error = _("图形验证码不正确，请重新输入")
        else:
            try:
                user = authenticate(form.login.data, form.password.data, client_ip())
            except AccountError as exc:
                db.session.commit()  # keep the failure count / lock even though log-in failed
                error = exc.message
            else:
                next_url = request.args.get("next")
                if user.has_two_factor and not services.device_trusted(user, request.cookies.get(DEVICE_COOKIE)):
                    db.session.commit()
                    session.update({"2fa_user": user.id, "2fa_remember": bool(form.remember.data),
                                    "2fa_next": _safe_next(next_url), "2fa_at": int(time.time()), "2fa_tries": 0})
                    return redirect(url_for("accounts.two_factor_login"))
                return _finish_login(user, bool(form.remember.data), next_url)
        need_captcha = captcha.enabled() and services.login_captcha_needed(client_ip())
    captcha_image = captcha.new_challenge() if need_captcha else None
    return render_template("accounts/login.html", form=form, error=error, captcha_image=captcha_image)


def _pending_user():
    from grants.accounts.models import User

    user_id, at = session.get("2fa_user"), session.get("2fa_at", 0)
    if not user_id or time.time() - at > PENDING_MINUTES * 60:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_active_account and user.has_two_factor else None


def _drop_pending() -> None:
    for key in ("2fa_user", "2fa_remember", "2fa_next", "2fa_at", "2fa_tries"):
        session.pop(key, None)


@bp.route("/login/2fa", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_TWO_FACTOR"], methods=["POST"])
def two_factor_login():
    """The second step of log-in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    user = _pending_user()
    if user is None:
        _drop_pending()
        flash(_("请重新登录"), "warning")
        return redirect(url_for("accounts.login"))
    form = TwoFactorLoginForm()
    error = None
    if form.validate_on_submit():
        ok = (services.verify_totp(user, form.code.data) if form.code.data
              else services.use_recovery_code(user, form.recovery_code.data))
        if ok:
            if form.trust_device.data:
                g.set_device_cookie = services.trust_device(user)
            remember, next_url = session.get("2fa_remember", False), session.get("2fa_next")
            notice = None if form.code.data else _(
                "已使用一个恢复码，还剩 %(n)s 个。用完前请在“两步验证”页面生成新的恢复码。",
                n=services.unused_recovery_codes(user))
            return _finish_login(user, remember, next_url, notice)
        session["2fa_tries"] = session.get("2fa_tries", 0) + 1
        db.session.commit()
        if session["2fa_tries"] >= PENDING_TRIES:
            _drop_pending()
            flash(_("验证码错误次数过多，请重新登录"), "danger")
            return redirect(url_for("accounts.login"))
        error = _("验证码不正确")
    elif request.method == "POST":
        error = _("请输入验证器应用中的 6 位验证码，或一个恢复码")
    return render_template("accounts/two_factor_login.html", form=form, error=error), (422 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    end_current_session()
    db.session.commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已安全退出"), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.old_password.data, form.new_password.data,
                            current_session=current_session())
        except AccountError as exc:
            getattr(form, exc.field or "new_password").errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("密码已修改，其他设备上的登录已退出"), "success")
            return redirect(url_for("main.index"))
    return render_template("accounts/password.html", form=form)


def describe_device(user_agent: str | None) -> str:
    """"Chrome · Windows" from a User-Agent header, for people to recognise their devices."""
    ua = user_agent or ""
    browser = next((name for key, name in (("MicroMessenger", _("微信")), ("Edg/", "Edge"), ("Firefox/", "Firefox"),
                                           ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
                    if key in ua), _("未知浏览器"))
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                          ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Linux", "Linux"))
                   if key in ua), _("未知系统"))
    return f"{browser} · {system}"


@bp.route("/account/sessions")
@login_required
def sessions():
    """登录设备: where the user is signed in."""
    return render_template("accounts/sessions.html", rows=services.active_sessions(current_user),
                           current=current_session(), describe=describe_device)


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def sessions_end_others():
    n = services.end_sessions(current_user, except_current=current_session())
    record(current_user, "user.end_other_sessions", current_user, after={"ended": n})
    db.session.commit()
    flash(_("已退出其他 %(n)s 个设备上的登录", n=n), "success")
    return redirect(url_for("accounts.sessions"))


def _qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG, drawn here (segno): the secret never leaves the server."""
    import segno

    return segno.make(uri, error="m").svg_inline(scale=5, dark="#1f2937", omitsize=False)


@bp.route("/account/2fa")
@login_required
def two_factor():
    """两步验证: set up (QR code and secret) or look after it (recovery codes, switch off when allowed)."""
    user = current_user
    if user.has_two_factor:
        return render_template("accounts/two_factor.html", recovery_left=services.unused_recovery_codes(user),
                               required=services.two_factor_required(user), codes_form=RecoveryCodesForm(),
                               disable_form=DisableTwoFactorForm())
    return _setup_page(EnableTwoFactorForm())


def _setup_page(form, status: int = 200):
    secret = session.get("2fa_setup_secret")
    if not secret:
        secret = session["2fa_setup_secret"] = services.new_totp_secret()
    uri = services.totp_uri(current_user, secret)
    return render_template("accounts/two_factor_setup.html", form=form, secret=secret, qr_svg=_qr_svg(uri),
                           required=services.two_factor_required(current_user)), status


@bp.route("/account/2fa/enable", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["RATELIMIT_TWO_FACTOR"])
def two_factor_enable():
    if current_user.has_two_factor:
        return redirect(url_for("accounts.two_factor"))
    form = EnableTwoFactorForm()
    secret = session.get("2fa_setup_secret")
    if form.validate_on_submit() and secret:
        try:
            codes = services.enable_two_factor(current_user, secret, form.code.data)
        except AccountError as exc:
            form.code.errors.append(exc.message)
        else:
            session.pop("2fa_setup_secret", None)
            db.session.commit()
            flash(_("两步验证已开启"), "success")
            return render_template("accounts/recovery_codes.html", codes=codes)
    elif request.method == "POST" and not form.code.errors:
        form.code.errors.append(_("请输入验证器应用中的 6 位验证码"))
    return _setup_page(form, 422)


@bp.route("/account/2fa/recovery-codes", methods=["POST"])
@login_required
def two_factor_recovery_codes():
    """New recovery codes (the old ones stop working); the password confirms it is the user."""
    form = RecoveryCodesForm()
    if current_user.has_two_factor and form.validate_on_submit():
        if services.check_password(current_user, form.password.data):
            codes = services.regenerate_recovery_codes(current_user)
            db.session.commit()
            return render_template("accounts/recovery_codes.html", codes=codes)
        flash(_("密码不正确"), "danger")
    else:
        flash(_("请输入密码"), "danger")
    return redirect(url_for("accounts.two_factor"))


@bp.route("/account/2fa/disable", methods=["POST"])
@login_required
def two_factor_disable():
    form = DisableTwoFactorForm()
    if current_user.has_two_factor and form.validate_on_submit():
        try:
            services.disable_two_factor(current_user, form.password.data)
        except AccountError as exc:
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("两步验证已关闭"), "success")
    else:
        flash(_("请输入密码"), "danger")
    return redirect(url_for("accounts.two_factor"))


# --- contacts: mobile and e-mail, verified by one-time codes ---------------------------------------------

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
@limiter.limit(lambda: current_app.config["RATELIMIT_PASSWORD_RESET"], methods=["POST"])
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
@limiter.limit(lambda: current_app.config["RATELIMIT_PASSWORD_RESET"], methods=["POST"])
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
