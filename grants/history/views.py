"""The admin's history import page: the template, upload → validation preview (every problem by sheet, row and
column) → confirm. The uploaded file waits in the instance's upload folder under a random name between the
preview and the confirmation, and is deleted once imported."""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from grants.core.forms import BaseForm

from grants.accounts.permissions import can_manage_settings
from grants.core.excel import xlsx_response
from grants.core.web import ensure
from grants.extensions import db
from grants.history import bp
from grants.history.services import ImportFileError, import_history, read_history
from grants.history.template import template_workbook_bytes

MAX_BYTES = 20 * 1024 * 1024
TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _folder() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"]) / "history-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@bp.route("")
@login_required
def index():
    ensure(can_manage_settings(current_user))
    return render_template("history/index.html", form=BaseForm())


@bp.route("/template.xlsx")
@login_required
def template():
    ensure(can_manage_settings(current_user))
    return xlsx_response(template_workbook_bytes(), "历史数据导入模板.xlsx")


@bp.route("/preview", methods=["POST"])
@login_required
def preview():
    """Check the uploaded file and show what it would import, or every problem in it."""
    ensure(can_manage_settings(current_user))
    form = BaseForm()
    organizations_only = request.form.get("kind") == "organizations"
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash(_("请选择用模板填写的 Excel 文件"), "danger")
        return redirect(url_for("history.index"))
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        flash(_("文件超过 20 MB，请分批导入"), "danger")
        return redirect(url_for("history.index"))
    try:
        plan = read_history(data, organizations_only=organizations_only)
    except ImportFileError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("history.index"))
    token = None
    if plan.ok:
        token = secrets.token_hex(16)
        (_folder() / f"{token}.xlsx").write_bytes(data)
    return render_template("history/preview.html", plan=plan, token=token, form=form,
                           kind="organizations" if organizations_only else "history",
                           filename=upload.filename), (200 if plan.ok else 422)


@bp.route("/confirm", methods=["POST"])
@login_required
def confirm():
    """Import the checked file (checked again: the data may have changed since the preview)."""
    ensure(can_manage_settings(current_user))
    token = request.form.get("token", "")
    path = _folder() / f"{token}.xlsx"
    if not BaseForm().validate_on_submit() or not TOKEN.match(token) or not path.exists():
        flash(_("预览已失效，请重新上传文件"), "danger")
        return redirect(url_for("history.index"))
    try:
        plan = read_history(path.read_bytes(), organizations_only=request.form.get("kind") == "organizations")
        result = import_history(plan, current_user)
    except ImportFileError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("history.index"))
    db.session.commit()
    os.remove(path)
    flash(_("已导入：组织 %(o)s 个，活动 %(c)s 届，项目 %(p)s 个，拨款 %(m)s 笔", o=result.orgs, c=result.calls,
            p=result.projects, m=result.payments), "success")
    return redirect(url_for("history.index"))
