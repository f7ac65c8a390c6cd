"""the console: one-time invitations to a merchant's team (only their hash kept)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 10:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_invites',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('merchant_id', sa.String(length=40), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('invited_by', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('owner', 'developer', 'support', 'viewer')",
                           name=op.f('ck_console_invites_role')),
        sa.ForeignKeyConstraint(['invited_by'], ['console_users.id'],
                                name=op.f('fk_console_invites_invited_by_console_users')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_console_invites_merchant_id_merchants')),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_console_invites')),
    )
    op.create_index(op.f('ix_console_invites_merchant_id'), 'console_invites', ['merchant_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_console_invites_merchant_id'), table_name='console_invites')
    op.drop_table('console_invites')
