"""Fixtures for the JSON API: tokens for any user, and a client that sends them (never a cookie)."""
from __future__ import annotations

import pytest

from grants.api.scopes import ALL_SCOPES


@pytest.fixture()
def make_token(db):
    """make_token(user, scopes=ALL_SCOPES, unit=None, days=30) → the secret."""
    from grants.api.services import create_token

    def _make(user, scopes=ALL_SCOPES, unit=None, days=30, name="测试令牌"):
        _token, secret = create_token(user, name=name, scopes=list(scopes), days=days,
                                      host_unit_id=getattr(unit, "id", unit), actor=user)
        db.session.commit()
        return secret

    return _make


@pytest.fixture()
def api(app, db):
    """api(secret).get(path) … : a fresh test client per token, so no session cookie is ever sent along."""

    class Caller:
        def __init__(self, secret):
            self.client = app.test_client(use_cookies=False)
            self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

        def open(self, path, method="GET", headers=None, **kwargs):
            return self.client.open(path, method=method, headers={**self.headers, **(headers or {})}, **kwargs)

        def get(self, path, **kw):
            return self.open(path, "GET", **kw)

        def post(self, path, **kw):
            return self.open(path, "POST", **kw)

        def patch(self, path, **kw):
            return self.open(path, "PATCH", **kw)

        def delete(self, path, **kw):
            return self.open(path, "DELETE", **kw)

    return Caller


@pytest.fixture()
def receiver():
    """A webhook receiver on 127.0.0.1 (a real HTTP server in a thread) that checks each signature and
    processes each event_id once, as an integrator's receiver should. `fail_next` makes it answer 500."""
    import json
    import threading

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    from grants.api.webhooks import SIGNATURE_HEADER, verify

    class Receiver:
        secret = ""
        fail_next = 0
        requests: list = []
        processed: list = []

        def __call__(self, environ, start_response):
            request = Request(environ)
            body = request.get_data()
            self.requests.append({"headers": dict(request.headers), "body": body})
            if self.fail_next:
                self.fail_next -= 1
                return Response("busy", status=500)(environ, start_response)
            if not verify(self.secret, request.headers.get(SIGNATURE_HEADER, ""), body):
                return Response("bad signature", status=401)(environ, start_response)
            event = json.loads(body)
            if event["event_id"] not in [e["event_id"] for e in self.processed]:
                self.processed.append(event)
            return Response("ok", status=200)(environ, start_response)

    rec = Receiver()
    rec.requests, rec.processed = [], []
    server = make_server("127.0.0.1", 0, rec, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield rec
    server.shutdown()
    thread.join(timeout=5)
