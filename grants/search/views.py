"""The search page: GET /search?q=…&kind=…&page=…; reads only."""
from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from grants.core.web import ensure, int_arg
from grants.search import bp
from grants.search.permissions import can_search
from grants.search.query import QueryError, SearchQuery, parse_query
from grants.search.services import highlight, search

MAX_PAGE = 500


@bp.app_context_processor
def _search_globals():
    return {"search_allowed": lambda: can_search(current_user)}


@bp.route("/search")
@login_required
def index():
    """Results best first, a page at a time, with tabs per kind; a query that cannot be read is explained."""
    ensure(can_search(current_user))
    text = request.args.get("q", "")
    error = None
    try:
        query = parse_query(text)
    except QueryError as exc:
        query, error = SearchQuery(raw=text), exc.message
    results = search(current_user, query, kind=request.args.get("kind") or None,
                     page=int_arg("page", 1, minimum=1, maximum=MAX_PAGE))
    return render_template("search/index.html", results=results, error=error, text=text, highlight=highlight)
