"""公益创投管理平台 — the application factory."""
from __future__ import annotations

import json
import os

from flask import Flask, has_request_context, session
from flask_login import current_user

from config import BASE_DIR, Config
from grants.extensions import babel, csrf, db, login_manager, migrate


def _select_locale() -> str:
    if not has_request_context():
        return "zh_CN"  # CLI commands and the scheduler speak the default language
    lang = session.get("lang")
    if lang in ("zh_CN", "en"):
        return lang
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    return "zh_CN"


def _database_timeouts(app: Flask) -> None:
    """Connect and statement timeouts for PostgreSQL (see config.py), merged into the engine options."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("connect_timeout", app.config.get("DB_CONNECT_TIMEOUT_SECONDS", 5))
    statement_ms = int(app.config.get("DB_STATEMENT_TIMEOUT_MS", 0) or 0)
    if statement_ms > 0:
        connect_args.setdefault("options", f"-c statement_timeout={statement_ms}")
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
def json_dumps_unescaped(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def create_app(config_class: type = Config) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(config_class)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(BASE_DIR / "grants" / "translations"))
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(os.path.dirname(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]) or ".", exist_ok=True)

    from grants.core.security import init_security

    init_security(app)

    from grants.core.static import init_static

    init_static(app)
    _database_timeouts(app)
    # JSON columns (the audit log's before/after) keep Chinese as it is instead of \\uXXXX escapes.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                                               "json_serializer": json_dumps_unescaped}
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Asia/Shanghai")

    from grants import models  # noqa: F401  (register every table with SQLAlchemy)
    from grants.core.web import register_web_helpers

    register_web_helpers(app)
    from grants.workflows import register_status_enums

    register_status_enums(app)

    from grants.accounts.sessions import init_sessions

    init_sessions(app)

    from grants.accounts import bp as accounts_bp
    from grants.admin import bp as admin_bp
    from grants.applications import bp as applications_bp
    from grants.awards import bp as awards_bp
    from grants.brand import bp as brand_bp
    from grants.assessments import bp as assessments_bp
    from grants.calls import bp as calls_bp
    from grants.core.views import bp as core_bp
    from grants.dashboard import bp as dashboard_bp
    from grants.contracts import bp as contracts_bp
    from grants.disclosure import bp as disclosure_bp
    from grants.finance import bp as finance_bp
    from grants.history import bp as history_bp
    from grants.main import bp as main_bp
    from grants.messages import bp as messages_bp
    from grants.organizations import bp as organizations_bp
    from grants.reminders import bp as reminders_bp
    from grants.reviews import bp as reviews_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(organizations_bp)
    app.register_blueprint(applications_bp)
    app.register_blueprint(awards_bp)
    app.register_blueprint(calls_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(reviews_bp)
    app.register_blueprint(contracts_bp)
    app.register_blueprint(assessments_bp)
    app.register_blueprint(finance_bp)
    app.register_blueprint(brand_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(disclosure_bp)
    app.register_blueprint(history_bp)
    from grants.search import bp as search_bp

    app.register_blueprint(search_bp)

    from grants.api import init_api

    init_api(app)
    app.register_blueprint(messages_bp)

    from grants.cli import register_cli

    register_cli(app)
    return app
