import pytest
import sqlalchemy as sa

from tests.disclosure.factories import disclosed_world


@pytest.fixture()
def world(app, db):
    with app.test_request_context():
        return disclosed_world()


@pytest.fixture()
def count_queries(app, db):
    """with count_queries() as n: ...; n.count is the number of SQL statements run inside."""
    import contextlib

    class Counter:
        count = 0

    @contextlib.contextmanager
    def _count():
        counter = Counter()

        def _before(*_args, **_kwargs):
            counter.count += 1

        sa.event.listen(db.engine, "before_cursor_execute", _before)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", _before)

    return _count
