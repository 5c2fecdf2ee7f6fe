"""图形验证码: an image CAPTCHA drawn on this server (the `captcha` package), no outside service. The answer lives
in the signed session only as an HMAC, so the cookie does not give it away; each challenge allows one try."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from flask import current_app, session

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
LENGTH = 4
MAX_AGE_SECONDS = 600
SESSION_KEY = "captcha"


def enabled() -> bool:
    return bool(current_app.config.get("CAPTCHA_ENABLED"))


def _random_text() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def _mac(text: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, b"captcha:" + text.strip().upper().encode(), hashlib.sha256).hexdigest()


def new_challenge() -> str:
    """A new challenge; returns the picture as a data: URL for <img src> (allowed by the CSP's img-src)."""
    from captcha.image import ImageCaptcha

    text = _random_text()
    session[SESSION_KEY] = {"mac": _mac(text), "at": int(time.time())}
    png = ImageCaptcha(width=160, height=60).generate(text).getvalue()
    return "data:image/png;base64," + base64.b64encode(png).decode()


def check(answer: str | None) -> bool:
    """True when the answer matches the last challenge shown; the challenge is spent either way."""
    stored = session.pop(SESSION_KEY, None)
    if not stored or not answer or int(time.time()) - int(stored.get("at", 0)) > MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(stored["mac"], _mac(answer[:20]))
