from flask import Blueprint

bp = Blueprint("brand", __name__, url_prefix="/brand")

from grants.brand import views  # noqa: E402,F401
from grants.brand import reminders  # noqa: E402,F401  (registers the scoring-deadline reminder rule)
