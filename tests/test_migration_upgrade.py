"""The newest revision upgrades a populated database: the demo, as the previous release's schema holds it, goes
into a database at the previous head; `upgrade` to the head must keep every row and every value, and the audit
chain must still verify. It runs for whichever revision is newest, so each schema change is tried on data before
it reaches a bureau's database (production runs `flask db upgrade`, never a rebuild)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import DB_KIND, _create_pg_database


@pytest.fixture()
def make_app(tmp_path):
    """make_app() gives an application on a database of its own; all are dropped at the end."""
    from config import TestConfig
    from grants import create_app

    made = []

    def _make():
        n = len(made)
        url, drop = _create_pg_database() if DB_KIND == "postgresql" else (
            f"sqlite:///{tmp_path / f'm{n}.sqlite'}", lambda: None)

        class Cfg(TestConfig):
            SQLALCHEMY_DATABASE_URI = url
            UPLOAD_DIR = str(tmp_path / f"uploads{n}")

        app = create_app(Cfg)
        made.append((app, drop))
        return app

    yield _make
    for app, drop in made:
        with app.app_context():
            from grants.extensions import db

            db.session.remove()
            db.engine.dispose()
        drop()


def _heads():
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str), "the revisions must form one line"
    return head, previous


def _rows(conn, table: sa.Table, columns: list[str]) -> list[tuple]:
    cols = [table.c[name] for name in columns]
    return sorted(conn.execute(sa.select(*cols)).all(), key=repr)


def test_newest_revision_upgrades_the_demo_database(make_app):
    from flask_migrate import upgrade

    from grants.extensions import db

    # The demo at the head, as a bureau's database would hold it.
    source = make_app()
    with source.app_context():
        upgrade()
        head, previous = _heads()
        from grants.demo import load_demo

        from grants.core.audit import seal_and_commit

        load_demo()
        db.session.commit()
        seal_and_commit()  # as the scheduler does shortly after: the chain as a running database holds it
        tables = list(db.metadata.sorted_tables)  # parents before children
        with db.engine.connect() as conn:
            demo = {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in tables}
        db.session.remove()
    assert sum(len(rows) for rows in demo.values()) > 500

    target = make_app()
    with target.app_context():
        upgrade(revision=previous)
        inspector = sa.inspect(db.engine)
        old_columns = {name: [c["name"] for c in inspector.get_columns(name)]
                       for name in inspector.get_table_names() if name != "alembic_version"}
        copied = 0
        with db.engine.begin() as conn:
            # What the revisions seeded (settings rows, counters) gives way to the demo's own rows.
            for table in reversed(tables):
                if table.name in old_columns:
                    conn.execute(sa.text(f'DELETE FROM "{table.name}"'))
            for table in tables:
                if table.name not in old_columns or not demo[table.name]:
                    continue
                # The head's column types (money, aware datetimes, JSON) for the columns the old schema has.
                keep = [c for c in table.columns if c.name in old_columns[table.name]]
                missing = set(old_columns[table.name]) - {c.name for c in keep}
                assert not missing, f"{table.name}: columns dropped by the newest revision {missing} — check their data"
                old = sa.Table(table.name, sa.MetaData(), *[sa.Column(c.name, c.type) for c in keep])
                conn.execute(old.insert(), [{c.name: row[c.name] for c in keep} for row in demo[table.name]])
                copied += len(demo[table.name])
                if DB_KIND == "postgresql" and "id" in old.c and isinstance(table.c.id.type, sa.Integer):
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                         f"(SELECT max(id) FROM \"{table.name}\"))"))
        assert copied > 500

        upgrade(revision=head)
        with db.engine.connect() as conn:
            for table in tables:
                if table.name not in old_columns:
                    continue
                kept = _rows(conn, table, old_columns[table.name])
                expected = sorted((tuple(row[c] for c in old_columns[table.name]) for row in demo[table.name]), key=repr)
                assert kept == expected, f"{table.name}: rows changed by the upgrade {previous} → {head}"

        from grants.core.audit import verify_audit
        from grants.core.models import AuditLog

        # The chain verifies — unless the newest revision added audit columns: the demo's rows were then hashed
        # over columns that the old schema could not hold (a real old row is hashed as its own version was).
        if set(old_columns[AuditLog.__tablename__]) == {c.name for c in AuditLog.__table__.columns}:
            assert verify_audit().intact
        # The upgraded database works: the demo's people still log in and see their pages.
        client = target.test_client()
        from grants.demo import DEMO_PASSWORD

        resp = client.post("/login", data={"login": "officer", "password": DEMO_PASSWORD})
        assert resp.status_code == 302
        page = client.get("/", follow_redirects=True)
        assert page.status_code == 200 and "王主管" in page.get_data(as_text=True)
        db.session.remove()
