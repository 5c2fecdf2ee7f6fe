"""The request side of revocable sessions: every signed-in request must name a live server-side session
(accounts.models.UserSession); "记住我" is our own random, hashed, expiring token; forced steps (a new password,
2FA enrolment) block every other page until done."""
from __future__ import annotations

import datetime as dt

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_login import current_user, login_user

from grants.accounts import services
from grants.extensions import db

REMEMBER_COOKIE = "grants_remember"
DEVICE_COOKIE = "grants_2fa_device"

# Pages a user may still open while a forced step waits.
FORCED_STEP_ENDPOINTS = {"static", "accounts.logout", "accounts.password", "accounts.two_factor",
                         "accounts.two_factor_enable", "main.set_language", "main.healthz"}


def client_ip() -> str:
    return request.remote_addr or ""


def current_session():
    """The UserSession of this request (None when anonymous)."""
    return g.get("user_session")


def load_session_user(user_id: str):
    """Flask-Login's user loader: the user only if the cookie names a live session of theirs."""
    from grants.accounts.models import User

    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active_account:
        return None
    row = services.find_session(user.id, session.get("sid"))
    if row is None:
        return None
    g.user_session = row
    touch_every = dt.timedelta(minutes=current_app.config["SESSION_TOUCH_MINUTES"])
    if row.last_seen_at + touch_every < services.wall_now():
        # Bookkeeping for the device list, at most every few minutes; not a change of any record.
        row.last_seen_at = services.wall_now()
        row.ip = client_ip()[:45] or row.ip
        db.session.commit()
    return user


def complete_login(user, *, remember: bool) -> None:
    """Sign the user in: a fresh cookie session with a new random id (no fixation), a server-side session record
    and, with "记住我", a remember token for a cookie of its own. The caller commits."""
    two_factor_pending_keys = [k for k in session if k.startswith("2fa_")]
    for k in two_factor_pending_keys:
        session.pop(k, None)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    row, sid, token = services.start_session(user, remember=remember, ip=client_ip(),
                                             user_agent=request.headers.get("User-Agent"))
    login_user(user)
    session["sid"] = sid
    session["2fa_required"] = services.two_factor_required(user)
    session.permanent = True
    g.user_session = row
    if token:
        g.set_remember_cookie = token


def end_current_session() -> None:
    row = current_session()
    if row is not None:
        services.end_session(row)
    g.clear_remember_cookie = True


def init_sessions(app: Flask) -> None:
    @app.before_request
    def resume_or_gate():
        # Per-request state starts empty even when an app context outlives a request (as in the test suite, where
        # one app context serves many requests and many clients).
        for key in ("_login_user", "user_session", "set_remember_cookie", "clear_remember_cookie",
                    "set_device_cookie"):
            g.pop(key, None)
        if request.endpoint == "static":
            return None
        if "sid" not in session and request.cookies.get(REMEMBER_COOKIE):
            resumed = services.resume_remembered(request.cookies.get(REMEMBER_COOKIE))
            if resumed is None:
                g.clear_remember_cookie = True
            else:
                row, sid = resumed
                from grants.accounts.models import User

                user = db.session.get(User, row.user_id)
                login_user(user)
                session["sid"] = sid
                session["2fa_required"] = services.two_factor_required(user)
                session.permanent = True
                g.user_session = row
                db.session.commit()
        if not current_user.is_authenticated or request.endpoint in FORCED_STEP_ENDPOINTS:
            return None
        if current_user.must_change_password:
            return redirect(url_for("accounts.password"))
        if session.get("2fa_required") and not current_user.has_two_factor:
            return redirect(url_for("accounts.two_factor"))
        return None

    @app.after_request
    def remember_cookies(response):
        secure = current_app.config["SESSION_COOKIE_SECURE"]
        token = g.get("set_remember_cookie")
        if token:
            response.set_cookie(REMEMBER_COOKIE, token, max_age=current_app.config["REMEMBER_DAYS"] * 86400,
                                secure=secure, httponly=True, samesite="Lax")
        elif g.get("clear_remember_cookie"):
            response.delete_cookie(REMEMBER_COOKIE, secure=secure, httponly=True, samesite="Lax")
        device = g.get("set_device_cookie")
        if device:
            response.set_cookie(DEVICE_COOKIE, device, max_age=current_app.config["TRUSTED_DEVICE_DAYS"] * 86400,
                                secure=secure, httponly=True, samesite="Lax")
        return response
