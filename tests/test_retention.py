"""Retention: applied acquirer webhooks, idempotency keys and finished deliveries are deleted
once older than their settings; what is still owed (an unapplied webhook, a pending delivery)
is kept however old, and so is everything younger."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from checkout.flow.context import FlowContext
from checkout.flow.retention import purge
from checkout.flow.versions import VersionCache
from checkout.settings import Settings
from checkout.store.db import Database
from checkout.store.migrate import upgrade
from checkout.store.tables import (
    acquirer_events,
    deliveries,
    events,
    idempotency_keys,
    merchants,
    webhook_endpoints,
)
from tests.buyer import clients, execute, new_payment, query, wait_for
from tests.server import LiveServer

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _seed(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(insert(merchants).values(
            id="mer_r", name="r", return_origins="[]", embed_origins="[]", acquirer="bank131",
            created_at=NOW))
        await conn.execute(insert(webhook_endpoints).values(
            id="we_r", merchant_id="mer_r", url="http://127.0.0.1:9/", secret="s",  # noqa: S106
            created_at=NOW))
        for age_days, name in ((100, "old"), (1, "young")):
            at = NOW - timedelta(days=age_days)
            for applied in (True, False):
                await conn.execute(insert(acquirer_events).values(
                    acquirer="bank131", dedup_key=f"{name}:{applied}", acquirer_ref="ps_1",
                    event_type="payment_finished", body="{}", received_at=at,
                    applied_at=at if applied else None))
            await conn.execute(insert(idempotency_keys).values(
                merchant_id="mer_r", key=f"{name}-key", request_hash="h", status_code=201,
                response_body="{}",
                created_at=at if name == "old" else NOW - timedelta(hours=1)))
            await conn.execute(insert(events).values(
                id=f"evt_{name}", merchant_id="mer_r", type="payment.succeeded", sequence=1,
                body="{}", created_at=at))
            for status in ("succeeded", "failed", "pending"):
                await conn.execute(insert(deliveries).values(
                    event_id=f"evt_{name}", endpoint_id="we_r", status=status, attempts=1,
                    created_at=at))


def test_old_finished_rows_go_and_owed_or_young_ones_stay(database_url: str) -> None:
    upgrade(database_url)
    settings = replace(Settings(), acquirer_events_retention_days=90,
                       idempotency_keys_retention_hours=24, deliveries_retention_days=30)

    async def run() -> tuple[dict[str, int], dict[str, int]]:
        db = Database(database_url)
        try:
            await _seed(db)
            ctx = FlowContext(db=db, settings=settings, acquirers={},
                              versions=VersionCache(authoritative=True),
                              checkout_url=lambda p: "", now=lambda: NOW)
            deleted = await purge(ctx)
            again = await purge(ctx)
            assert set(again.values()) == {0}  # a second pass finds nothing more
            async with db.reader() as conn:
                left = {t.name: int((await conn.execute(
                    select(func.count()).select_from(t))).scalar_one())
                    for t in (acquirer_events, idempotency_keys, deliveries)}
            return deleted, left
        finally:
            await db.close()
    deleted, left = asyncio.run(run())
    # acquirer events: the old applied one; keys: the old one (24 h); deliveries: the old
    # succeeded and failed ones (30 days), never the pending one
    assert deleted == {"acquirer_events": 1, "idempotency_keys": 1, "deliveries": 2}
    assert left == {"acquirer_events": 3, "idempotency_keys": 1, "deliveries": 4}


def test_zero_keeps_for_ever(database_url: str) -> None:
    upgrade(database_url)
    settings = replace(Settings(), acquirer_events_retention_days=0,
                       idempotency_keys_retention_hours=0, deliveries_retention_days=0)

    async def run() -> dict[str, int]:
        db = Database(database_url)
        try:
            await _seed(db)
            return await purge(FlowContext(db=db, settings=settings, acquirers={},
                                           versions=VersionCache(authoritative=True),
                                           checkout_url=lambda p: "", now=lambda: NOW))
        finally:
            await db.close()
    assert asyncio.run(run()) == {}


def test_a_running_server_forgets_an_idempotency_key_after_its_retention(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(idempotency_keys_retention_hours=1.0, retention_interval_seconds=0.5)
    with clients(server) as (api, _):
        api.headers["Idempotency-Key"] = "order-1"
        first = new_payment(api, server.url)
        assert new_payment(api, server.url)["id"] == first["id"]  # kept: the same answer
        execute(server.settings.db_url, "UPDATE idempotency_keys SET created_at = :t",
                t=(datetime.now(UTC) - timedelta(hours=2)).replace(tzinfo=None))
        wait_for(lambda: not query(server.settings.db_url, "SELECT 1 FROM idempotency_keys"),
                 timeout=10, what="the retention job")
