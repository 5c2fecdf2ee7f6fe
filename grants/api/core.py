"""What every API call shares: token authentication, scopes, the per-token rate limit, the error object,
cursor pages, ETags, idempotency keys and the audit row of each call.

Only the `Authorization: Bearer <token>` header authenticates: the session cookie is never read, so a
page open in a browser cannot be turned against the API (no CSRF exposure), and a token is the whole
identity of a call. The token's user is put where Flask-Login looks first (g._login_user), so anything
that asks for current_user during an API call gets the token's user, never the cookie's.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from functools import wraps

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh as refresh_locale
from werkzeug.exceptions import HTTPException

from grants.api.scopes import grants_scope
from grants.core.audit import record
from grants.core.money import Money
from grants.core.timeutil import now, to_local
from grants.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class ApiError(Exception):
    """An error answered as {"code", "message", "field"} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, *, errors=None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.errors = errors or []
        self.headers = headers or {}


def error_body(code: str, message: str, field: str | None = None, errors=None) -> dict:
    body = {"code": code, "message": str(message), "field": field}
    if errors:
        body["errors"] = [{"code": e.get("code", code), "message": str(e["message"]), "field": e.get("field")}
                          for e in errors]
    return body


def problems_error(problems: dict[str, list[str]], code: str = "validation_failed") -> ApiError:
    """Every problem a service found (field → Chinese messages) as one 422 listing them all."""
    errors = [{"code": code, "message": m, "field": field} for field, messages in problems.items() for m in messages]
    first = errors[0]
    return ApiError(422, code, first["message"], first["field"], errors=errors)


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("找不到该对象，或您无权查看。"))


def forbidden(message: str | None = None) -> ApiError:
    return ApiError(403, "forbidden", message or _("您没有权限执行此操作。"))


# --- marshmallow fields ---------------------------------------------------------------

class LocalDateTime(ma.fields.DateTime):
    """ISO 8601 with the Beijing offset (+08:00), which is how every deadline is announced."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return to_local(value).isoformat(timespec="seconds")


class Text(ma.fields.String):
    """Input text: control characters (NUL above all, which PostgreSQL refuses) are an error, not a 500."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if any((ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 for c in text):
            raise ma.ValidationError(_("不能包含控制字符"))
        return text


class MoneySchema(ma.Schema):
    fen = ma.fields.Integer(required=True, metadata={"description": "金额（分）"})
    formatted = ma.fields.String(required=True, metadata={"description": "显示用金额，如 ¥12,345.67"})


def money(fen: int | None) -> dict:
    fen = int(fen or 0)
    return {"fen": fen, "formatted": Money(fen).format()}


class MoneyField(ma.fields.Nested):
    """Integer fen plus a formatted string."""

    def __init__(self, **kwargs):
        super().__init__(MoneySchema, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else money(value)


class ErrorItemSchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    field = ma.fields.String(required=True, allow_none=True)


class ErrorSchema(ErrorItemSchema):
    """The one error object of the API, in the user's language."""

    errors = ma.fields.List(ma.fields.Nested(ErrorItemSchema))


class CursorArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(
        1, MAX_LIMIT, error=_l("每页条数须在 1 至 100 之间")), metadata={"description": "每页条数，1–100，默认 50"})
    cursor = Text(load_default=None, validate=ma.validate.Length(max=200),
                  metadata={"description": "上一页返回的 next_cursor"})


def page_schema(item_schema, name: str) -> type[ma.Schema]:
    """{"items": [...], "next_cursor": str | null} for one item schema."""
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "next_cursor": ma.fields.String(required=True, allow_none=True,
                                        metadata={"description": "下一页的游标；null 表示没有更多"}),
    })


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("utf-8"))
        last_id = int(value["after"])
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise ApiError(422, "invalid_cursor", _("分页游标无效，请从第一页重新读取。"), "cursor") from None
    if not 0 < last_id < 2 ** 62:
        raise ApiError(422, "invalid_cursor", _("分页游标无效，请从第一页重新读取。"), "cursor")
    return last_id


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode("ascii").rstrip("=")


def cursor_page(stmt, id_column, args: dict, *, scalars: bool = True) -> dict:
    """Newest first by id, one query of limit + 1 rows whatever the table's size (keyset, not offset)."""
    limit = args.get("limit") or DEFAULT_LIMIT
    after = _decode_cursor(args.get("cursor"))
    if after is not None:
        stmt = stmt.where(id_column < after)
    stmt = stmt.order_by(id_column.desc()).limit(limit + 1)
    rows = list(db.session.scalars(stmt).unique() if scalars else db.session.execute(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    last_id = getattr(last, "id", None) if last is not None else None
    return {"items": rows, "next_cursor": _encode_cursor(last_id) if more and last_id else None}


# --- authentication ----------------------------------------------------------------------

class ScopedUser:
    """The token's user as the permission functions see it: the same roles, membership and id, but when the
    token has a unit scope, that unit (inside the user's own subtree) instead of the user's unit. So each
    domain's own can_* function narrows to the token's unit without a copy of its rules."""

    def __init__(self, user, host_unit_id: int | None):
        object.__setattr__(self, "_user", user)
        object.__setattr__(self, "host_unit_id", host_unit_id if host_unit_id is not None else user.host_unit_id)

    def __getattr__(self, name):
        return getattr(self._user, name)

    def __setattr__(self, name, value):
        raise AttributeError("read-only")


def public(view):
    """A call that answers without a token (public calls and notices); a token, when sent, is still checked."""
    view._api_public = True
    return view


def scope(needed: str):
    """The scope a call needs, e.g. scope("applications:write")."""

    def decorate(view):
        view._api_scope = needed

        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        wrapper._api_scope = needed
        return wrapper

    return decorate


class _Window:
    """A per-process fixed-window counter per token. Replace with the shared Flask-Limiter instance
    (grants.extensions.limiter, keyed by token id) once it exists; the limit's setting stays the same."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, int], int] = {}

    def hit(self, token_key: str, per_minute: int) -> int | None:
        """None if allowed, else seconds until the window resets (the clock is timeutil.now, so tests move it)."""
        t = now().timestamp()
        window = int(t // 60)
        with self.lock:
            if len(self.counts) > 10000:
                self.counts = {k: v for k, v in self.counts.items() if k[1] == window}
            key = (token_key, window)
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.counts[key] > per_minute:
                return max(1, 60 - int(t % 60))
        return None


_window = _Window()


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    return value.strip() if kind.lower() == "bearer" and value.strip() else None


def authenticate_request():
    """before_request of every API blueprint: who calls, with which scope."""
    from grants.api.services import find_token

    g.api_token = g.api_actor = g.api_user = None
    g._login_user = _anonymous()  # until a token says otherwise; the cookie's user is never loaded
    refresh_locale()
    view = current_app.view_functions.get(request.endpoint)
    # An id no column can hold names nothing (and must not reach the database: PostgreSQL would refuse it).
    if any(isinstance(v, int) and not 0 < v < 2 ** 31 for v in (request.view_args or {}).values()):
        raise not_found()
    secret = _bearer()
    if secret is None:
        if getattr(view, "_api_public", False):
            return None
        raise ApiError(401, "unauthenticated", _("请在 Authorization 头中提供访问令牌（Bearer）。"),
                       headers={"WWW-Authenticate": 'Bearer realm="api"'})
    token = find_token(secret)
    if token is None or not token.is_usable() or not token.user.is_active:
        raise ApiError(401, "invalid_token", _("访问令牌无效、已过期或已撤销。"),
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.api_token, g.api_actor = token, token.user
    g.api_user = ScopedUser(token.user, token.host_unit_id)
    g._login_user = token.user  # Flask-Login reads this before any cookie
    refresh_locale()  # messages in the token user's language, whatever was resolved before
    limit = int(current_app.config.get("API_RATE_LIMIT_PER_MINUTE", 600))
    retry = _window.hit(token.token_hash, limit)
    if retry is not None:
        raise ApiError(429, "rate_limited", _("请求过于频繁，请 %(s)s 秒后再试。", s=retry),
                       headers={"Retry-After": str(retry)})
    needed = getattr(view, "_api_scope", None)
    if needed and not grants_scope(token.scopes, needed):
        raise ApiError(403, "insufficient_scope", _("该令牌没有“%(scope)s”权限范围。", scope=needed))
    return None


def forget_caller(_exc=None):
    """teardown_request: the token's user must not outlive its request in `g` (the app context, and with it
    `g`, can be shared by several requests, as in tests and in a `with app.app_context()` block)."""
    for name in ("_login_user", "api_token", "api_actor", "api_user"):
        g.pop(name, None)
    refresh_locale()


def _anonymous():
    from flask_login import AnonymousUserMixin

    return AnonymousUserMixin()


def user():
    """The caller as the permission functions see it (None when anonymous)."""
    return g.get("api_user")


def actor():
    """The caller as services record it."""
    return g.get("api_actor")


def audit_call(response):
    """after_request: one audit row per call made with a token (the refused ones too), then commit."""
    token = g.get("api_token")
    if token is None:
        return response
    if response.status_code >= 400:
        db.session.rollback()  # whatever a refused call had begun is not kept
    try:
        record(g.api_actor, "api.call", object_type="api_token", object_id=token.id,
               host_unit_id=token.host_unit_id or g.api_actor.host_unit_id,
               after={"method": request.method, "path": request.path[:200], "status": response.status_code,
                      "token": token.prefix})
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
    return response


def handle_error(exc):
    """Every error of an API blueprint as {"code", "message", "field"}."""
    db.session.rollback()
    if isinstance(exc, ApiError):
        resp = jsonify(error_body(exc.code, exc.message, exc.field, exc.errors))
        resp.status_code = exc.status
        resp.headers.update(exc.headers)
        return resp
    if isinstance(exc, HTTPException):
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        if exc.code == 422 and messages:
            errors = []
            for location, fields in (messages.items() if isinstance(messages, dict) else []):
                for name, detail in _flatten(fields):
                    errors.append({"code": "invalid", "field": name,
                                   "message": _("“%(field)s”的值不符合要求：%(detail)s", field=name, detail=detail)})
            if errors:
                return handle_error(ApiError(422, "invalid", errors[0]["message"], errors[0]["field"], errors=errors))
        code, message = _HTTP_MESSAGES.get(exc.code, ("error", None))
        return handle_error(ApiError(exc.code or 500, code, message() if message else exc.description or ""))
    raise exc


def _flatten(fields, prefix=""):
    if isinstance(fields, dict):
        for key, value in fields.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            yield from _flatten(value, name)
    elif isinstance(fields, list):
        yield prefix, "；".join(str(f) for f in fields if not isinstance(f, (dict, list))) or _("格式不正确")
        for item in fields:
            if isinstance(item, (dict, list)):
                yield from _flatten(item, prefix)


_HTTP_MESSAGES = {
    400: ("bad_request", lambda: _("请求格式有误（JSON 无法解析或缺少内容）。")),
    401: ("unauthenticated", lambda: _("请提供有效的访问令牌。")),
    403: ("forbidden", lambda: _("您没有权限执行此操作。")),
    404: ("not_found", lambda: _("找不到该对象，或您无权查看。")),
    405: ("method_not_allowed", lambda: _("此地址不支持该请求方法。")),
    409: ("conflict", lambda: _("与当前状态冲突，请重新读取后再试。")),
    412: ("precondition_failed", lambda: _("对象已被修改（If-Match 不符），请重新读取后再试。")),
    413: ("too_large", lambda: _("上传的内容超过大小上限。")),
    415: ("unsupported_media_type", lambda: _("请以 application/json 提交。")),
    422: ("invalid", lambda: _("提交的内容不符合要求。")),
    429: ("rate_limited", lambda: _("请求过于频繁，请稍后再试。")),
    500: ("server_error", lambda: _("服务器处理时出错，已记录。请稍后重试，已保存的内容不会丢失。")),
}


# --- ETags and idempotency ------------------------------------------------------------------

def add_etag(response):
    """after_request: a strong ETag on every successful GET, and 304 for a matching If-None-Match."""
    if request.method == "GET" and response.status_code == 200 and response.is_json:
        response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
        response.make_conditional(request)
    return response


def representation_etag(data: dict) -> str:
    """The ETag a GET of this object gives (for If-Match on writes)."""
    body = current_app.json.response(data).get_data()
    return hashlib.sha256(body).hexdigest()[:32]


def check_if_match(current: dict) -> None:
    """Refuse a write whose If-Match names another version than the stored one (lost updates)."""
    wanted = request.headers.get("If-Match")
    if not wanted or wanted.strip() == "*":
        return
    tags = {t.strip().strip('"').removeprefix("W/").strip('"') for t in wanted.split(",")}
    if representation_etag(current) not in tags:
        raise ApiError(412, "precondition_failed", _("对象已被修改（If-Match 不符），请重新读取后再试。"))


IDEMPOTENCY_HEADER = "Idempotency-Key"


def write(view):
    """A write: one commit at the end (errors roll back), honouring Idempotency-Key. With a key, the first
    answer is stored in the same transaction as the change, and a repeat of the key by the same user gets
    that answer again without running the write twice."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        from grants.api.models import IdempotencyRecord

        key = (request.headers.get(IDEMPOTENCY_HEADER) or "").strip()
        if not key:
            result = view(*args, **kwargs)
            db.session.commit()
            return result
        if len(key) > 100 or not key.isprintable():
            raise ApiError(422, "invalid_idempotency_key", _("Idempotency-Key 须为不超过 100 个字符的可见字符。"),
                           IDEMPOTENCY_HEADER)
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(),
                                                 request.get_data()])).hexdigest()
        done = db.session.scalar(sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == g.api_actor.id, IdempotencyRecord.key == key))
        if done is not None:
            if done.fingerprint != fingerprint:
                raise ApiError(422, "idempotency_key_reused",
                               _("该 Idempotency-Key 已用于另一个请求，请换一个新的键。"), IDEMPOTENCY_HEADER)
            resp = jsonify(done.body)
            resp.status_code = done.status_code
            resp.headers["Idempotent-Replayed"] = "true"
            return resp
        result = view(*args, **kwargs)
        resp = current_app.make_response(result)
        if resp.is_json:
            db.session.add(IdempotencyRecord(user_id=g.api_actor.id, key=key, fingerprint=fingerprint,
                                             status_code=resp.status_code, body=resp.get_json(), created_at=now()))
            try:
                db.session.commit()
            except sa.exc.IntegrityError:
                # the same key raced in at the same moment: its answer is the one to give
                db.session.rollback()
                done = db.session.scalar(sa.select(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == g.api_actor.id, IdempotencyRecord.key == key))
                resp = jsonify(done.body)
                resp.status_code = done.status_code
                resp.headers["Idempotent-Replayed"] = "true"
        return resp

    return wrapper
