"""Production refuses a weak secret; every response carries the security headers; pages are not cached."""
import subprocess
import sys

import pytest

from config import DEV_SECRET_KEY
from grants.core.security import InsecureConfiguration, check_secret_key


class _App:
    def __init__(self, **config):
        self.config = config


@pytest.mark.parametrize("key", [None, "", DEV_SECRET_KEY, "x" * 31])
def test_production_refuses_missing_default_or_short_secret(key):
    with pytest.raises(InsecureConfiguration, match="SECRET_KEY"):
        check_secret_key(_App(IS_PRODUCTION=True, SECRET_KEY=key))


def test_production_accepts_long_random_secret_and_development_any():
    check_secret_key(_App(IS_PRODUCTION=True, SECRET_KEY="k" * 32))
    check_secret_key(_App(IS_PRODUCTION=False, SECRET_KEY=DEV_SECRET_KEY))


def test_production_process_exits_non_zero_with_a_clear_message(tmp_path):
    env = {"GRANTS_ENV": "production", "GRANTS_INSTANCE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, capture_output=True, text=True,
                          cwd=str(__import__("config").BASE_DIR), timeout=60)
    assert proc.returncode != 0 and "SECRET_KEY must be set" in proc.stderr


def test_security_headers_on_the_login_page(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in resp.headers  # development: no HSTS


def test_no_inline_script_or_event_handler_in_any_template():
    import re
    from pathlib import Path

    from config import BASE_DIR

    for path in (BASE_DIR / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline <script> in {path}"
        assert not re.search(r"\son[a-z]+\s*=\s*[\"']", text), f"inline event handler in {path}"


def test_pages_with_bank_data_are_not_cached(client, login_as, db):
    from tests import factories

    org = factories.organization()
    user = factories.member(org)
    login_as(user)
    resp = client.get(f"/organizations/{org.id}")
    assert resp.status_code == 200 and org.bank_account_number in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"
    with client.get("/static/css/app.css") as static:
        assert static.headers.get("Cache-Control") != "no-store"


PRODUCTION_PROBE = """
import json, os
from config import ProductionConfig
from grants import create_app

class Prod(ProductionConfig):
    SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.environ["GRANTS_INSTANCE_DIR"] + "/p.sqlite"

app = create_app(Prod)
with app.app_context():
    from flask_migrate import upgrade
    upgrade()
with app.test_client() as c:
    plain = c.get("/login", base_url="http://grants.example")
    resp = c.get("/login", base_url="https://grants.example")
    print(json.dumps({"plain": [plain.status_code, plain.headers.get("Location")],
                      "status": resp.status_code, "headers": dict(resp.headers)}))
"""


def production_login_headers(tmp_path) -> dict:
    """The log-in page's answer from an app built with the production settings (its own process: the extensions
    are module-level singletons configured by create_app)."""
    import json

    env = {"GRANTS_ENV": "production", "GRANTS_INSTANCE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           "SECRET_KEY": "p" * 64}
    proc = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], env=env, capture_output=True, text=True,
                          cwd=str(__import__("config").BASE_DIR), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_sends_hsts(tmp_path):
    answer = production_login_headers(tmp_path)
    assert answer["plain"][0] == 302 and answer["plain"][1].startswith("https://grants.example/login")
    assert answer["status"] == 200
    headers = answer["headers"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"
    assert "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
