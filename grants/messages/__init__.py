"""Message threads (往来消息): on each application and each contract, between the organisation and the
officers, with attachments and the officers' internal notes on the same page."""
from flask import Blueprint

bp = Blueprint("messages", __name__)

from grants.messages import views  # noqa: E402,F401
