"""audit sealing: rows are appended without the chain's lock and sealed into the chain afterwards

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:30:00

`seal_seq` is the chain's order (the existing rows, chained in id order, get 1, 2, 3 … in id order); an unsealed
row has no prev_hash and its own content hash in `hash`, so `hash` is no longer unique (two identical rows
written in the same microsecond would share it) but indexed.
"""
from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_hash", type_="unique")
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("seal_seq", sa.BigInteger(), nullable=True))
        batch.create_unique_constraint(batch.f("uq_audit_log_seal_seq"), ["seal_seq"])
        batch.create_index(batch.f("ix_audit_log_hash"), ["hash"], unique=False)
    op.execute("UPDATE audit_log SET seal_seq = (SELECT r.n FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n "
               "FROM audit_log) r WHERE r.id = audit_log.id)")


def downgrade():
    # Unsealed rows cannot go back into the old chain: seal them first (flask --app wsgi audit seal).
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index(batch.f("ix_audit_log_hash"))
        batch.drop_constraint(batch.f("uq_audit_log_seal_seq"), type_="unique")
        batch.drop_column("seal_seq")
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_audit_log_hash", ["hash"])
