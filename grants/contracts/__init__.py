from flask import Blueprint

bp = Blueprint("contracts", __name__)

from grants.contracts import views  # noqa: E402,F401
