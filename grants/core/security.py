"""Safe to put on the internet: the production secret check, response headers (CSP and friends), the real client
address behind a proxy, abuse limits and their Chinese 429 page."""
from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEV_SECRET_KEY
from grants.extensions import limiter, talisman

MIN_SECRET_BYTES = 32

# No inline script, no plugin, no framing. Style *attributes* stay allowed (progress bar widths and the like are
# computed in templates); they cannot hold selectors, so they cannot read the page, while <style> elements and
# foreign style sheets stay blocked. Images: our own files and the data: URLs Bootstrap's CSS and the CAPTCHA use.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


class InsecureConfiguration(RuntimeError):
    pass


def check_secret_key(app: Flask) -> None:
    """In production a missing, default or short SECRET_KEY stops the app: anyone could forge sessions with it."""
    if not app.config.get("IS_PRODUCTION"):
        return
    key = app.config.get("SECRET_KEY") or ""
    raw = key.encode() if isinstance(key, str) else bytes(key)
    if not key or key == DEV_SECRET_KEY or len(raw) < MIN_SECRET_BYTES:
        raise InsecureConfiguration(
            "SECRET_KEY must be set to a random value of at least 32 bytes in production "
            "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))'); refusing to start.")


def init_security(app: Flask) -> None:
    check_secret_key(app)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=bool(app.config.get("IS_PRODUCTION")),
        strict_transport_security_include_subdomains=False,
        frame_options="DENY",
        content_security_policy=CSP,
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        # Camera, microphone and location are never used.
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()"},
    )
    limiter.init_app(app)
    limiter.request_filter(lambda: not current_app.config.get("RATE_LIMITS", True))

    @app.after_request
    def no_store(response):
        # Nearly every page shows personal data (names, phones) or bank accounts, and forms carry what was typed:
        # browsers and proxies keep none of it. Static assets keep their own caching, and so does a response
        # its view marked public (the open-data files: grants/disclosure/cache.py).
        if request.endpoint != "static" and not response.cache_control.public:
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
            response.headers.pop("Pragma", None)
        return response

    @app.errorhandler(429)
    def too_many_requests(e):
        # The page shows the form that was sent again, filled in, so nothing typed is lost (files aside).
        typed = [(k, v) for k, v in request.form.items(multi=True)
                 if k not in ("csrf_token", "password", "captcha", "confirm", "code")] if request.method == "POST" else []
        return render_template("errors/429.html", typed=typed, action=request.full_path.rstrip("?"),
                               title=_("操作过于频繁"), limit=getattr(e, "description", "")), 429
