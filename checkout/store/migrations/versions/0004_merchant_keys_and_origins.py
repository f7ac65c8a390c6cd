"""merchant keys and origins

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:21:00.133514
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('merchant_keys',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_merchant_keys_merchant_id_merchants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_merchant_keys_key_hash'))
    )
    with op.batch_alter_table('merchant_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_keys_merchant_id'), ['merchant_id'], unique=False)

    # Keep every merchant's current key working: it becomes their first row of keys.
    op.execute("INSERT INTO merchant_keys (id, merchant_id, key_hash, hint, created_at) "
               "SELECT 'key_' || id, id, api_key_hash, '', created_at FROM merchants")
    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('embed_origins', sa.Text(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('acquirer', sa.String(length=40), server_default='bank131', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_merchants_api_key_hash'), type_='unique')
        batch_op.drop_column('api_key_hash')




def downgrade() -> None:

    with op.batch_alter_table('merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_hash', sa.VARCHAR(length=64), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_merchants_api_key_hash'), ['api_key_hash'])
        batch_op.drop_column('acquirer')
        batch_op.drop_column('embed_origins')

    with op.batch_alter_table('merchant_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_keys_merchant_id'))

    op.drop_table('merchant_keys')

