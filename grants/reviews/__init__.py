from flask import Blueprint

bp = Blueprint("reviews", __name__, url_prefix="/reviews")

from grants.reviews import views  # noqa: E402,F401
