"""History import (历史数据导入): past calls, organisations, funded projects, tranches and payments from the
bureau's own records, through an Excel template — on the admin page and as `flask --app wsgi import …`."""
from flask import Blueprint

bp = Blueprint("history", __name__, url_prefix="/admin/history", cli_group="import")

from grants.history import cli, views  # noqa: E402,F401
