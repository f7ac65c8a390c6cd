"""indexes for the retention jobs; recurrent tokens become sealed text (longer than before)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('acquirer_events', schema=None) as batch_op:
        batch_op.create_index('ix_acquirer_events_received', ['received_at'], unique=False)
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created', ['created_at'], unique=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_created', ['created_at'], unique=False)
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=255), type_=sa.Text(),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_methods', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.Text(), type_=sa.String(length=255),
                              existing_nullable=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_created')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created')
    with op.batch_alter_table('acquirer_events', schema=None) as batch_op:
        batch_op.drop_index('ix_acquirer_events_received')
