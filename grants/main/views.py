"""Home (each role's work bench), health check and the language switch."""
from urllib.parse import urlparse

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, request, send_from_directory, session, url_for
from flask_login import current_user, login_required

from grants.accounts.models import Role
from grants.extensions import db
from grants.main import bp
from grants.organizations.models import Organization, OrgStatus


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("main/public_home.html")
    return redirect(url_for("main.workbench"))


@bp.route("/workbench")
@login_required
def workbench():
    """What each role has to do next, on one page."""
    cards = {}
    if current_user.has_role(Role.OFFICER, Role.AUDITOR):
        counts = dict(db.session.execute(
            sa.select(Organization.status, sa.func.count()).group_by(Organization.status)).all())
        cards["org_counts"] = {str(s): counts.get(str(s), 0) for s in OrgStatus}
    return render_template("main/workbench.html", cards=cards, org=current_user.organization)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
        ok = True
    except Exception as exc:  # report, don't crash: this is what load balancers poll
        db.session.rollback()
        return jsonify(status="error", database="unavailable", detail=type(exc).__name__), 503
    return jsonify(status="ok", database="ok" if ok else "error",
                   dialect=db.engine.dialect.name)


@bp.route("/favicon.ico")
def favicon():
    """Browsers, feed readers and bookmarks ask for /favicon.ico whatever the page links: the same heart as
    static/favicon.svg, as an ICO (16–64 px)."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in ("zh_CN", "en"):
        session["lang"] = code
    target = request.form.get("next") or ""
    if not target and request.referrer:
        parsed = urlparse(request.referrer)
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.index")
    return redirect(target)
