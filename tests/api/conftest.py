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
