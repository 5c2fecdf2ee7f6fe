"""Static files served by WhiteNoise in front of Flask, with fingerprinted URLs.

Every url_for("static", filename=…) gets ?v=<the first 12 hex digits of the file's SHA-256> (a url_defaults
hook, so no template changes). A request whose v matches the file's current content is answered with
`Cache-Control: max-age=<a year>, public, immutable`: the browser never asks again, and a changed file gets a
new URL. Without v, or with an outdated one (a page cached from before a deploy), the file comes with a short
max-age (STATIC_MAX_AGE). WhiteNoise answers before Flask (no session, no database, no request context),
sends ETag/Last-Modified and 304s, and streams the file. With STATIC_AUTOREFRESH (development) it looks at
the folder on every request and the hashes follow the files' modification times.
"""
from __future__ import annotations

import hashlib
import os
from urllib.parse import parse_qs

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.string_utils import decode_path_info

HASH_LENGTH = 12


def content_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()[:HASH_LENGTH]


class FingerprintedStatic(WhiteNoise):
    """WhiteNoise with a second, immutable variant of every file, served when ?v= names its content."""

    def __init__(self, application, *, root: str, prefix: str, **kwargs):
        self.hashes: dict[str, str] = {}
        self.immutable: dict[str, object] = {}
        self._forever = False
        super().__init__(application, root=root, prefix=prefix, **kwargs)

    def add_file_to_dictionary(self, url, path, stat_cache=None):
        super().add_file_to_dictionary(url, path, stat_cache=stat_cache)
        if url in self.files:
            self.hashes[url] = content_hash(path)
            self._forever = True
            try:
                self.immutable[url] = self.get_static_file(path, url, stat_cache=stat_cache)
            finally:
                self._forever = False

    def immutable_file_test(self, path, url):
        return self._forever

    def __call__(self, environ, start_response):
        if self.autorefresh:
            return super().__call__(environ, start_response)
        path = decode_path_info(environ.get("PATH_INFO", ""))
        static_file = self.files.get(path)
        if static_file is None:
            return self.application(environ, start_response)
        version = parse_qs(environ.get("QUERY_STRING", "")).get("v")
        if version and version[0] == self.hashes.get(path):
            static_file = self.immutable[path]
        return self.serve(static_file, environ, start_response)


def _nosniff(headers, _path, _url) -> None:
    headers["X-Content-Type-Options"] = "nosniff"


def init_static(app: Flask) -> FingerprintedStatic:
    prefix = app.static_url_path.rstrip("/") + "/"
    static = FingerprintedStatic(app.wsgi_app, root=app.static_folder, prefix=prefix,
                                 autorefresh=app.config.get("STATIC_AUTOREFRESH", False),
                                 max_age=app.config.get("STATIC_MAX_AGE", 3600), allow_all_origins=False,
                                 add_headers_function=_nosniff)
    app.wsgi_app = static
    by_mtime: dict[str, tuple[int, str]] = {}

    def static_version(filename: str) -> str | None:
        url = prefix + filename
        known = static.hashes.get(url)
        if known is not None or not static.autorefresh:
            return known
        path = os.path.join(app.static_folder, filename)
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return None
        cached = by_mtime.get(path)
        if cached is None or cached[0] != mtime:
            cached = by_mtime[path] = (mtime, content_hash(path))
        return cached[1]

    @app.url_defaults
    def _fingerprint(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(values["filename"])
            if version:
                values["v"] = version

    app.extensions["static_files"] = static
    return static
