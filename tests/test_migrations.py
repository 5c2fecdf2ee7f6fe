"""The Alembic migrations are the schema: an upgraded database must match the models exactly."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grants.extensions import db as _db


def test_models_and_migrations_agree(app, db):
    with _db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diff = compare_metadata(ctx, _db.metadata)
    assert diff == [], f"models differ from migrations/ — run scripts/regen_initial_migration.sh: {diff}"


def test_every_table_has_a_primary_key(app):
    for table in _db.metadata.sorted_tables:
        assert table.primary_key.columns, table.name
