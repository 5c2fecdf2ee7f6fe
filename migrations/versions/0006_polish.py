"""objection receipts and evidence files; first submission of progress reports

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-02 13:00:00

Every objection gets a receipt number (受理回执号); objections filed before this revision get one made
from their filing date and id, which cannot collide with the random ones (those never contain 0 or 1). A progress report's first
submission is taken to be its last one for the reports submitted before this revision.
"""
from alembic import op
import sqlalchemy as sa

import grants.core.timeutil

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_no", sa.String(length=20), nullable=True))

    objection = sa.table("objection", sa.column("id", sa.Integer), sa.column("filed_at", sa.DateTime),
                         sa.column("receipt_no", sa.String))
    conn = op.get_bind()
    for oid, filed_at in conn.execute(sa.select(objection.c.id, objection.c.filed_at)).all():
        day = filed_at.strftime("%Y%m%d") if hasattr(filed_at, "strftime") else str(filed_at)[:10].replace("-", "")
        conn.execute(objection.update().where(objection.c.id == oid).values(receipt_no=f"YY{day}-{oid:06d}"[:20]))

    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.alter_column("receipt_no", existing_type=sa.String(length=20), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_objection_receipt_no"), ["receipt_no"])

    op.create_table(
        "objection_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objection_id", sa.Integer(), nullable=False),
        sa.Column("stored_file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["objection_id"], ["objection.id"],
                                name=op.f("fk_objection_evidence_objection_id_objection"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["stored_file_id"], ["stored_file.id"],
                                name=op.f("fk_objection_evidence_stored_file_id_stored_file")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection_evidence")),
        sa.UniqueConstraint("stored_file_id", name=op.f("uq_objection_evidence_stored_file_id")),
    )
    with op.batch_alter_table("objection_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objection_evidence_objection_id"), ["objection_id"], unique=False)

    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_submitted_at", grants.core.timeutil.UTCDateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE progress_report SET first_submitted_at = submitted_at WHERE submitted_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.drop_column("first_submitted_at")
    with op.batch_alter_table("objection_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objection_evidence_objection_id"))
    op.drop_table("objection_evidence")
    with op.batch_alter_table("objection", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_objection_receipt_no"), type_="unique")
        batch_op.drop_column("receipt_no")
