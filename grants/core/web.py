"""Request-side helpers shared by every blueprint: filters, error pages, permission guard, paging."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from grants.core.money import capitals, yuan
from grants.core.timeutil import format_local
from grants.extensions import db


def ensure(allowed: bool) -> None:
    """Deny by default: abort with 403 unless the permission function said yes."""
    if not allowed:
        abort(403)


def get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(stmt, per_page: int = 50, count_stmt=None) -> Page:
    """Two queries whatever the data size: one count, one page of rows."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    if count_stmt is None:
        count_stmt = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    total = db.session.scalar(count_stmt) or 0
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def _error(code: int, title: str, message: str):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=title, message=message), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def register_web_helpers(app: Flask) -> None:
    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["capitals"] = capitals
    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.filters["localdate"] = lambda v: format_local(v, "%Y-%m-%d")
    app.jinja_env.add_extension("jinja2.ext.do")
    from grants.core.auditview import field_label

    app.jinja_env.filters["audit_field"] = field_label

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        from grants.accounts.models import ROLE_LABELS
        from grants.main.navigation import nav_items

        return {
            "get_locale": get_locale,
            "ROLE_LABELS": ROLE_LABELS,
            "nav_items": nav_items(current_user) if current_user.is_authenticated else [],
            "platform_name": app.config["PLATFORM_NAME"],
        }

    @app.errorhandler(400)
    def bad_request(e):
        return _error(400, _("请求有误"), _("提交的内容无法处理，请返回后重试。"))

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return _error(400, _("页面已过期"), _("表单安全校验失败（页面停留过久或已在别处退出），请刷新页面后重新提交。"))

    @app.errorhandler(403)
    def forbidden(e):
        return _error(403, _("无权访问"), _("您没有权限查看或操作此内容。如有疑问请联系管理员。"))

    @app.errorhandler(404)
    def not_found(e):
        return _error(404, _("页面不存在"), _("您访问的页面不存在或已被删除。"))

    @app.errorhandler(405)
    def method_not_allowed(e):
        return _error(405, _("操作方式不正确"), _("此页面不支持该操作方式。"))

    @app.errorhandler(413)
    def too_large(e):
        return _error(413, _("文件过大"), _("上传的文件超过大小上限。"))

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return _error(500, _("系统错误"), _("服务器处理时出错，已记录。请稍后重试，已保存的内容不会丢失。"))
