"""A PostgreSQL restart between requests costs no request: a pooled connection that sat idle
is checked before use (`checkout.store.postgres`), and a dead one is replaced."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from checkout.store.db import Database
from checkout.store.postgres import PING_IDLE_SECONDS
from tests.postgres import TempPostgres


def test_reads_and_writes_after_the_database_restarted_while_the_pool_was_idle() -> None:
    pg = TempPostgres()
    pg.start()
    try:
        db = Database(pg.create_database("reconnect"))

        async def once() -> int:
            async with db.reader() as conn:
                read = (await conn.execute(text("SELECT 1"))).scalar_one()
            async with db.transaction() as conn:
                wrote = (await conn.execute(text("SELECT 2"))).scalar_one()
            return int(read) + int(wrote)

        async def run() -> None:
            try:
                assert await once() == 3  # the pool now holds live connections
                pg.crash()  # every one of them dies with the server
                pg.up()
                await asyncio.sleep(PING_IDLE_SECONDS + 0.2)
                assert await once() == 3
            finally:
                await db.close()
        asyncio.run(run())
    finally:
        pg.stop()
