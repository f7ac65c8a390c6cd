"""payment links: a short URL that makes a payment when the buyer presses Pay

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'payment_links',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', sa.String(length=40), nullable=False),
        sa.Column('slug', sa.String(length=32), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=True),
        sa.Column('min_amount', sa.BigInteger(), nullable=True),
        sa.Column('max_amount', sa.BigInteger(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('description', sa.String(length=128), nullable=False),
        sa.Column('reusable', sa.Boolean(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('deactivated_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('(amount IS NOT NULL AND amount > 0) OR (min_amount > 0 AND '
                           'max_amount >= min_amount)',
                           name=op.f('ck_payment_links_amount_given')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_payment_links_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_links')),
        sa.UniqueConstraint('slug', name=op.f('uq_payment_links_slug')),
    )
    op.create_index('ix_payment_links_merchant_created', 'payment_links',
                    ['merchant_id', 'created_at'])
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('payment_link_id', sa.String(length=40), nullable=True))
        batch.create_index('ix_payments_link_status', ['payment_link_id', 'status'])


def downgrade() -> None:
    with op.batch_alter_table('payments') as batch:
        batch.drop_index('ix_payments_link_status')
        batch.drop_column('payment_link_id')
    op.drop_index('ix_payment_links_merchant_created', table_name='payment_links')
    op.drop_table('payment_links')
