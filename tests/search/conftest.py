import pytest


@pytest.fixture(autouse=True)
def _request_context(app):
    """Services speak Chinese through gettext, which needs a request for the locale."""
    with app.test_request_context():
        yield
