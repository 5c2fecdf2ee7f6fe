from flask import Blueprint

bp = Blueprint("awards", __name__)

from grants.awards import views  # noqa: E402,F401
