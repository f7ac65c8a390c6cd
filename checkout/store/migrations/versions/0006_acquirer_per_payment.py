"""acquirer per payment, buyer language per attempt

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acquirer', sa.String(length=40),
                                      server_default='bank131', nullable=False))
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('acquirer')
