"""webhook endpoints: sealed secrets, the previous secret during a rotation, deletion by the
merchant; API keys: when each was last used; payments: the console's filters by status and
by reference find their rows by index at 100,000 payments

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128), type_=sa.Text(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('previous_secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('previous_secret_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('merchant_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_merchant_status_created',
                              ['merchant_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_payments_merchant_reference', ['merchant_id', 'reference'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_merchant_reference')
        batch_op.drop_index('ix_payments_merchant_status_created')
    with op.batch_alter_table('merchant_keys', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('previous_secret_until')
        batch_op.drop_column('previous_secret')
        batch_op.alter_column('secret', existing_type=sa.Text(), type_=sa.String(length=128),
                              existing_nullable=False)
