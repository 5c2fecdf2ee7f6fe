"""contacts, notices and threads: message threads on applications and contracts

Revision ID: 0007
Revises: 0001
Create Date: 2026-12-02 13:10:00

"""
from alembic import op
import sqlalchemy as sa

import grants.core.timeutil


revision = '0007'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('from_staff', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', grants.core.timeutil.UTCDateTime(), nullable=False),
    sa.CheckConstraint("subject_type IN ('application','contract')", name=op.f('ck_message_subject_known')),
    sa.CheckConstraint('NOT internal OR from_staff', name=op.f('ck_message_internal_by_staff')),
    sa.ForeignKeyConstraint(['attachment_id'], ['stored_file.id'], name=op.f('fk_message_attachment_id_stored_file')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_message_author_id_user')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_message_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_message_subject', ['subject_type', 'subject_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_subject')
        batch_op.drop_index(batch_op.f('ix_message_organization_id'))
        batch_op.drop_index(batch_op.f('ix_message_author_id'))
    op.drop_table('message')
