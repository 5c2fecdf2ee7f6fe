"""search: pg_trgm trigram GIN indexes for the staff search (PostgreSQL only)

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-03 07:00:00

On PostgreSQL: the pg_trgm extension (trusted since PostgreSQL 13, so the database owner may create it) and a
trigram GIN index on each column the search matches with ILIKE '%…%' (grants/search/models.py). Chinese has
no spaces; trigrams of characters find any substring of 3 or more characters through the index, shorter ones
by a scan. On SQLite nothing: the search uses LIKE there (see grants/search/models.py for why not FTS5).
The downgrade drops the indexes and leaves the extension (other objects may use it).
"""
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_application_number_trgm", "application", "number"),
    ("ix_application_project_name_trgm", "application", "project_name"),
    ("ix_application_summary_trgm", "application", "summary"),
    ("ix_organization_name_trgm", "organization", "name"),
    ("ix_organization_uscc_trgm", "organization", "uscc"),
    ("ix_organization_filing_number_trgm", "organization", "filing_number"),
    ("ix_contract_number_trgm", "contract", "number"),
    ("ix_contract_project_name_trgm", "contract", "project_name"),
]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _column in INDEXES:
        op.drop_index(name, table_name=table)
