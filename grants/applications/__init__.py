from flask import Blueprint

bp = Blueprint("applications", __name__)

from grants.applications import views  # noqa: E402,F401
