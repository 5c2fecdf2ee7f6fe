"""The Alembic migrations are the schema: an upgraded database must match the models exactly."""
import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grants.extensions import db as _db


def test_models_and_migrations_agree(app, db):
    with _db.engine.connect() as conn:
        from grants.search.models import include_object

        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False,
                                                     "include_object": include_object(conn.dialect.name)})
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
            upgrade()  # the later revisions too (0012 gives the chained rows their seal order)
            assert verify_audit().intact
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


# Alembic's comparison covers tables, columns, types, indexes and unique constraints but not CHECK constraints,
# which carry most of our invariants: they are compared here by name and by their normalised SQL text.
_CAST = re.compile(r"::(character varying|text|integer|bigint|smallint|numeric|boolean|jsonb?|date"
                   r"|timestamp with time zone|timestamp without time zone)(\[\])?")


def _normalised_check(sql: str) -> str:
    """One spelling for what PostgreSQL gives back (casts, = ANY (ARRAY[…]), <> ALL, BETWEEN expanded) and what
    the models say, so that equal conditions compare equal on both databases."""
    s = _CAST.sub("", sql.lower())
    s = re.sub(r"(\w+) between (\S+) and (\S+)", r"\1 >= \2 and \1 <= \3", s)
    s = re.sub(r"[\s\"()]", "", s)
    s = s.replace("=anyarray[", "in").replace("<>allarray[", "notin").replace("]", "").replace("!=", "<>")
    return re.sub(r"in('[^',]*')(?=or|and|$)", r"=\1", s)  # IN of a single value


def test_check_constraints_agree(app, db):
    inspector = sa.inspect(_db.engine)
    dialect = _db.engine.dialect
    differences = []
    for table in _db.metadata.sorted_tables:
        in_db = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
        in_models = {str(c.name): str(c.sqltext.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
                     for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        for name in sorted(in_db.keys() ^ in_models.keys()):
            differences.append(f"{table.name}.{name}: only in {'the database' if name in in_db else 'the models'}")
        for name in sorted(in_db.keys() & in_models.keys()):
            if _normalised_check(in_db[name]) != _normalised_check(in_models[name]):
                differences.append(f"{table.name}.{name}: database {in_db[name]!r} vs models {in_models[name]!r}")
    assert len([c for t in _db.metadata.sorted_tables for c in t.constraints if isinstance(c, sa.CheckConstraint)]) > 100
    assert differences == [], "CHECK constraints differ — add a revision:\n" + "\n".join(differences)


def test_indexes_agree(app, db):
    """Index names, columns and uniqueness (partial-index conditions are left to Alembic's own comparison)."""
    inspector = sa.inspect(_db.engine)
    differences = []
    for table in _db.metadata.sorted_tables:
        # An index on an expression (a trigram index on lower(name), say) is compared by name and uniqueness.
        in_db = {i["name"]: (None if None in i["column_names"] else tuple(i["column_names"]), bool(i["unique"]))
                 for i in inspector.get_indexes(table.name) if not i.get("duplicates_constraint")}
        in_models = {str(i.name): (tuple(c.name for c in i.columns) if len(i.columns) == len(i.expressions) else None,
                                   bool(i.unique)) for i in table.indexes
                     if i.info.get("dialect") in (None, _db.engine.dialect.name)}  # another database's index
        if in_db != in_models:
            differences.append(f"{table.name}: database {sorted(in_db.items())} vs models {sorted(in_models.items())}")
    assert differences == [], "indexes differ — add a revision:\n" + "\n".join(differences)
