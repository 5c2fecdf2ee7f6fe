"""robustness: one project hold in force per contract, a version on contracts, completed holiday years

Revision ID: 0003
Revises: 0005
Create Date: 2026-12-02 13:10:00

- project_hold: a partial unique index (contract_id WHERE lifted_at IS NULL), on PostgreSQL and SQLite.
  Before it, concurrent "暂停整个项目" could place several holds in force; the data migration keeps the newest
  of each contract's holds in force, moves the payment holds of the others under it and lifts the others.
- contract.version: the optimistic-lock counter of contract transitions (like payment.version).
- holiday_year: the years whose holidays an admin marked complete. None is marked by the migration: a year
  with a few dates entered was treated as complete, which is the fault this fixes; an admin confirms it.
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

import grants.core.timeutil

revision = "0003"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    now = dt.datetime.now(dt.timezone.utc)
    stamp = now if conn.dialect.name != "sqlite" else now.replace(tzinfo=None)

    # --- one project hold in force per contract -------------------------------------------------
    rows = conn.execute(sa.text(
        "SELECT id, contract_id FROM project_hold WHERE lifted_at IS NULL ORDER BY contract_id, id DESC")).all()
    keep: dict[int, int] = {}
    for hold_id, contract_id in rows:
        if contract_id not in keep:
            keep[contract_id] = hold_id
            continue
        conn.execute(sa.text("UPDATE payment_hold SET project_hold_id = :keep WHERE project_hold_id = :old "
                             "AND lifted_at IS NULL"), {"keep": keep[contract_id], "old": hold_id})
        conn.execute(sa.text("UPDATE project_hold SET lifted_at = :at, lift_reason = :reason WHERE id = :id"),
                     {"at": stamp, "reason": "重复的整体暂停，已并入同一项目的另一暂停", "id": hold_id})
    with op.batch_alter_table("project_hold", schema=None) as batch_op:
        batch_op.create_index("uq_project_hold_in_force", ["contract_id"], unique=True,
                              postgresql_where=sa.text("lifted_at IS NULL"),
                              sqlite_where=sa.text("lifted_at IS NULL"))

    # --- contract version ------------------------------------------------------------------------
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    # --- completed holiday years -----------------------------------------------------------------
    op.create_table(
        "holiday_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("completed_at", grants.core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["completed_by_id"], ["user.id"], name=op.f("fk_holiday_year_completed_by_id_user")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_holiday_year")),
    )


def downgrade():
    op.drop_table("holiday_year")
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("project_hold", schema=None) as batch_op:
        batch_op.drop_index("uq_project_hold_in_force", postgresql_where=sa.text("lifted_at IS NULL"),
                            sqlite_where=sa.text("lifted_at IS NULL"))
