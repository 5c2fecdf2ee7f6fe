"""Fixtures: app, db, client, login_as(role), clock. The suite runs on SQLite or PostgreSQL
(GRANTS_TEST_DB=postgresql); the schema is built by the Alembic migrations, as in production."""
from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
import sqlalchemy as sa

from config import TestConfig
from grants.core import timeutil

IN_CI = os.environ.get("CI") == "true"
DB_KIND = os.environ.get("GRANTS_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def skip_or_fail(reason: str) -> None:
    """Locally a missing service skips with a hint; in CI nothing may be skipped."""
    if IN_CI:
        pytest.fail(f"CI requires this test to run: {reason}", pytrace=False)
    pytest.skip(reason)


# GRANTS_TEST_ALL=1 runs the browser and slow tests on SQLite too (e.g. with no PostgreSQL at hand).
RUN_ALL_ON_SQLITE = os.environ.get("GRANTS_TEST_ALL") == "1"


def _runs_once_on_postgresql(item) -> bool:
    """Tests that the PostgreSQL pass alone runs: those that need it (row locks, advisory locks), and,
    to keep the suite fast, the browser tests and the big-data / simulated-month tests (marked slow),
    which test the app rather than the database and gain nothing from running twice."""
    if item.get_closest_marker("postgres_only"):
        return True
    if RUN_ALL_ON_SQLITE:
        return False
    return bool(item.get_closest_marker("slow")) or item.nodeid.startswith("tests/browser/")


def pytest_collection_modifyitems(config, items):
    """Tests that run once, on PostgreSQL, are deselected in the SQLite pass rather than skipped: the
    suite's PostgreSQL pass runs them, and in CI a skip would count as a failure."""
    if DB_KIND == "postgresql":
        return
    keep, dropped = [], []
    for item in items:
        (dropped if _runs_once_on_postgresql(item) else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _create_pg_database() -> tuple[str, callable]:
    name = f"grants_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        pytest.exit(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}", returncode=2)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grants")
    if DB_KIND == "postgresql":
        url, drop = _create_pg_database()
    else:
        url, drop = f"sqlite:///{tmp / 'test.sqlite'}", (lambda: None)

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp / "uploads")
        UPLOAD_MAX_BYTES = 2 * 1024 * 1024

    from flask_migrate import upgrade

    from grants import create_app

    app = create_app(Cfg)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        from grants.extensions import db

        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture()
def db(app):
    """The database, emptied after each test (tables in reverse dependency order)."""
    from grants.extensions import db as _db

    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture()
def client(app, db):
    return app.test_client()


@pytest.fixture()
def clock():
    """Move time instead of sleeping: clock.set(datetime) / clock.advance(timedelta)."""

    class Clock:
        def set(self, when: dt.datetime) -> dt.datetime:
            timeutil.set_clock(when)
            return when

        def advance(self, delta: dt.timedelta) -> dt.datetime:
            return self.set(timeutil.now() + delta)

    yield Clock()
    timeutil.set_clock(None)


@pytest.fixture()
def login_as(client, db):
    """login_as('officer') creates a user with that role (and what it needs) and logs it in."""
    from tests import factories

    def _login(role_or_user, **kwargs):
        user = role_or_user if not isinstance(role_or_user, str) else factories.user_with_role(role_or_user, **kwargs)
        db.session.commit()
        client.post("/logout")
        resp = client.post("/login", data={"login": user.username, "password": factories.PASSWORD})
        assert resp.status_code == 302, f"log-in as {user.username} failed"
        if resp.headers["Location"].endswith("/login/2fa"):  # finance and admin: the code from their app
            db.session.refresh(user)
            resp = client.post("/login/2fa", data={"code": factories.totp_code(user)})
            assert resp.status_code == 302, f"two-factor step of {user.username} failed"
        return user

    return _login
