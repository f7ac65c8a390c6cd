"""each merchant on its own acquirer account

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

HOLDERS = ('merchants', 'payments', 'attempts', 'payment_methods')


def upgrade() -> None:
    op.create_table(
        'acquirer_accounts',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', sa.String(length=40), nullable=False),
        sa.Column('acquirer', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=100), nullable=False),
        sa.Column('sealed_settings', sa.Text(), nullable=False),
        sa.Column('hints', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('checked_at', sa.DateTime(), nullable=True),
        sa.Column('check_problem', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_acquirer_accounts_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_acquirer_accounts')),
    )
    op.create_index(op.f('ix_acquirer_accounts_merchant_id'), 'acquirer_accounts',
                    ['merchant_id'])
    for table in HOLDERS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('acquirer_account_id', sa.String(length=40),
                                       nullable=True))


def downgrade() -> None:
    for table in HOLDERS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column('acquirer_account_id')
    op.drop_index(op.f('ix_acquirer_accounts_merchant_id'), table_name='acquirer_accounts')
    op.drop_table('acquirer_accounts')
