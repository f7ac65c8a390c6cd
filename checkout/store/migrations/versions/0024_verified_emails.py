"""console users: when their email was verified (an operator vouched for it)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('console_users') as batch:
        batch.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
    # Accounts made before: verified, but those made by accepting an invitation (whoever held
    # the link chose the email). Such an account was written in the transaction that used
    # its invitation, with the same time: that is how they are told apart.
    op.execute("UPDATE console_users SET email_verified_at = created_at WHERE NOT EXISTS "
               "(SELECT 1 FROM console_invites i WHERE i.email = console_users.email "
               "AND i.used_at = console_users.created_at)")


def downgrade() -> None:
    with op.batch_alter_table('console_users') as batch:
        batch.drop_column('email_verified_at')
