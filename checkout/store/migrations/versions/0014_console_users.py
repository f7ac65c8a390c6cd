"""the merchant console: its users, their roles per merchant, sessions and the audit log

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_users',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('operator', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('disabled_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
        sa.UniqueConstraint('email', name=op.f('uq_console_users_email')),
    )
    op.create_table(
        'memberships',
        sa.Column('user_id', sa.String(length=40), nullable=False),
        sa.Column('merchant_id', sa.String(length=40), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'developer', 'support', 'viewer')",
                           name=op.f('ck_memberships_role')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_memberships_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['user_id'], ['console_users.id'],
                                name=op.f('fk_memberships_user_id_console_users')),
        sa.PrimaryKeyConstraint('user_id', 'merchant_id', name=op.f('pk_memberships')),
    )
    op.create_index(op.f('ix_memberships_merchant_id'), 'memberships', ['merchant_id'])
    op.create_table(
        'console_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=40), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['console_users.id'],
                                name=op.f('fk_console_sessions_user_id_console_users')),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_console_sessions')),
    )
    op.create_index(op.f('ix_console_sessions_user_id'), 'console_sessions', ['user_id'])
    op.create_table(
        'audit_log',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('user_id', sa.String(length=40), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('merchant_id', sa.String(length=40), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'],
                                name=op.f('fk_audit_log_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['user_id'], ['console_users.id'],
                                name=op.f('fk_audit_log_user_id_console_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index('ix_audit_log_merchant_at', 'audit_log', ['merchant_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_audit_log_merchant_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_console_sessions_user_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_index(op.f('ix_memberships_merchant_id'), table_name='memberships')
    op.drop_table('memberships')
    op.drop_table('console_users')
