"""Static files: pages link them with ?v=<content hash>; that URL is cached for a year (immutable), the plain
or an outdated one briefly; conditional requests answer 304; the development mode follows edited files."""
from __future__ import annotations

import hashlib
import re
import shutil

from flask import url_for

from config import BASE_DIR, TestConfig
from grants import create_app
from grants.core.static import content_hash

YEAR = 365 * 24 * 3600


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_pages_link_static_files_by_content_hash(app, client):
    links = _links(client.get("/login").get_data(as_text=True))
    assert any(link.startswith("/static/css/app.css?v=") for link in links)
    for link in links:
        path, version = link.split("?v=")
        with open(app.static_folder + path[len("/static"):], "rb") as f:
            assert version == hashlib.sha256(f.read()).hexdigest()[:12], link


def test_a_fingerprinted_url_is_cached_for_a_year(app, client):
    with app.test_request_context():
        url = url_for("static", filename="css/app.css")
    with client.get(url) as resp:
        assert resp.status_code == 200 and resp.mimetype == "text/css"
        cache_control = resp.headers["Cache-Control"]
        assert "immutable" in cache_control and "public" in cache_control
        assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= YEAR
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        etag = resp.headers["ETag"]
    with client.get(url, headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304


def test_the_plain_or_an_outdated_url_is_cached_briefly(app, client):
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000"):
        with client.get(url) as resp:
            assert resp.status_code == 200
            assert resp.headers["Cache-Control"] == f"max-age={app.config['STATIC_MAX_AGE']}, public", url
    with client.get("/static/css/missing.css") as missing:
        assert missing.status_code == 404


def test_development_mode_follows_an_edited_file(tmp_path):
    static = tmp_path / "static"
    shutil.copytree(BASE_DIR / "static" / "css", static / "css")

    class Dev(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'dev.sqlite'}"
        UPLOAD_DIR = str(tmp_path / "uploads")
        STATIC_AUTOREFRESH = True

    dev = create_app(Dev)
    dev.static_folder = str(static)
    dev.extensions["static_files"].directories = [(str(static) + "/", "/static/")]
    css = static / "css" / "app.css"
    with dev.test_request_context():
        before = url_for("static", filename="css/app.css")
        assert before.endswith("?v=" + content_hash(str(css)))
        css.write_text(css.read_text() + "\n/* edited */\n")
        after = url_for("static", filename="css/app.css")
    assert after != before and after.endswith("?v=" + content_hash(str(css)))
    with dev.test_client().get(after) as resp:
        assert resp.status_code == 200 and resp.get_data().endswith(b"/* edited */\n")
