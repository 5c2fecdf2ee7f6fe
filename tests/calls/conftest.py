import pytest


@pytest.fixture(autouse=True)
def _request_context(app, db):
    """Services translate their messages, which needs a request context (the locale)."""
    with app.test_request_context():
        yield
