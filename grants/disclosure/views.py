"""信息公开 (no log-in): the calls with funded projects, each call's projects, a project page, and the open
data as CSV and 360Giving JSON. Only calls whose award list is final are disclosed; others answer 404."""
from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_login import current_user

from grants.core.permissions import is_authenticated
from grants.disclosure import bp, cache, exports, services
from grants.disclosure import permissions as perm
from grants.disclosure.forms import ProjectFilterForm
from grants.extensions import db, limiter


def _call_or_404(call_id: int):
    call = services.disclosed_call(call_id)
    if not perm.can_view_call_disclosure(current_user, call):
        abort(404)
    return call


# Anonymous clients are limited per address (RATELIMIT_OPEN_DATA): a file is cheap to send from disk, but
# not free, and scripts hammering the whole programme's JSON once pushed /healthz past a second. Staff are not.
# One budget for all four files (a shared scope), not one per file.
open_data_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_OPEN_DATA"], scope="open_data",
                                       exempt_when=lambda: is_authenticated(current_user))


OPEN_DATA_ENDPOINTS = {"disclosure.call_csv", "disclosure.call_json", "disclosure.all_csv", "disclosure.all_json"}


@bp.before_request
def _refuse_open_data_without_prefix():
    """Production serves no open-data file under the placeholder 360Giving prefix: a clear page instead."""
    if request.endpoint in OPEN_DATA_ENDPOINTS and exports.prefix_missing():
        return render_template("disclosure/open_data_unavailable.html", placeholder=exports.PLACEHOLDER_PREFIX), 503
    return None


@bp.app_template_global()
def open_data_prefix_missing() -> bool:
    """For the administrators' banner: the open data is withheld until GRANTS_360_PREFIX is set."""
    return exports.prefix_missing()


@bp.route("/disclosure")
def index():
    """Every disclosed call with its number of funded projects, amounts awarded and paid."""
    calls = services.disclosed_calls()
    return render_template("disclosure/index.html", calls=calls)


@bp.route("/disclosure/<int:call_id>")
def call(call_id: int):
    """A call's funded projects: organisation, category, amounts awarded and paid, status, final grade."""
    call = _call_or_404(call_id)
    form = ProjectFilterForm(request.args)
    form.set_categories(call.categories)
    page = services.project_page(call, page=request.args.get("page", 1, type=int) or 1,
                                 q=(form.q.data or "")[:100], category_id=form.category_id,
                                 status=form.status.data or "")
    return render_template("disclosure/call.html", call=call, form=form, page=page,
                           has_notice=services.has_notice(call))


@bp.route("/disclosure/projects/<int:award_id>")
def project(award_id: int):
    """What is public about one funded project: summary, organisation, amounts, tranches paid, grade, areas."""
    project = services.public_project(award_id)
    if project is None:
        abort(404)
    call = _call_or_404(project.call_id)
    return render_template("disclosure/project.html", call=call, project=project,
                           tranches=services.project_tranches(project))


# The open-data files: written once per published change, then sent from disk with ETag and Last-Modified
# (grants/disclosure/cache.py).

@bp.route("/disclosure/<int:call_id>.csv")
@open_data_limit
def call_csv(call_id: int):
    call = _call_or_404(call_id)
    return cache.send_open_data("csv", call, db.session, f"grants-call-{call.id}.csv")


@bp.route("/disclosure/<int:call_id>/360giving.json")
@open_data_limit
def call_json(call_id: int):
    call = _call_or_404(call_id)
    return cache.send_open_data("json", call, db.session, f"grants-call-{call.id}-360giving.json")


@bp.route("/disclosure/grants.csv")
@open_data_limit
def all_csv():
    return cache.send_open_data("csv", None, db.session, "grants.csv")


@bp.route("/disclosure/360giving.json")
@open_data_limit
def all_json():
    return cache.send_open_data("json", None, db.session, "grants-360giving.json")


@bp.app_template_global()
def disclosed_call_summaries(limit: int = 3) -> list[services.CallSummary]:
    """For the public home page: the latest calls whose funded projects are public."""
    return services.disclosed_calls()[:limit]
