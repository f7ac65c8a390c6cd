"""the console: one-time password-reset links made by an operator (only their hash kept)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_resets',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=40), nullable=False),
        sa.Column('made_by', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['made_by'], ['console_users.id'],
                                name=op.f('fk_console_resets_made_by_console_users')),
        sa.ForeignKeyConstraint(['user_id'], ['console_users.id'],
                                name=op.f('fk_console_resets_user_id_console_users')),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_console_resets')),
    )
    op.create_index(op.f('ix_console_resets_user_id'), 'console_resets', ['user_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_console_resets_user_id'), table_name='console_resets')
    op.drop_table('console_resets')
