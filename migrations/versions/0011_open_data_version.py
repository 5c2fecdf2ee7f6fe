"""open data version: the counter naming the cached open-data files

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 07:00:00
"""
import datetime as dt
import secrets

from alembic import op
import sqlalchemy as sa

import grants.core.timeutil


revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "open_data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", grants.core.timeutil.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_data_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1, "token": secrets.token_hex(8),
                            "changed_at": dt.datetime.now(dt.timezone.utc)}])


def downgrade():
    op.drop_table("open_data_version")
