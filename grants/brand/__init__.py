from flask import Blueprint

bp = Blueprint("brand", __name__, url_prefix="/brand")

from grants.brand import views  # noqa: E402,F401
