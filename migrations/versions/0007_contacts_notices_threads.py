"""contacts, notices and threads: verified contacts and one-time codes, the SMS outbox, SMS preferences,
message threads on applications and contracts

Revision ID: 0007
Revises: 0008
Create Date: 2026-12-02 13:10:00

"""
from alembic import op
import sqlalchemy as sa

import grants.core.timeutil


revision = '0007'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile_verified_at', grants.core.timeutil.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', grants.core.timeutil.UTCDateTime(), nullable=True))
    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_enabled', sa.Boolean(), nullable=True))
    op.create_table('verification_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('contact', sa.String(length=120), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', grants.core.timeutil.UTCDateTime(), nullable=False),
    sa.Column('expires_at', grants.core.timeutil.UTCDateTime(), nullable=False),
    sa.Column('used_at', grants.core.timeutil.UTCDateTime(), nullable=True),
    sa.CheckConstraint("purpose IN ('verify_mobile','verify_email','reset')", name=op.f('ck_verification_code_purpose_known')),
    sa.CheckConstraint("channel IN ('sms','email')", name=op.f('ck_verification_code_channel_known')),
    sa.CheckConstraint('failed_attempts >= 0', name=op.f('ck_verification_code_attempts_nonneg')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_verification_code_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_code'))
    )
    with op.batch_alter_table('verification_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_code_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_verification_code_contact', ['contact', 'created_at'], unique=False)
        batch_op.create_index('ix_verification_code_ip', ['ip', 'created_at'], unique=False)
    op.create_table('outbox_sms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_mobile', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', grants.core.timeutil.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('provider_ref', sa.String(length=64), nullable=False),
    sa.Column('sent_at', grants.core.timeutil.UTCDateTime(), nullable=True),
    sa.Column('claimed_at', grants.core.timeutil.UTCDateTime(), nullable=True),
    sa.Column('created_at', grants.core.timeutil.UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('queued','sending','sent','failed','uncertain')", name=op.f('ck_outbox_sms_status_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_sms_attempts_nonneg')),
    sa.CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name=op.f('ck_outbox_sms_sent_has_time')),
    sa.CheckConstraint("status <> 'sending' OR claimed_at IS NOT NULL", name=op.f('ck_outbox_sms_sending_has_claim')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_sms'))
    )
    with op.batch_alter_table('outbox_sms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_sms_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_sms_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_sms_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_sms_to_mobile'), ['to_mobile'], unique=False)
    op.create_table('notice_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sms', sa.String(length=500), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', grants.core.timeutil.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('last_error_at', grants.core.timeutil.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_notice_template_updated_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_template')),
    sa.UniqueConstraint('kind', name=op.f('uq_notice_template_kind'))
    )
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
    op.drop_table('notice_template')
    op.drop_table('outbox_sms')
    op.drop_table('verification_code')
    with op.batch_alter_table('notification_preference', schema=None) as batch_op:
        batch_op.drop_column('sms_enabled')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('mobile_verified_at')
