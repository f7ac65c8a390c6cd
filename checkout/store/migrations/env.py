"""Alembic environment: async engines, and an advisory lock so parallel starts are safe."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from checkout.store.tables import metadata

config = context.config


def _run(connection: Any) -> None:
    if connection.dialect.name == "postgresql":
        # Two instances starting together: the second waits, then finds nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(7243110)"))
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


def run() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_online())
        return
    raise RuntimeError("run migrations outside the event loop (checkout migrate)")


run()
