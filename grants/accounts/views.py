"""Log-in, log-out and password change."""
from urllib.parse import urlparse

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from grants.accounts import bp
from grants.accounts.forms import ChangePasswordForm, LoginForm
from grants.accounts.services import AccountError, authenticate, change_password
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
