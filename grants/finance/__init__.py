"""Payments (拨款), holds, reclaims (追回) and the ledger (台账) per funding source."""
from flask import Blueprint

bp = Blueprint("finance", __name__, url_prefix="/finance")

from grants.finance import views  # noqa: E402,F401
