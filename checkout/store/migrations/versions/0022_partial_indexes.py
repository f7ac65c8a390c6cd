"""partial indexes for the background sweeps: flat from a thousand stored payments to millions

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# The conditions as `checkout.store.tables` has them (a migration keeps its own copy: the
# tables module may change later, this step may not).
PARTIAL = (
    ('ix_payments_operation_due', 'payments', 'updated_at', "pending_operation IS NOT NULL"),
    ('ix_attempts_live', 'attempts', 'updated_at',
     "status IN ('starting', 'processing', 'awaiting_buyer')"),
    ('ix_acquirer_events_unapplied', 'acquirer_events', 'id', "applied_at IS NULL"),
    ('ix_deliveries_pending', 'deliveries', 'next_attempt_at', "status = 'pending'"),
)


def upgrade() -> None:
    for name, table, column, where in PARTIAL:
        op.create_index(name, table, [column], sqlite_where=sa.text(where),
                        postgresql_where=sa.text(where))
    # Every attempt has a debt column and nearly all hold NULL: only the ones owing money.
    op.drop_index('ix_attempts_debt', table_name='attempts')
    op.create_index('ix_attempts_debt', 'attempts', ['debt'],
                    sqlite_where=sa.text("debt IS NOT NULL"),
                    postgresql_where=sa.text("debt IS NOT NULL"))
    op.drop_index('ix_deliveries_due', table_name='deliveries')


def downgrade() -> None:
    op.create_index('ix_deliveries_due', 'deliveries', ['status', 'next_attempt_at'])
    op.drop_index('ix_attempts_debt', table_name='attempts')
    op.create_index('ix_attempts_debt', 'attempts', ['debt'])
    for name, table, _, _ in reversed(PARTIAL):
        op.drop_index(name, table_name=table)
