"""The delivery queue: in the order deliveries became due, merchants in turn, no endpoint or
merchant over its in-flight cap, and an event resent only a few times."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from checkout.store import webhooks
from checkout.store.db import Database
from checkout.store.migrate import upgrade
from checkout.store.tables import deliveries, events, merchants, webhook_endpoints
from tests.buyer import FAST_RETRIES, clients, pay, query, wait_for
from tests.server import LiveServer

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _world(db: Database, plan: list[tuple[str, str, str, datetime, datetime]]) -> None:
    """`plan`: (merchant, endpoint, event id, event created, delivery due), one delivery each."""
    async with db.transaction() as conn:
        for merchant_id in sorted({p[0] for p in plan}):
            await conn.execute(insert(merchants).values(
                id=merchant_id, name=merchant_id, return_origins="[]", embed_origins="[]",
                acquirer="bank131", created_at=NOW))
        for merchant_id, endpoint_id in sorted({(p[0], p[1]) for p in plan}):
            await conn.execute(insert(webhook_endpoints).values(
                id=endpoint_id, merchant_id=merchant_id, url="http://127.0.0.1:9/",
                secret="whsec_x", created_at=NOW))  # noqa: S106 - a test's
        for merchant_id, endpoint_id, event_id, created, due in plan:
            await conn.execute(insert(events).values(
                id=event_id, merchant_id=merchant_id, type="payment.succeeded", sequence=1,
                body="{}", created_at=created))
            await conn.execute(insert(deliveries).values(
                event_id=event_id, endpoint_id=endpoint_id, status="pending", attempts=0,
                next_attempt_at=due, created_at=due))


def _claim(database_url: str, plan: list[tuple[str, str, str, datetime, datetime]],
           limit: int, per_endpoint: int = 2, per_merchant: int = 4) -> list[str]:
    upgrade(database_url)

    async def run() -> list[str]:
        db = Database(database_url)
        try:
            await _world(db, plan)
            async with db.transaction() as conn:
                taken = await webhooks.claim_due(
                    conn, now=NOW, lease_until=NOW + timedelta(seconds=60), owner="test",
                    limit=limit, per_endpoint=per_endpoint, per_merchant=per_merchant,
                    skip_locked=not db.is_sqlite)
            return [d.event_id for d in taken.deliveries]
        finally:
            await db.close()
    return asyncio.run(run())


def test_a_resent_old_event_waits_behind_what_was_due_before_it(database_url: str) -> None:
    old, m = NOW - timedelta(days=2), "mer_a"
    plan = [(m, "we_a", "evt_new_1", NOW - timedelta(seconds=30), NOW - timedelta(seconds=30)),
            (m, "we_b", "evt_new_2", NOW - timedelta(seconds=20), NOW - timedelta(seconds=20)),
            # made two days ago, resent just now: due now, so last in line
            (m, "we_c", "evt_old", old, NOW)]
    assert _claim(database_url, plan, limit=2) == ["evt_new_1", "evt_new_2"]


def test_no_endpoint_or_merchant_takes_more_than_its_share(database_url: str) -> None:
    due = NOW - timedelta(seconds=60)
    # mer_big has ten deliveries waiting on one endpoint and four on another, all due before
    # mer_small's two; mer_small still gets its turn, and no endpoint more than two at once.
    plan = [("mer_big", "we_big", f"evt_big_{n:02}", due, due + timedelta(seconds=n))
            for n in range(10)]
    plan += [("mer_big", "we_big2", f"evt_big2_{n}", due, due + timedelta(seconds=10 + n))
             for n in range(4)]
    plan += [("mer_small", "we_small", f"evt_small_{n}", due, due + timedelta(seconds=30 + n))
             for n in range(2)]
    taken = _claim(database_url, plan, limit=8, per_endpoint=2, per_merchant=3)
    assert sorted(taken) == ["evt_big2_0", "evt_big_00", "evt_big_01", "evt_small_0",
                             "evt_small_1"]
    # merchants take turns: the small merchant's first is second in line, not last
    assert taken.index("evt_small_0") == 1


def test_an_event_is_resent_a_few_times_at_most(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(webhook_resend_max=3, **FAST_RETRIES)
    pay(server)
    pending = "SELECT count(*) FROM deliveries WHERE status = 'pending'"
    with clients(server) as (api, _):
        event_id = wait_for(lambda: api.get("/api/v1/events").json()["data"],
                            what="an event")[0]["id"]
        for _ in range(3):
            wait_for(lambda: query(server.settings.db_url, pending)[0][0] == 0,
                     what="the delivery to be done")
            assert api.post(f"/api/v1/events/{event_id}/resend").status_code == 202
        wait_for(lambda: query(server.settings.db_url, pending)[0][0] == 0,
                 what="the delivery to be done")
        refused = api.post(f"/api/v1/events/{event_id}/resend")
    assert refused.status_code == 409, refused.text
    assert "resent 3 times" in refused.json()["detail"]
