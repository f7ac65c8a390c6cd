"""job claims for background work shared by several instances; who holds a delivery; the
merchant's Idempotency-Key on each refund; payments by update time (the version feed)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 00:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_claims',
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('subject', name=op.f('pk_job_claims'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=120), nullable=True))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_updated_at', ['updated_at'], unique=False)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_key', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint('uq_refunds_request_key',
                                          ['payment_id', 'request_key'])


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_updated_at')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_constraint('uq_refunds_request_key', type_='unique')
        batch_op.drop_column('request_key')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('lease_owner')
    op.drop_table('job_claims')
