"""Upgrading a populated database from the previous head to the current head keeps its data.

A database is built at the previous head (PREVIOUS_HEAD) and filled with the demo: the rows `flask demo` loads
today, restricted to the tables and columns that schema had (the demo is loaded into a second database at head
and copied over; the audit rows are hashed as the rows of that time were, version 1). Then `flask db upgrade`
runs to head, and every copied row must still be there with the same values, the audit chain must verify, and
the upgraded schema must match the models. When a new revision becomes the head, PREVIOUS_HEAD moves to the
one before it (the chain: 0001→0002→0006→0005→0003→0008→0007→0004)."""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

PREVIOUS_HEAD = "0007"

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


def _database(tmp_path, name):
    from tests.conftest import DB_KIND, _create_pg_database

    if DB_KIND == "postgresql":
        return _create_pg_database()
    return f"sqlite:///{tmp_path / f'{name}.sqlite'}", (lambda: None)


def _app(url, tmp_path):
    from config import TestConfig
    from grants import create_app

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path / "uploads")

    return create_app(Cfg)


def _read_all(engine) -> dict[str, tuple[list[str], list[dict]]]:
    meta = sa.MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            pk = list(table.primary_key.columns)
            rows = [dict(r._mapping) for r in conn.execute(table.select().order_by(*pk))]
            out[table.name] = ([c.name for c in pk], rows)
    return out


def _norm(value):
    if isinstance(value, dt.datetime):
        return (value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value).astimezone(dt.timezone.utc)
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _v1_hashes(audit_rows: list[dict]) -> list[str]:
    """The chain as rows were hashed before revision 0004 (no unit columns)."""
    from grants.core.audit import GENESIS, _row_hash

    prev, out = GENESIS, []
    for r in audit_rows:
        row = SimpleNamespace(**{k: r.get(k) for k in ("actor_id", "actor_name", "action", "object_type",
                                                      "object_id", "host_unit_id", "before", "after")},
                              at=_norm(r["at"]), hash_version=1)
        row.before, row.after = _norm(row.before), _norm(row.after)
        prev = _row_hash(prev, row)
        out.append(prev)
    return out


def test_demo_data_survives_upgrade_from_previous_head(tmp_path):
    from flask_migrate import upgrade

    src_url, drop_src = _database(tmp_path, "src")
    dst_url, drop_dst = _database(tmp_path, "dst")
    try:
        # The demo, as loaded today, at head.
        src = _app(src_url, tmp_path)
        with src.app_context():
            from grants.demo import load_demo
            from grants.extensions import db

            upgrade()
            load_demo()
            db.session.commit()
            demo = _read_all(db.engine)
            db.session.remove()
            db.engine.dispose()
        assert sum(len(rows) for _pk, rows in demo.values()) > 500, "the demo should fill the database"

        dst = _app(dst_url, tmp_path)
        with dst.app_context():
            from grants.core.audit import GENESIS, verify_audit
            from grants.extensions import db

            upgrade(revision=PREVIOUS_HEAD)
            engine = db.engine
            old = sa.MetaData()
            old.reflect(engine)
            copied: dict[str, tuple[list[str], list[str], list[dict]]] = {}
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SET session_replication_role = replica"))  # rows in any order
                for table in old.sorted_tables:
                    if table.name not in demo or not demo[table.name][1]:
                        continue
                    pk, rows = demo[table.name]
                    cols = [c.name for c in table.columns if c.name in rows[0]]
                    missing = [c for c in table.columns if c.name not in rows[0]
                               and not c.nullable and c.server_default is None]
                    assert not missing, f"{table.name}: the previous head needs {missing}, the demo has none"
                    values = [{c: r[c] for c in cols} for r in rows]
                    if table.name == "audit_log":
                        chain = _v1_hashes(rows)
                        for v, prev_hash, row_hash in zip(values, [GENESIS, *chain], chain):
                            v["prev_hash"], v["hash"] = prev_hash, row_hash
                    conn.execute(table.insert(), values)
                    copied[table.name] = (pk, cols, values)
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SET session_replication_role = DEFAULT"))
                    for name, (pk, _cols, _values) in copied.items():
                        if pk == ["id"]:
                            conn.execute(sa.text(
                                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                                f"(SELECT max(id) FROM \"{name}\"))"))
            assert len(copied) > 30 and len(copied["audit_log"][2]) > 50, sorted(copied)

            upgrade()

            after = _read_all(engine)
            for name, (pk, cols, values) in copied.items():
                assert name in after, f"table {name} lost in the upgrade"
                _pk, rows = after[name]
                assert len(rows) == len(values), f"{name}: {len(values)} rows before, {len(rows)} after"
                by_key = {tuple(r[k] for k in pk): r for r in rows}
                for v in values:
                    r = by_key.get(tuple(v[k] for k in pk))
                    assert r is not None, f"{name}: row {[v[k] for k in pk]} lost"
                    for c in cols:
                        if c in r:
                            assert _norm(r[c]) == _norm(v[c]), f"{name}.{c} of {[v[k] for k in pk]}: {v[c]!r} → {r[c]!r}"
            # What the revisions since the previous head filled in is there.
            orgs = after["organization"][1]
            assert orgs and all(o["host_unit_id"] is not None for o in orgs)
            assert all(r["unit_id"] is not None or r["unit2_id"] is None for r in after["audit_log"][1])
            report = verify_audit()
            assert report.intact, report

            from alembic.autogenerate import compare_metadata
            from alembic.migration import MigrationContext

            with engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
                assert compare_metadata(ctx, db.metadata) == []
            db.session.remove()
            engine.dispose()
    finally:
        drop_src()
        drop_dst()
