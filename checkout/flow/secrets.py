"""Re-sealing stored secrets with the newest application key (after a rotation of
`CHECKOUT_SECRET_KEYS`), so that the older keys can then be retired."""

from __future__ import annotations

from checkout.store import repo
from checkout.store.db import Database
from checkout.vault import Vault

BATCH = 500


async def reseal_all(db: Database, vault: Vault) -> int:
    """Every stored recurrent token sealed with the newest key (plain ones from before
    encryption at rest too). Safe to run while serving, and again. Returns how many."""
    done, after = 0, ""
    while True:
        async with db.transaction() as conn:
            rows = await repo.sealed_tokens_after(conn, after, BATCH)
            for method_id, stored in rows:
                await repo.replace_sealed_token(conn, method_id, stored, vault.reseal(stored))
        done += len(rows)
        if len(rows) < BATCH:
            return done
        after = rows[-1][0]
