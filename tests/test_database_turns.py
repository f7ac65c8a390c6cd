"""PostgreSQL's connections are handed out in the order asked for, and the wait is told to the
past-capacity gauge (`checkout.store.postgres.Turns`, `Database.on_wait`).

asyncpg's own pool let a newcomer take a connection freed for a waiter: at twice capacity half
the uses got one at once while others waited 20 s, and the gauge, which takes the least wait
of each interval, saw no queue and refused no new payment."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from checkout.store.db import Database
from tests.postgres import TempPostgres

HOLD = 0.3  # seconds the first use keeps the one connection


def _database(postgres: TempPostgres, waits: list[float]) -> Database:
    db = Database(postgres.create_database(f"t_{uuid.uuid4().hex[:12]}"), connections=1)
    db.on_wait = waits.append
    return db


async def _use(db: Database, order: list[str], name: str, hold: float = 0.0) -> None:
    async with db.reader() as conn:
        order.append(name)
        await conn.execute(text("SELECT 1"))
        await asyncio.sleep(hold)


def test_a_connection_freed_goes_to_who_asked_first_not_to_a_newcomer(
        postgres: TempPostgres) -> None:
    waits: list[float] = []
    db = _database(postgres, waits)

    async def run() -> list[str]:
        order: list[str] = []

        async def hold_then_ask_again() -> None:
            await _use(db, order, "holder", hold=HOLD)
            # Asks the instant its connection is freed, before the waiter has run.
            await _use(db, order, "newcomer")
        try:
            holder = asyncio.create_task(hold_then_ask_again())
            await asyncio.sleep(0.05)
            waiter = asyncio.create_task(_use(db, order, "waiter"))
            await asyncio.gather(holder, waiter)
        finally:
            await db.close()
        return order

    assert asyncio.run(run()) == ["holder", "waiter", "newcomer"]
    # The waiter's wait reached the gauge: about the hold, less the 50 ms it came later.
    assert max(waits) >= HOLD - 0.1


def test_a_waiter_that_gives_up_loses_nobody_a_turn(postgres: TempPostgres) -> None:
    waits: list[float] = []
    db = _database(postgres, waits)

    async def run() -> list[str]:
        order: list[str] = []
        try:
            holder = asyncio.create_task(_use(db, order, "holder", hold=HOLD))
            await asyncio.sleep(0.05)
            quitter = asyncio.create_task(_use(db, order, "quitter"))
            second = asyncio.create_task(_use(db, order, "second"))
            await asyncio.sleep(0.05)
            quitter.cancel()  # a request whose client went away while it waited
            await holder
            await asyncio.wait_for(second, timeout=5)
            # One connection, still handed out: no turn was kept by the one that left.
            await asyncio.wait_for(_use(db, order, "later"), timeout=5)
        finally:
            await db.close()
        return order

    assert asyncio.run(run()) == ["holder", "second", "later"]


def test_a_waiter_cancelled_just_as_its_turn_came_passes_the_turn_on(
        postgres: TempPostgres) -> None:
    db = _database(postgres, [])

    async def run() -> list[str]:
        order: list[str] = []
        unlucky: list[asyncio.Task[None]] = []

        async def hold_then_cancel_the_next() -> None:
            await _use(db, order, "holder", hold=HOLD)
            # The turn is now the unlucky one's, which has not run yet, and is cancelled
            # before it does.
            unlucky[0].cancel()
        try:
            holder = asyncio.create_task(hold_then_cancel_the_next())
            await asyncio.sleep(0.05)
            unlucky.append(asyncio.create_task(_use(db, order, "unlucky")))
            after = asyncio.create_task(_use(db, order, "after"))
            await asyncio.sleep(0.05)
            await holder
            await asyncio.wait_for(after, timeout=5)
        finally:
            await db.close()
        return order

    assert asyncio.run(run()) == ["holder", "after"]
