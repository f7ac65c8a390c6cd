"""Re-sealing stored secrets with the newest application key (after a rotation of
`CHECKOUT_SECRET_KEYS`), so that the older keys can then be retired."""

from __future__ import annotations

from checkout.store import acquirer_accounts, repo, webhooks
from checkout.store.db import Database
from checkout.vault import Vault

BATCH = 500


async def reseal_all(db: Database, vault: Vault) -> dict[str, int]:
    """Every stored recurrent token, webhook signing secret and acquirer account's settings
    sealed with the newest key
    (plain ones from before encryption at rest too). Safe to run while serving (each value is
    replaced only if it did not change meanwhile), and again. Returns how many of each."""
    done, after = 0, ""
    while True:
        async with db.transaction() as conn:
            rows = await repo.sealed_tokens_after(conn, after, BATCH)
            for method_id, stored in rows:
                await repo.replace_sealed_token(conn, method_id, stored, vault.reseal(stored))
        done += len(rows)
        if len(rows) < BATCH:
            break
        after = rows[-1][0]
    secrets, after = 0, ""
    while True:
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
    accounts, after = 0, ""
    while True:
        async with db.transaction() as conn:
            sealed = await acquirer_accounts.sealed_after(conn, after, BATCH)
            for account_id, stored in sealed:
                await acquirer_accounts.replace_sealed(conn, account_id, stored,
                                                       vault.reseal(stored))
        accounts += len(sealed)
        if len(sealed) < BATCH:
            return {"recurrent_tokens": done, "webhook_secrets": secrets,
                    "acquirer_accounts": accounts}
        after = sealed[-1][0]
