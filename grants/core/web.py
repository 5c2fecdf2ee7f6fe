"""Request-side helpers shared by every blueprint: filters, error pages, permission guard, paging."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from urllib.parse import urlsplit

from flask import Flask, Request, abort, current_app, flash, jsonify, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter

from grants.core.errors import DomainError
from grants.core.inputs import INT_MAX, bounded_int, clean_text, int_or_none

from grants.core.money import capitals, yuan
from grants.core.timeutil import format_local
from grants.extensions import db


class CleanMultiDict(ImmutableMultiDict):
    """Query strings and form posts as views and forms see them: control characters removed from every key
    and value (tab and line breaks kept for textareas; single-line fields fold them, see core/forms.py), and
    `.get(name, type=int)` bounded to the database's integer range, so an out-of-range page or filter falls
    back to its default like any other unreadable value."""

    def __init__(self, mapping=None):
        pairs = MultiDict(mapping).items(multi=True) if mapping is not None else ()
        super().__init__([(clean_text(k), clean_text(v) if isinstance(v, str) else v) for k, v in pairs])

    def get(self, key, default=None, type=None):
        return super().get(key, default, bounded_int if type is int else type)

    def getlist(self, key, type=None):
        return super().getlist(key, bounded_int if type is int else type)


def _clean_json(value):
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: _clean_json(v) for k, v in value.items()}
    return value


class CleanRequest(Request):
    """The application's request class: args and form arrive cleaned (CleanMultiDict), and so do the
    strings of a JSON body (get_json / .json)."""

    parameter_storage_class = CleanMultiDict

    def get_json(self, *args, **kwargs):
        return _clean_json(super().get_json(*args, **kwargs))


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` for the whole application: ASCII digits within the database's integer range, so
    /disclosure/99999999999999999999 is a 404 instead of an overflow in the query."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class CleanStringConverter(UnicodeConverter):
    """`<token>` / `<string:…>`: a path segment without control characters (a NUL would reach PostgreSQL)."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]", 1)


def int_arg(name: str, default: int | None = None, *, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
    """An integer query argument (?page=, ?call_id=, ?category=): ASCII or full-width digits within the
    database's range and the given bounds, else `default`. The one way views read numbers from a URL."""
    kwargs = {}
    if minimum is not None:
        kwargs["minimum"] = minimum
    if maximum is not None:
        kwargs["maximum"] = maximum
    value = int_or_none(request.args.get(name), **kwargs)
    return default if value is None else value


def install_input_cleaning(app: Flask) -> None:
    """Must run before any blueprint registers its rules (converters are bound when a rule is added)."""
    app.request_class = CleanRequest
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["default"] = CleanStringConverter
    app.url_map.converters["string"] = CleanStringConverter


# --- lost races ------------------------------------------------------------------------------------
# "Someone else did it first": a unique violation (two contracts for one award, two submits of one
# assessment), a stale version (StaleDataError), a deadlock or lock conflict the database broke. The data is
# right — the database refused the second writer — so the user gets this one message and the page's latest
# state, never a 500. Any other database error stays an error.
RACE_MESSAGE = _l("该内容刚刚已被其他人处理（或您重复提交了），请查看最新状态后再操作。")
_RACE_SQLSTATES = {"23505", "40001", "40P01", "55P03"}  # unique, serialization, deadlock, lock not available
# Text too long for its column, a number out of its column's range, a character the database refuses: a
# form without its Length/NumberRange check. The safety net answers 400 with a message; the form should say it.
_INPUT_SQLSTATES = {"22001", "22003", "22021", "22P05"}
_BUSY_SQLSTATES = {"57014", "08000", "08001", "08003", "08006", "57P01", "57P03"}  # timeout, connection lost


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_lost_race(exc: BaseException) -> bool:
    """True for the errors that mean another transaction changed the same thing first."""
    if isinstance(exc, StaleDataError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if _sqlstate(exc) in _RACE_SQLSTATES:
        return True
    text = str(getattr(exc, "orig", exc))
    return text.startswith("UNIQUE constraint failed") or "database is locked" in text  # SQLite


def is_database_busy(exc: BaseException) -> bool:
    """A statement timeout or a lost connection: the database did not answer in time."""
    return isinstance(exc, DBAPIError) and (_sqlstate(exc) in _BUSY_SQLSTATES or exc.connection_invalidated)


def _lost_race_response():
    if request.method == "POST" and request.referrer:
        ref = urlsplit(request.referrer)
        if ref.netloc == request.host:
            flash(str(RACE_MESSAGE), "warning")
            return redirect(ref.path + (f"?{ref.query}" if ref.query else ""))
    return _error(409, _("已被处理"), str(RACE_MESSAGE))


@dataclass
class ActionResult:
    """What run_action did: `ok` when committed, else the refusal (`error`) after the rollback."""
    ok: bool
    value: Any = None
    error: DomainError | None = None


def run_action(fn, success: str | None = None, *, form=None, category: str = "danger") -> ActionResult:
    """Run one user action as one transaction, the one way views do it: call `fn()`; on success commit and
    flash `success`; when a domain rule refuses (DomainError, IllegalTransition included) roll back and show
    the message — next to the form field it names when `form` has that field (what was typed is kept), else
    as a flash of `category`. Lost races and other database errors are left to the app-wide handlers
    (RACE_MESSAGE, 500), after the same rollback."""
    try:
        value = fn()
    except DomainError as exc:
        db.session.rollback()
        field = getattr(form, exc.field, None) if (form is not None and exc.field) else None
        if field is not None:
            field.errors = [*field.errors, exc.message]
        else:
            flash(exc.message, category)
        return ActionResult(ok=False, error=exc)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    if success:
        flash(str(success), "success")
    return ActionResult(ok=True, value=value)


def ensure(allowed: bool) -> None:
    """Deny by default: abort with 403 unless the permission function said yes."""
    if not allowed:
        abort(403)


def get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


class PageNumbers:
    """Pager arithmetic for anything with `page`, `per_page` and `total` (a list's Page, the search's results)."""

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


@dataclass
class Page(PageNumbers):
    items: list
    page: int
    per_page: int
    total: int


def paginate(stmt, per_page: int = 50, count_stmt=None) -> Page:
    """Two queries whatever the data size: one count, one page of rows."""
    page = int_arg("page", 1, minimum=1, maximum=10**6)
    if count_stmt is None:
        count_stmt = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    total = db.session.scalar(count_stmt) or 0
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


_ERROR_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
                500: "server_error"}


def _error(code: int, title: str, message: str):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        # the JSON API's error object ({code, message, field}) also for URLs no API route matched
        return jsonify(code=_ERROR_CODES.get(code, "error"), error=title, message=message, field=None), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def register_web_helpers(app: Flask) -> None:
    install_input_cleaning(app)
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

    @app.errorhandler(StaleDataError)
    @app.errorhandler(DBAPIError)
    def database_refused(e):
        db.session.rollback()
        if is_lost_race(e):
            current_app.logger.info("lost race on %s %s: %s", request.method, request.path, str(e).splitlines()[0])
            return _lost_race_response()
        if isinstance(e, DBAPIError) and _sqlstate(e) in _INPUT_SQLSTATES:
            current_app.logger.warning("input refused by the database on %s %s: %s", request.method, request.path,
                                       str(e).splitlines()[0])
            return _error(400, _("内容未保存"), _("提交的内容过长或数值超出范围，未能保存。请返回修改后重试。"))
        if is_database_busy(e):
            current_app.logger.warning("database busy on %s %s: %s", request.method, request.path,
                                       str(e).splitlines()[0])
            return _error(503, _("系统繁忙"), _("数据库暂时没有响应，请稍后重试。已保存的内容不会丢失。"))
        raise e

    @app.errorhandler(500)
    def server_error(e):
        db.session.rollback()
        return _error(500, _("系统错误"), _("服务器处理时出错，已记录。请稍后重试，已保存的内容不会丢失。"))
