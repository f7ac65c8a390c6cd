"""API keys: a scope each (read, payments, full) and who made it

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('merchant_keys') as batch:
        # Keys made before scopes did everything: they keep doing so.
        batch.add_column(sa.Column('scope', sa.String(16), nullable=False,
                                   server_default='full'))
        batch.add_column(sa.Column('created_by', sa.String(40), nullable=True))
    op.create_index('ix_merchant_keys_created_by', 'merchant_keys', ['created_by'])


def downgrade() -> None:
    op.drop_index('ix_merchant_keys_created_by', table_name='merchant_keys')
    with op.batch_alter_table('merchant_keys') as batch:
        batch.drop_column('created_by')
        batch.drop_column('scope')
