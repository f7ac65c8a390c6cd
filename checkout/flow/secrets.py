"""Re-sealing stored secrets with the newest application key (after a rotation of
`CHECKOUT_SECRET_KEYS`), so that the older keys can then be retired."""

from __future__ import annotations

from checkout.store import sealed as store
from checkout.store.db import Database
from checkout.vault import Vault

BATCH = 500


async def reseal_all(db: Database, vault: Vault) -> dict[str, int]:
    """Every sealed column's values (`store.sealed`: recurrent tokens, webhook signing secrets,
    acquirer accounts' settings, second-factor secrets, sealed idempotent answers) sealed with
    the newest key, plain ones from before encryption at rest too; a batch per transaction.
    Safe to run while serving (each value is replaced only if it did not change meanwhile),
    and again. Returns how many values of each column, by `table.column`."""
    done: dict[str, int] = {}
    for column in store.sealed_columns():
        done[column.name], after = 0, None
        while True:
            async with db.transaction() as conn:
                rows = await store.batch_after(conn, column, after, BATCH)
                for key, stored in rows:
                    await store.replace(conn, column, key, stored, vault.reseal(stored))
            done[column.name] += len(rows)
            if len(rows) < BATCH:
                break
            after = rows[-1][0]
    return done
