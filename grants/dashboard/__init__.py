"""Programme dashboards (统计): figures per call, year, level or range of years, with drill-down lists."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from grants.dashboard import cli, summary, views  # noqa: E402,F401  (summary: its session hooks)
