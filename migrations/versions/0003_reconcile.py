"""Reconcile: what Amazon really shows per SKU (amazon_listing), the sweeps reading it, the drift found.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 07:01:00.193696
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('listing_drift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('amazon_value', sa.Integer(), nullable=True),
    sa.Column('our_value', sa.Integer(), nullable=True),
    sa.Column('our_accepted_at', sa.DateTime(), nullable=True),
    sa.Column('amazon_updated_at', sa.DateTime(), nullable=True),
    sa.Column('detected_at', sa.DateTime(), nullable=False),
    sa.Column('will_correct', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('listing_drift', schema=None) as batch_op:
        batch_op.create_index('ix_listing_drift_account_detected',
            ['account_id', 'kind', 'detected_at'], unique=False)
        batch_op.create_index('ix_listing_drift_account_sku', ['account_id', 'sku'], unique=False)

    op.create_table('reconcile_sweep',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('report_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('report_document_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', sa.DateTime(), nullable=True),
    sa.Column('windows_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('page_token', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('window_after', sa.DateTime(), nullable=True),
    sa.Column('window_before', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('items_read', sa.Integer(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('splits', sa.Integer(), nullable=False),
    sa.Column('not_on_amazon', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reconcile_sweep', schema=None) as batch_op:
        batch_op.create_index('ix_reconcile_sweep_account_kind',
            ['account_id', 'kind', 'status'], unique=False)

    op.create_table('amazon_listing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('on_amazon', sa.Boolean(), nullable=False),
    sa.Column('asin', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('item_name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('price_cents', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('buyable', sa.Boolean(), nullable=False),
    sa.Column('issues_json', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('warning_count', sa.Integer(), nullable=False),
    sa.Column('amazon_updated_at', sa.DateTime(), nullable=True),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('seen_sweep_id', sa.Integer(), nullable=True),
    sa.Column('zero_requested_at', sa.DateTime(), nullable=True),
    sa.Column('zero_requested_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ),
    sa.ForeignKeyConstraint(['zero_requested_by_user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'sku', name='uq_amazon_listing_account_sku')
    )
    with op.batch_alter_table('amazon_listing', schema=None) as batch_op:
        batch_op.create_index('ix_amazon_listing_account_seen',
            ['account_id', 'on_amazon', 'quantity'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('amazon_listing', schema=None) as batch_op:
        batch_op.drop_index('ix_amazon_listing_account_seen')

    op.drop_table('amazon_listing')
    with op.batch_alter_table('reconcile_sweep', schema=None) as batch_op:
        batch_op.drop_index('ix_reconcile_sweep_account_kind')

    op.drop_table('reconcile_sweep')
    with op.batch_alter_table('listing_drift', schema=None) as batch_op:
        batch_op.drop_index('ix_listing_drift_account_sku')
        batch_op.drop_index('ix_listing_drift_account_detected')

    op.drop_table('listing_drift')
