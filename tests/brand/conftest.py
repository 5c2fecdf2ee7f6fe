import pytest


@pytest.fixture()
def ctx(app, db):
    """Services translate their messages, which needs a request context (as in a view)."""
    with app.test_request_context():
        yield
