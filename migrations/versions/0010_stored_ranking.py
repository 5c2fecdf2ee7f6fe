"""stored ranking: ranking_state (version bumped by every change the ranking depends on) and ranking_row

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-03 07:15:00

No data migration: a call without a ranking_state row is computed on the first read of its ranking.
"""
from alembic import op
import sqlalchemy as sa

import grants.core.timeutil


revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ranking_state",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("computed_version", sa.Integer(), nullable=True),
        sa.Column("computed_at", grants.core.timeutil.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["call.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_id"),
    )
    op.create_table(
        "ranking_row",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("rank_overall", sa.Integer(), nullable=False),
        sa.Column("rank_in_category", sa.Integer(), nullable=False),
        sa.Column("written_score", sa.String(length=40), nullable=True),
        sa.Column("pitch_score", sa.String(length=40), nullable=True),
        sa.Column("final_score", sa.String(length=40), nullable=True),
        sa.Column("std_dev", sa.String(length=40), nullable=True),
        sa.Column("spread", sa.String(length=40), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("pitch_review_count", sa.Integer(), nullable=False),
        sa.Column("assigned_count", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("mean_z", sa.Float(), nullable=True),
        sa.Column("review_sums", sa.Text(), nullable=False),
        sa.Column("max_points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["call_id"], ["call.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_id", "application_id"),
    )
    op.create_index("ix_ranking_row_overall", "ranking_row", ["call_id", "rank_overall"])
    op.create_index("ix_ranking_row_category", "ranking_row", ["call_id", "category_id", "rank_in_category"])


def downgrade():
    op.drop_index("ix_ranking_row_category", table_name="ranking_row")
    op.drop_index("ix_ranking_row_overall", table_name="ranking_row")
    op.drop_table("ranking_row")
    op.drop_table("ranking_state")
