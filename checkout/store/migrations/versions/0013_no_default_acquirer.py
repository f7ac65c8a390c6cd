"""merchants and payments: no database default for the acquirer (every insert names one)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('merchants', 'payments'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('acquirer', existing_type=sa.String(length=40),
                                  existing_nullable=False, server_default=None)


def downgrade() -> None:
    for table in ('merchants', 'payments'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('acquirer', existing_type=sa.String(length=40),
                                  existing_nullable=False, server_default='bank131')
