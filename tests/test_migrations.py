"""The Alembic migrations are the schema: an upgraded database must match the models exactly."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grants.extensions import db as _db


def test_models_and_migrations_agree(app, db):
    with _db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diff = compare_metadata(ctx, _db.metadata)
    assert diff == [], f"models differ from migrations/ — add a revision (flask --app wsgi db migrate), never edit 0001: {diff}"


def test_every_table_has_a_primary_key(app):
    for table in _db.metadata.sorted_tables:
        assert table.primary_key.columns, table.name


def test_0004_gives_existing_rows_their_units(tmp_path):
    """The data migration of 0004: organisations get the unit they are registered with, expert profiles the top
    unit, audit rows the unit of their object; the old rows still verify (their hash never covered units)."""
    import datetime as dt

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from config import TestConfig
    from grants import create_app
    from tests.conftest import DB_KIND, _create_pg_database

    if DB_KIND == "postgresql":
        url, drop = _create_pg_database()
    else:
        url, drop = f"sqlite:///{tmp_path / 'm.sqlite'}", (lambda: None)

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path / "uploads")

    app = create_app(Cfg)
    try:
        with app.app_context():
            from grants.core.audit import GENESIS, _row_hash, verify_audit
            from grants.core.models import AuditLog
            from grants.extensions import db

            upgrade(revision="0001")
            at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
            with db.engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO host_unit (id, name, short_name, level, parent_id, region_name, created_at) VALUES "
                    "(1, '南通市民政局', '市民政局', 'city', NULL, '南通市', :at), "
                    "(2, '崇川区民政局', '崇川区', 'district', 1, '崇川区', :at), "
                    "(3, '海门区民政局', '海门区', 'district', 1, '海门区', :at)"), {"at": at})
                for oid, authority, district in ((1, "崇川区民政局", "崇川区"), (2, "", "海门区"), (3, "", "别处")):
                    conn.execute(sa.text(
                        "INSERT INTO organization (id, name, legal_form, uscc, filing_number, registration_authority, "
                        "rating, annual_inspection, district, street, community, address, business_scope, contact_name, "
                        "contact_phone, contact_email, bank_account_name, bank_name, bank_account_number, status, "
                        "status_reason, blacklisted, blacklist_reason, created_at) VALUES (:i, :n, 'association', NULL, "
                        ":f, :a, 0, '', :d, '', '', '', '', '', '', '', '', '', '', 'verified', '', false, '', :at)"),
                        {"i": oid, "n": f"组织{oid}", "f": f"F{oid}", "a": authority, "d": district, "at": at})
            # Two old rows, hashed as version 1 rows were (no unit columns).
            prev = GENESIS
            rows = []
            for i, (otype, oid) in enumerate((("organization", "1"), ("host_unit", "2")), start=1):
                row = AuditLog(id=i, at=at, actor_id=None, actor_name="系统", action=f"{otype}.update",
                               object_type=otype, object_id=oid, host_unit_id=None, before=None,
                               after={"名称": "旧记录"}, hash_version=1, prev_hash=prev)
                row.hash = _row_hash(prev, row)
                prev = row.hash
                rows.append({"id": i, "at": at, "actor_name": "系统", "action": row.action, "object_type": otype,
                             "object_id": oid, "after": '{"名称": "旧记录"}', "prev_hash": row.prev_hash,
                             "hash": row.hash})
            with db.engine.begin() as conn:
                for r in rows:
                    conn.execute(sa.text(
                        "INSERT INTO audit_log (id, at, actor_name, action, object_type, object_id, after, prev_hash, "
                        "hash) VALUES (:id, :at, :actor_name, :action, :object_type, :object_id, :after, :prev_hash, "
                        ":hash)"), r)
            upgrade(revision="0004")
            with db.engine.connect() as conn:
                units = dict(conn.execute(sa.text("SELECT id, host_unit_id FROM organization")).all())
                assert units == {1: 2, 2: 3, 3: 1}  # by authority's name, by district, else the top unit
                audit_units = {r[0]: (r[1], r[2]) for r in conn.execute(
                    sa.text("SELECT object_type, unit_id, unit2_id FROM audit_log"))}
                # A unit's own row belongs to its parent and to itself.
                assert audit_units == {"organization": (2, None), "host_unit": (1, 2)}
            assert verify_audit().intact
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


def _model_checks(table) -> dict[str, str]:
    """The model's CHECK constraints of a table by their conventional name (ck_<table>_<name>)."""
    from sqlalchemy.sql.elements import conv

    out = {}
    for c in table.constraints:
        if isinstance(c, sa.CheckConstraint) and c.name is not None:
            name = c.name if isinstance(c.name, conv) else f"ck_{table.name}_{c.name}"
            out[str(name)] = str(c.sqltext)
    return out


def _squash(sql: str) -> str:
    return "".join(ch for ch in sql if not ch.isspace() and ch not in "()").lower()


def test_check_constraints_agree(app, db):
    """Autogenerate does not compare CHECK constraints: every one a model declares is in the migrated database
    under the same name, and no other; on SQLite (which keeps the text as written) with the same condition."""
    inspector = sa.inspect(_db.engine)
    problems = []
    for table in _db.metadata.sorted_tables:
        model = _model_checks(table)
        migrated = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name) if c.get("name")}
        for name in sorted(model.keys() - migrated.keys()):
            problems.append(f"{table.name}: {name} in the model, not in the migrations")
        for name in sorted(migrated.keys() - model.keys()):
            problems.append(f"{table.name}: {name} in the migrations, not in the model")
        if _db.engine.dialect.name == "sqlite":
            for name in sorted(model.keys() & migrated.keys()):
                if _squash(model[name]) != _squash(migrated[name]):
                    problems.append(f"{table.name}: {name} differs: model {model[name]!r}, "
                                    f"migrations {migrated[name]!r}")
    assert not problems, "\n".join(problems)
    assert sum(len(_model_checks(t)) for t in _db.metadata.sorted_tables) > 100


def test_indexes_agree(app, db):
    """Every index of the models is in the migrated database with the same columns and uniqueness, and the
    database has no index the models do not declare (unique constraints aside)."""
    inspector = sa.inspect(_db.engine)
    problems = []
    for table in _db.metadata.sorted_tables:
        model = {str(i.name): ([c.name for c in i.columns], bool(i.unique)) for i in table.indexes}
        migrated = {i["name"]: (list(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table.name) if not i.get("duplicates_constraint")}
        for name in sorted(model.keys() | migrated.keys()):
            if model.get(name) != migrated.get(name):
                problems.append(f"{table.name}.{name}: model {model.get(name)}, migrations {migrated.get(name)}")
    assert not problems, "\n".join(problems)
    assert sum(len(t.indexes) for t in _db.metadata.sorted_tables) > 100
