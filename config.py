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


# The development key is public (it is in this file): production refuses to start with it.
DEV_SECRET_KEY = "dev-only-secret-change-me"


def _roles(name: str, default: str) -> frozenset[str]:
    return frozenset(r.strip() for r in os.environ.get(name, default).split(",") if r.strip())


class Config:
    IS_PRODUCTION = False
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'grants.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # PostgreSQL timeouts (applied in create_app): a database that accepts connections and never answers must
    # not hold a worker for minutes. Connecting gives up after DB_CONNECT_TIMEOUT_SECONDS; one statement is
    # cancelled by the server after DB_STATEMENT_TIMEOUT_MS (0 = no limit); /healthz answers within
    # HEALTHZ_TIMEOUT_SECONDS (503 when the database did not answer in time).
    DB_CONNECT_TIMEOUT_SECONDS = int(os.environ.get("DB_CONNECT_TIMEOUT_SECONDS", "5"))
    DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "30000"))
    HEALTHZ_TIMEOUT_SECONDS = float(os.environ.get("HEALTHZ_TIMEOUT_SECONDS", "2"))
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

    # Lock-out is keyed by account *and* source address, so failures from a stranger's address never lock
    # the real user out; after LOGIN_CAPTCHA_AFTER failures from one address its log-ins need a CAPTCHA.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    LOGIN_CAPTCHA_AFTER = 3
    CAPTCHA_ENABLED = _bool("CAPTCHA_ENABLED", True)
    # "记住我" and "remember this device" (2FA) last this many days; each is a random token stored hashed.
    REMEMBER_DAYS = 30
    SESSION_TOUCH_MINUTES = 5  # how stale "last seen" on the 登录设备 page may be (one UPDATE at most this often)
    TRUSTED_DEVICE_DAYS = 30
    # Roles that must use two-factor authentication unless an admin changes it under 管理 → 两步验证.
    TWO_FACTOR_ROLES = _roles("TWO_FACTOR_ROLES", "finance,admin")
    # Abuse limits (Flask-Limiter): memory:// in one process; redis://host:6379/0 shared by every worker.
    RATE_LIMITS = _bool("RATE_LIMITS", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = "10 per minute;60 per hour"  # per source address
    RATELIMIT_LOGIN_ACCOUNT = "30 per hour"  # per account named in the form, from anywhere
    RATELIMIT_REGISTER = "5 per hour"
    RATELIMIT_OBJECTION = "10 per hour"
    RATELIMIT_INVITE = "30 per hour"
    RATELIMIT_TWO_FACTOR = "10 per minute"
    RATELIMIT_PASSWORD_RESET = "10 per hour"  # per source address, on top of the per-contact code limits
    # Static files (grants/core/static.py): a URL carrying the file's content hash is cached for a year; the
    # plain name for STATIC_MAX_AGE seconds. STATIC_AUTOREFRESH (development) re-reads the folder per request.
    STATIC_MAX_AGE = int(os.environ.get("STATIC_MAX_AGE", "3600"))
    STATIC_AUTOREFRESH = _bool("STATIC_AUTOREFRESH", False)
    # Anonymous downloads of the open-data files, per source address (logged-in users are not limited).
    RATELIMIT_OPEN_DATA = os.environ.get("RATELIMIT_OPEN_DATA", "30 per minute;300 per hour")
    # Proxies in front of the app whose X-Forwarded-For/-Proto are trusted (nginx: 1).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    FORCE_HTTPS = _bool("FORCE_HTTPS", False)

    # The bureau that appears as 甲方 on contracts and as fundingOrganization in open data.
    PLATFORM_NAME = os.environ.get("PLATFORM_NAME", "公益创投管理平台")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "noreply@example.org")

    # SMS (grants/reminders/sms.py): without a provider, text messages stay in the outbox like mail.
    SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "")  # "aliyun"
    ALIYUN_SMS_ACCESS_KEY_ID = os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID", "")
    ALIYUN_SMS_ACCESS_KEY_SECRET = os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET", "")
    ALIYUN_SMS_SIGN_NAME = os.environ.get("ALIYUN_SMS_SIGN_NAME", "")
    # The registered template code per notice kind: "application_received=SMS_123,verification_code=SMS_456".
    ALIYUN_SMS_TEMPLATES = os.environ.get("ALIYUN_SMS_TEMPLATES", "")
    ALIYUN_SMS_ENDPOINT = os.environ.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")
    ALIYUN_SMS_PROTOCOL = os.environ.get("ALIYUN_SMS_PROTOCOL", "https")

    # One-time codes (contact verification, password reset): limits counted in the database.
    CODE_PER_CONTACT_PER_HOUR = int(os.environ.get("CODE_PER_CONTACT_PER_HOUR", "5"))
    CODE_PER_IP_PER_HOUR = int(os.environ.get("CODE_PER_IP_PER_HOUR", "20"))
    CODE_RESEND_SECONDS = int(os.environ.get("CODE_RESEND_SECONDS", "60"))
    CODE_MAX_WRONG = int(os.environ.get("CODE_MAX_WRONG", "5"))

    ITEMS_PER_PAGE = 50

    # JSON API (grants/api): calls per minute per token, and how long a webhook receiver may take to answer.
    API_RATE_LIMIT_PER_MINUTE = int(os.environ.get("API_RATE_LIMIT_PER_MINUTE", "600"))
    WEBHOOK_TIMEOUT_SECONDS = int(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
    # Signs the audit log's checkpoints (HMAC). Keep it out of the database and its backups; without it no
    # checkpoint is written and `audit verify` checks the hash chain only.
    AUDIT_KEY = os.environ.get("AUDIT_KEY", "")
    # The scheduler signs a checkpoint of the chain head when it has moved and the last one is this old.
    AUDIT_CHECKPOINT_MINUTES = int(os.environ.get("AUDIT_CHECKPOINT_MINUTES", "60"))
    # The scheduler seals the audit rows appended since its last run into the hash chain this often (seconds).
    AUDIT_SEAL_SECONDS = int(os.environ.get("AUDIT_SEAL_SECONDS", "2"))

    # 信息公开: identifiers in the open data are "<prefix>-<award id>"; register a prefix with 360Giving
    # (they start with "360G-") so the ids are unique among every publisher's.
    GRANTS_360_PREFIX = os.environ.get("GRANTS_360_PREFIX", "360G-grants")
    # Production refuses to publish open data under the placeholder prefix (its ids would change later).
    OPEN_DATA_REQUIRES_PREFIX = False
    # The open-data files, cached per published version (default: beside the uploads, <instance>/open_data).
    OPEN_DATA_CACHE_DIR = os.environ.get("OPEN_DATA_CACHE_DIR", "")
    # How long a client may reuse a file before asking again (it then gets 304 while nothing changed).
    OPEN_DATA_MAX_AGE = int(os.environ.get("OPEN_DATA_MAX_AGE", "300"))

    # Payments strictly above this amount (in fen) need a second finance user's approval (复核).
    PAYMENT_SECOND_APPROVAL_FEN = int(os.environ.get("PAYMENT_SECOND_APPROVAL_FEN", "20000000"))
    # Long forms (application, progress report) save their draft this long after the last keystroke.
    AUTOSAVE_DELAY_MS = int(os.environ.get("AUTOSAVE_DELAY_MS", "4000"))

    # Coverage targets of the host-unit tree shown on the dashboard (统计): the share, in percent, of the
    # districts and of the streets under the viewer's unit that should run their own call each year.
    DASHBOARD_TARGET_DISTRICT_PCT = int(os.environ.get("DASHBOARD_TARGET_DISTRICT_PCT", "100"))
    DASHBOARD_TARGET_STREET_PCT = int(os.environ.get("DASHBOARD_TARGET_STREET_PCT", "50"))


class ProductionConfig(Config):
    IS_PRODUCTION = True
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "1"))
    FORCE_HTTPS = _bool("FORCE_HTTPS", True)
    OPEN_DATA_REQUIRES_PREFIX = True
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
    # The suite logs in hundreds of times from 127.0.0.1: the tests of the limits and the CAPTCHA switch them on.
    RATE_LIMITS = False
    CAPTCHA_ENABLED = False
    TWO_FACTOR_ROLES = frozenset({"finance", "admin"})
    # No "last seen" update in the middle of a slow test: query-count tests must count the same every time.
    SESSION_TOUCH_MINUTES = 24 * 60
