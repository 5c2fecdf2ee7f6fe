from flask import Blueprint
from flask_babel import lazy_gettext as _l

from grants.extensions import db, login_manager

bp = Blueprint("accounts", __name__)

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("请先登录")
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str):
    from grants.accounts.models import User

    # "<id>:<session token>": a session made before the user's token changed (password reset) is over.
    ident, _sep, token = (user_id or "").partition(":")
    try:
        user = db.session.get(User, int(ident))
    except ValueError:
        return None
    if user is None or not user.is_active_account or token != (user.session_token or "0"):
        return None
    return user


from grants.accounts import views  # noqa: E402,F401
