"""54-FZ receipts: a payment's line items, its receipt (tax system; the buyer's contact
sealed), the fiscal receipt's state and address, the items of a capture or refund in flight,
a payment link's tax profile

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('items', sa.Text(), nullable=True))
        batch.add_column(sa.Column('taxation', sa.String(32), nullable=True))
        batch.add_column(sa.Column('receipt_contact', sa.Text(), nullable=True))
        batch.add_column(sa.Column('receipt_status', sa.String(16), nullable=True))
        batch.add_column(sa.Column('receipt_url', sa.Text(), nullable=True))
        batch.add_column(sa.Column('pending_items', sa.Text(), nullable=True))
        batch.add_column(sa.Column('settlement_status', sa.String(16), nullable=True))
    with op.batch_alter_table('refunds') as batch:
        batch.add_column(sa.Column('items', sa.Text(), nullable=True))
    with op.batch_alter_table('payment_links') as batch:
        batch.add_column(sa.Column('receipt', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payment_links') as batch:
        batch.drop_column('receipt')
    with op.batch_alter_table('refunds') as batch:
        batch.drop_column('items')
    with op.batch_alter_table('payments') as batch:
        for name in ('settlement_status', 'pending_items', 'receipt_url', 'receipt_status', 'receipt_contact',
                     'taxation', 'items'):
            batch.drop_column(name)
