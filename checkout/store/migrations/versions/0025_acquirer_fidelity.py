"""acquirer fidelity: a TBC payment's returned baseline, a T-Bank RebillId kept until the
payment is confirmed, a refund parked for review

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attempts') as batch:
        batch.add_column(sa.Column('returned_baseline', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('kept_token', sa.Text(), nullable=True))
    with op.batch_alter_table('refunds') as batch:
        batch.add_column(sa.Column('review', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('refunds') as batch:
        batch.drop_column('review')
    with op.batch_alter_table('attempts') as batch:
        batch.drop_column('kept_token')
        batch.drop_column('returned_baseline')
