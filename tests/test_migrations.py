"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from checkout.store.migrate import upgrade
from checkout.store.tables import metadata


def _diff(url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
        finally:
            await engine.dispose()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_migrations_match_the_declared_tables(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # a second run (another instance starting) changes nothing
    assert _diff(database_url) == []


def test_accounts_made_before_are_verified_but_those_made_by_an_invitation(
        database_url: str) -> None:
    """0024 backfills `email_verified_at`: an account written in the transaction that used its
    invitation (the same time on both) was made by whoever held the link, and stays
    unverified; every other account an operator made is verified."""
    from datetime import datetime

    from tests.buyer import execute, query

    upgrade(database_url, "0023")
    made, later = datetime(2026, 1, 5, 10, 0, 0), datetime(2026, 1, 6, 9, 0, 0)
    execute(database_url, "INSERT INTO merchants (id, name, return_origins, embed_origins, "
            "acquirer, created_at) VALUES ('mer_m', 'M', '[]', '[]', 'bank131', :t)", t=made)
    for user, email in (("usr_cli", "ops@shop.example"), ("usr_inv", "cfo@bank.example")):
        execute(database_url, "INSERT INTO console_users (id, email, password_hash, operator, "
                "created_at) VALUES (:u, :e, 'x', false, :t)", u=user, e=email,
                t=made if user == "usr_cli" else later)
    execute(database_url, "INSERT INTO console_invites (id_hash, merchant_id, email, role, "
            "created_at, expires_at, used_at) VALUES ('h', 'mer_m', 'cfo@bank.example', "
            "'viewer', :t, :t, :u)", t=made, u=later)
    upgrade(database_url)
    verified = dict(query(database_url, "SELECT id, email_verified_at IS NOT NULL FROM "
                          "console_users ORDER BY id"))
    assert {k: bool(v) for k, v in verified.items()} == {"usr_cli": True, "usr_inv": False}
