"""saved payment methods

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:37:35.565018
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('payment_methods',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('acquirer', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=255), nullable=False),
    sa.Column('customer_reference', sa.String(length=128), nullable=True),
    sa.Column('source_payment_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_payment_methods_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods'))
    )
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_methods_merchant_id'), ['merchant_id'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('save_payment_method', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('payment_method_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('initiator', sa.String(length=16), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('initiator')
        batch_op.drop_column('payment_method_id')
        batch_op.drop_column('save_payment_method')

    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_methods_merchant_id'))

    op.drop_table('payment_methods')

