"""Home (each role's work bench), health check and the language switch."""
import threading
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
    from grants.main.workbench import sections

    todo = sections(current_user)
    return render_template("main/workbench.html", cards=cards, org=current_user.organization, sections=todo,
                           waiting=sum(s.count for s in todo))


_health_check: threading.Thread | None = None  # the check still waiting for the database, if any


def _ping(engine, out: list) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        out.append(None)
    except Exception as exc:  # noqa: BLE001 - reported by the caller
        out.append(exc)


@bp.route("/healthz")
def healthz():
    """What load balancers poll: 200 when the database answers, 503 otherwise — within
    HEALTHZ_TIMEOUT_SECONDS even when the database accepts connections and never answers (the check runs
    in a thread the request does not wait for beyond that; while one check hangs no second one starts)."""
    global _health_check
    timeout = current_app.config.get("HEALTHZ_TIMEOUT_SECONDS", 2)
    if _health_check is not None and _health_check.is_alive():
        return jsonify(status="error", database="timeout", detail="previous check still waiting"), 503
    out: list = []
    _health_check = threading.Thread(target=_ping, args=(db.engine, out), daemon=True, name="healthz")
    _health_check.start()
    _health_check.join(timeout)
    if not out:
        return jsonify(status="error", database="timeout"), 503
    if out[0] is not None:
        return jsonify(status="error", database="unavailable", detail=type(out[0]).__name__), 503
    return jsonify(status="ok", database="ok", dialect=db.engine.dialect.name)


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
