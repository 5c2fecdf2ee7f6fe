"""What every benchmark script needs: a throwaway database (a SQLite file in a temporary directory, or with
`postgresql=True` a uniquely named database on 127.0.0.1:5432 dropped afterwards), the app on it with the
schema built by the migrations, chunked bulk inserts, and the machine calibration line."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CHUNK = 5000


@contextlib.contextmanager
def throwaway_database(postgresql: bool = False):
    """Yield (url, tmp_dir) of an empty database; a PostgreSQL one is dropped on the way out."""
    tmp = tempfile.mkdtemp(prefix="grants-bench-")
    if not postgresql:
        yield f"sqlite:///{tmp}/bench.sqlite", tmp
        return
    name = f"grants_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", tmp
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_app(url: str, tmp: str, base=None):
    """The app on `url` (TestConfig unless `base` is given), schema upgraded to the latest migration."""
    from flask_migrate import upgrade

    from config import TestConfig
    from grants import create_app

    class Cfg(base or TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = f"{tmp}/uploads"
        # The benchmark times pages, not log-ins: its generated staff have no second factor to give.
        TWO_FACTOR_ROLES = frozenset()

    app = create_app(Cfg)
    with app.app_context():
        upgrade()
    return app


@contextlib.contextmanager
def bench_app(postgresql: bool = False):
    """An app on a throwaway database, inside its app context; the engine is disposed on the way out."""
    with throwaway_database(postgresql) as (url, tmp):
        app = make_app(url, tmp)
        with app.app_context():
            from grants.extensions import db

            try:
                yield app, db
            finally:
                db.session.remove()
                db.engine.dispose()


def insert_rows(db, model, rows, fill=None, chunk: int = CHUNK) -> None:
    """Bulk insert through the mapped class, in chunks. Every row gets the same keys (missing ones None, or
    `fill`'s value): rows with different keys would be sent in many small batches."""
    if not rows:
        return
    keys = set().union(*rows)
    fill = fill or {}
    rows = [{k: row.get(k, fill.get(k)) for k in keys} for row in rows]
    for start in range(0, len(rows), chunk):
        db.session.execute(sa.insert(model), rows[start:start + chunk])


def calibration_ms() -> float:
    t = time.perf_counter()
    sum(range(10 ** 7))
    return (time.perf_counter() - t) * 1000


def calibration_line() -> str:
    load = os.getloadavg()
    return (f"machine calibration: sum(range(10**7)) took {calibration_ms():.0f} ms "
            f"(about 150-250 ms on an idle core); load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
            f"on {os.cpu_count()} CPUs")
