"""Staff search (搜索): one box for applications, projects, contracts and organisations; the same query
language and conditions serve the per-list searches of the application, organisation and contract lists."""
from flask import Blueprint

bp = Blueprint("search", __name__)

from grants.search import views  # noqa: E402,F401
