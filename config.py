"""Settings, read from the environment. README lists every variable."""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("GRANTS_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'grants.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Uploaded files live outside static/ and are only served after a permission check.
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    UPLOAD_MAX_BYTES = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ["zh_CN", "en"]
    DISPLAY_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Asia/Shanghai")

    # Sessions: secure cookies whenever the site is served over HTTPS (production).
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    SESSION_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_HOURS", "8")))
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead; long forms must not expire

    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15

    # The bureau that appears as 甲方 on contracts and as fundingOrganization in open data.
    PLATFORM_NAME = os.environ.get("PLATFORM_NAME", "公益创投管理平台")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "noreply@example.org")

    ITEMS_PER_PAGE = 50

    # Signs the audit log's checkpoints (HMAC). Keep it out of the database and its backups; without it no
    # checkpoint is written and `audit verify` checks the hash chain only.
    AUDIT_KEY = os.environ.get("AUDIT_KEY", "")
    # The scheduler signs a checkpoint of the chain head when it has moved and the last one is this old.
    AUDIT_CHECKPOINT_MINUTES = int(os.environ.get("AUDIT_CHECKPOINT_MINUTES", "60"))

    # 信息公开: identifiers in the open data are "<prefix>-<award id>"; register a prefix with 360Giving
    # (they start with "360G-") so the ids are unique among every publisher's.
    GRANTS_360_PREFIX = os.environ.get("GRANTS_360_PREFIX", "360G-grants")

    # Payments strictly above this amount (in fen) need a second finance user's approval (复核).
    PAYMENT_SECOND_APPROVAL_FEN = int(os.environ.get("PAYMENT_SECOND_APPROVAL_FEN", "20000000"))

    # Coverage targets of the host-unit tree shown on the dashboard (统计): the share, in percent, of the
    # districts and of the streets under the viewer's unit that should run their own call each year.
    DASHBOARD_TARGET_DISTRICT_PCT = int(os.environ.get("DASHBOARD_TARGET_DISTRICT_PCT", "100"))
    DASHBOARD_TARGET_STREET_PCT = int(os.environ.get("DASHBOARD_TARGET_STREET_PCT", "50"))


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    AUDIT_KEY = "test-audit-key"
    # Every audit row of unit work must carry its unit: record() raises otherwise, in every test.
    AUDIT_REQUIRE_UNIT = True
    WTF_CSRF_ENABLED = False
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    PASSWORD_HASH_FAST = True  # argon2 with minimal cost: the suite creates many users
