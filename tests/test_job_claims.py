"""Claims on background work, on the real databases: of N instances reaching for the same job
at once exactly one gets it; a dead holder's claim lapses; a stopping one gives its back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from checkout.store import claims
from checkout.store.db import Database
from checkout.store.migrate import upgrade
from tests.buyer import _run_alone


def test_one_of_many_instances_wins_a_claim_until_it_lapses(database_url: str) -> None:
    upgrade(database_url)

    async def scenario() -> None:
        db = Database(database_url)
        now = datetime.now(UTC)

        async def reach(owner: str, at: datetime) -> bool:
            async with db.transaction() as conn:
                return await claims.claim(conn, "attempt:att_1", owner=owner, now=at,
                                          until=at + timedelta(seconds=30))
        try:
            won = await asyncio.gather(*(reach(f"instance-{n}", now) for n in range(12)))
            assert won.count(True) == 1
            winner = f"instance-{won.index(True)}"
            # held: nobody else, not even a moment later
            assert not await reach("instance-x", now + timedelta(seconds=29))
            # the holder died; its claim lapses and another takes the job
            assert await reach("instance-x", now + timedelta(seconds=31))
            # the old holder can no longer move the new holder's claim
            async with db.transaction() as conn:
                await claims.hold_until(conn, "attempt:att_1", owner=winner,
                                        until=now + timedelta(days=1))
                await claims.release(conn, ["attempt:att_1"], owner=winner)
            assert not await reach("instance-y", now + timedelta(seconds=40))
            # a graceful stop gives it back at once
            async with db.transaction() as conn:
                await claims.release(conn, ["attempt:att_1"], owner="instance-x")
            assert await reach("instance-y", now + timedelta(seconds=40))
        finally:
            await db.close()
    _run_alone(scenario())
