"""every try of a merchant-webhook delivery, with the endpoint's answer

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 13:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'delivery_tries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'],
                                name=op.f('fk_delivery_tries_delivery_id_deliveries')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_tries')),
    )
    op.create_index(op.f('ix_delivery_tries_delivery_id'), 'delivery_tries', ['delivery_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_delivery_tries_delivery_id'), table_name='delivery_tries')
    op.drop_table('delivery_tries')
