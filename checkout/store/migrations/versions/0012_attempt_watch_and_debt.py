"""attempts: why an ended one is still watched, and the money it owes, out of error_code

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:00:00

`error_code` held four meanings: the acquirer's error, a "keep watching" marker, a debt and a
settled debt. The last three move to their own columns; `error_code` keeps only the error.
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# old error_code -> debt
DEBTS = {"refund_due": "refund_due", "release_due": "release_due",
         "refunded_double_payment": "refunded", "released_double_payment": "released"}


def upgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('watch', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('debt', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_attempts_debt', ['debt'], unique=False)
    attempts = sa.table('attempts', sa.column('status'), sa.column('error_code'),
                        sa.column('watch'), sa.column('debt'))
    op.execute(attempts.update()
               .where(sa.and_(attempts.c.status == 'canceled',
                              attempts.c.error_code == 'canceled_by_merchant'))
               .values(watch='canceled_here'))
    for old, debt in DEBTS.items():
        op.execute(attempts.update().where(attempts.c.error_code == old)
                   .values(debt=debt, error_code=None))


def downgrade() -> None:
    attempts = sa.table('attempts', sa.column('error_code'), sa.column('debt'))
    for old, debt in DEBTS.items():
        op.execute(attempts.update().where(attempts.c.debt == debt).values(error_code=old))
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_attempts_debt')
        batch_op.drop_column('debt')
        batch_op.drop_column('watch')
