from flask import Blueprint
from flask_babel import lazy_gettext as _l

from grants.extensions import login_manager

bp = Blueprint("accounts", __name__)

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("请先登录")
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str):
    from grants.accounts.sessions import load_session_user

    return load_session_user(user_id)


from grants.accounts import views  # noqa: E402,F401
