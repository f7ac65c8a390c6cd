"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 18:17:40.569738
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('acquirer_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('acquirer', sa.String(length=40), nullable=False),
    sa.Column('dedup_key', sa.String(length=255), nullable=False),
    sa.Column('acquirer_ref', sa.String(length=128), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('applied_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acquirer_events')),
    sa.UniqueConstraint('acquirer', 'dedup_key', name='uq_acquirer_events_identity')
    )
    op.create_table('merchants',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('api_key_hash', sa.String(length=64), nullable=False),
    sa.Column('return_origins', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchants')),
    sa.UniqueConstraint('api_key_hash', name=op.f('uq_merchants_api_key_hash'))
    )
    op.create_table('idempotency_keys',
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_idempotency_keys_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('merchant_id', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('payments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=128), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('return_url', sa.Text(), nullable=False),
    sa.Column('capture', sa.Boolean(), nullable=False),
    sa.Column('customer_reference', sa.String(length=128), nullable=True),
    sa.Column('metadata', sa.Text(), nullable=False),
    sa.Column('captured_amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('last_error_code', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('0 <= refunded_amount AND refunded_amount <= captured_amount AND captured_amount <= amount', name=op.f('ck_payments_money_order')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_payments_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_merchant_created', ['merchant_id', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_status_expires', ['status', 'expires_at'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('acquirer', sa.String(length=40), nullable=False),
    sa.Column('acquirer_ref', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('platform_type', sa.String(length=16), nullable=False),
    sa.Column('platform_os', sa.String(length=32), nullable=False),
    sa.Column('platform_browser', sa.String(length=32), nullable=False),
    sa.Column('action_url', sa.Text(), nullable=True),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_attempts_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('acquirer', 'acquirer_ref', name='uq_attempts_acquirer_ref')
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('ix_attempts_status_updated', ['status', 'updated_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_status_updated')
        batch_op.drop_index(batch_op.f('ix_attempts_payment_id'))

    op.drop_table('attempts')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_expires')
        batch_op.drop_index('ix_payments_merchant_created')

    op.drop_table('payments')
    op.drop_table('idempotency_keys')
    op.drop_table('merchants')
    op.drop_table('acquirer_events')

