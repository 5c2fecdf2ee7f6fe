"""The JSON API, v1 (/api/v1/), documented as OpenAPI 3.1 at /api/v1/openapi.json.

Framework: flask-smorest. It is an extension of a plain Flask app (Api(app) plus its own Blueprint
class), so the pages, their blueprints, Flask-Login, Flask-WTF and Flask-Babel stay as they are; APIFlask
would have us swap the Flask class (or run a second app) to get the same. Schemas are marshmallow, which
webargs uses to parse and validate arguments, and apispec writes the document from the same schemas the
views use, so the document cannot drift from the code. It is maintained (2026 releases) and emits 3.1.

Its one app-wide habit we do not want — turning every HTTPException of the site into JSON — is switched off
here: the API blueprints answer their own errors ({"code", "message", "field"}) and the pages keep theirs.
"""
from __future__ import annotations

from flask import Blueprint, Flask
from flask_smorest import Api

from werkzeug.exceptions import HTTPException

from grants.api.core import (
    ApiError, ErrorSchema, add_etag, audit_call, authenticate_request, forget_caller, handle_error,
)

ui = Blueprint("api_ui", __name__)

API_DESCRIPTION = """公益创投管理平台的数据接口（v1）。

* 认证：`Authorization: Bearer <令牌>`。个人令牌在“API 令牌”页面创建；服务账号令牌由系统管理员创建。
  登录页面的会话 Cookie 不能调用接口。每次调用都记入审计日志。
* 权限：令牌的权限范围（按业务域只读/读写）与单位范围只会收窄令牌所属用户本身的权限。
* 分页：列表按 id 倒序，`limit`（1–100）与 `cursor`（上一页返回的 `next_cursor`）。
* 缓存：GET 返回 `ETag`，带 `If-None-Match` 再次请求未变化时返回 304；修改申报书时可带 `If-Match`。
* 时间：ISO 8601，带时区偏移（北京时间 +08:00）。金额：`{"fen": 整数分, "formatted": "¥1,234.56"}`。
* 错误：`{"code", "message", "field"}`，`message` 使用调用者的语言；多个问题时另有 `errors` 列表。
* 幂等：写操作可带 `Idempotency-Key` 请求头，同一用户重复同一键返回第一次的结果，不会重复执行。
"""


class GrantsApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Not app-wide: see register() below, per API blueprint."""


def _guard(blp) -> None:
    """Once per blueprint (they are module-level; create_app may run several times in one process)."""
    if getattr(blp, "_api_guarded", False):
        return
    blp._api_guarded = True
    blp.before_request(authenticate_request)
    blp.after_request(add_etag)
    blp.after_request(audit_call)
    blp.teardown_request(forget_caller)
    blp.register_error_handler(ApiError, handle_error)
    blp.register_error_handler(HTTPException, handle_error)
    # Flask prefers a handler for the status code over one for the class, and the pages register
    # 400/403/404/405/413/500: the API's own handlers for those codes keep its errors JSON.
    for code in (400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 429, 500):
        blp.register_error_handler(code, handle_error)


def init_api(app: Flask) -> None:
    from grants.extensions import csrf
    from grants.api.resources import BLUEPRINTS

    app.config.setdefault("API_TITLE", "公益创投管理平台 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_RATE_LIMIT_PER_MINUTE", 600)
    app.config.setdefault("WEBHOOK_TIMEOUT_SECONDS", 5)
    api = GrantsApi()  # one per app: it keeps the app and its document
    api.init_app(app, spec_kwargs={
        "info": {"description": API_DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "个人令牌或服务账号令牌（gt_…）"})
    for blp in BLUEPRINTS:
        _guard(blp)
        csrf.exempt(blp)  # no cookie authenticates these routes, so there is nothing to forge
        api.register_blueprint(blp)

    from grants.api import views  # noqa: F401  (the token, webhook and docs pages)
    from grants.api import webhooks  # noqa: F401  (the outbox listener and the delivery step)

    app.register_blueprint(ui)
