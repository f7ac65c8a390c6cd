"""Re-sealing stored secrets with the newest application key (after a rotation of
`CHECKOUT_SECRET_KEYS`), so that the older keys can then be retired."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from checkout.store import acquirer_accounts, repo, webhooks
from checkout.store.db import Conn, Database
from checkout.vault import Vault

BATCH = 500


# Reads a batch of (id, sealed value) after an id; writes one back if it did not change.
Batch = Callable[[Conn, str, int], Awaitable[list[tuple[str, str]]]]
Replace = Callable[[Conn, str, str, str], Awaitable[None]]


async def _reseal_each(db: Database, vault: Vault, batch: Batch, replace: Replace) -> int:
    """Every value `batch` reads, sealed anew, a batch per transaction; how many."""
    done, after = 0, ""
    while True:
        async with db.transaction() as conn:
            rows = await batch(conn, after, BATCH)
            for row_id, stored in rows:
                await replace(conn, row_id, stored, vault.reseal(stored))
        done += len(rows)
        if len(rows) < BATCH:
            return done
        after = rows[-1][0]


async def reseal_all(db: Database, vault: Vault) -> dict[str, int]:
    """Every stored recurrent token, webhook signing secret and acquirer account's settings
    sealed with the newest key
    (plain ones from before encryption at rest too). Safe to run while serving (each value is
    replaced only if it did not change meanwhile), and again. Returns how many of each."""
    done = await _reseal_each(db, vault, repo.sealed_tokens_after, repo.replace_sealed_token)
    secrets, after = 0, ""
    while True:  # two secrets a row: the current one and, during an overlap, the previous
        async with db.transaction() as conn:
            endpoints = await webhooks.sealed_secrets_after(conn, after, BATCH)
            for endpoint_id, secret, previous in endpoints:
                await webhooks.replace_sealed_secrets(
                    conn, endpoint_id, (secret, previous),
                    (vault.reseal(secret), vault.reseal(previous) if previous else None))
                secrets += 1
        if len(endpoints) < BATCH:
            break
        after = endpoints[-1][0]
    accounts = await _reseal_each(db, vault, acquirer_accounts.sealed_after,
                                  acquirer_accounts.replace_sealed)
    return {"recurrent_tokens": done, "webhook_secrets": secrets,
            "acquirer_accounts": accounts}
