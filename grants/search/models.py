"""The search's indexes (no tables of its own): PostgreSQL trigram (pg_trgm) GIN indexes on the columns the
search reads with ILIKE '%…%', so a substring of Chinese text (which has no spaces to split words at) or of a
number is found without reading the whole table.

They are PostgreSQL-only (`ddl_if`, and `info["dialect"]` for the models-vs-migrations comparison, see
`include_object`). On SQLite the search uses plain LIKE: SQLite is the development, demo and test database,
where a scan is fast enough, and an FTS5 trigram table would live outside the models (a virtual table, its
shadow tables and triggers) while 1- and 2-character queries would still need LIKE."""
from __future__ import annotations

import sqlalchemy as sa

from grants.applications.models import Application
from grants.contracts.models import Contract
from grants.organizations.models import Organization

# (index name, column): every text column the search matches with ILIKE '%…%'.
TRIGRAM_COLUMNS = [
    ("ix_application_number_trgm", Application.__table__.c.number),
    ("ix_application_project_name_trgm", Application.__table__.c.project_name),
    ("ix_application_summary_trgm", Application.__table__.c.summary),
    ("ix_organization_name_trgm", Organization.__table__.c.name),
    ("ix_organization_uscc_trgm", Organization.__table__.c.uscc),
    ("ix_organization_filing_number_trgm", Organization.__table__.c.filing_number),
    ("ix_contract_number_trgm", Contract.__table__.c.number),
    ("ix_contract_project_name_trgm", Contract.__table__.c.project_name),
]

TRIGRAM_INDEXES = [
    sa.Index(name, column, postgresql_using="gin", postgresql_ops={column.name: "gin_trgm_ops"},
             info={"dialect": "postgresql"}).ddl_if(dialect="postgresql")
    for name, column in TRIGRAM_COLUMNS
]


def include_object(dialect_name: str):
    """For Alembic's comparison (migrations/env.py, tests/test_migrations.py): leave out the indexes of another
    database (the trigram indexes exist on PostgreSQL only)."""

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "index" and not reflected:
            only = obj.info.get("dialect")
            return only is None or only == dialect_name
        return True

    return include
