from flask import Blueprint

bp = Blueprint("assessments", __name__)

from grants.assessments import views  # noqa: E402,F401
from grants.assessments import reminders  # noqa: E402,F401  (registers the report reminder rules)
