import pytest


@pytest.fixture()
def run_pass(db):
    """One scheduler pass at the clock's current time."""
    from grants.reminders.jobs import run_pass as _run

    def _pass():
        result = _run()
        assert not result.errors, result.errors
        return result

    return _pass
