"""One `Idempotency-Key` mechanism for every merchant POST, and what happens after a crash."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checkout.flow import cas
from checkout.flow.context import FlowContext
from checkout.flow.versions import VersionCache
from checkout.settings import Settings
from checkout.store.db import Database
from checkout.store.migrate import upgrade
from tests.buyer import clients, execute, new_payment, query
from tests.server import LiveServer

# On the demo merchant's origins whatever the server's port, so its hash is the same on both.
BODY = {"amount": 500_00, "currency": "RUB", "description": "Tea",
        "return_url": "http://127.0.0.1:9/shop/return"}


def _abandoned(server: LiveServer, key: str, owner: str) -> None:
    """A reservation as an instance leaves it when it dies mid-request."""
    execute(server.settings.db_url,
            "INSERT INTO idempotency_keys (merchant_id, key, request_hash, status_code, "
            "response_body, created_at, owner) VALUES ('mer_demo', :key, :hash, 0, '', :now, "
            ":owner)", key=key, owner=owner, now=datetime.now(UTC).replace(tzinfo=None),
            hash=_hash(server, key))


def _hash(server: LiveServer, key: str) -> str:
    """The request hash a POST of BODY to /api/v1/payments gets (by sending it once)."""
    with clients(server) as (api, _):
        assert api.post("/api/v1/payments", json=BODY,
                        headers={"Idempotency-Key": f"{key}-probe"}).status_code == 201
    rows = query(server.settings.db_url,
                 "SELECT request_hash FROM idempotency_keys WHERE key = :k", k=f"{key}-probe")
    return str(rows[0][0])


def test_a_restarted_instance_frees_the_requests_it_died_in(
        make_server: Callable[..., LiveServer]) -> None:
    first = make_server(instance="checkout-a")
    _abandoned(first, "order-7", owner="checkout-a")
    _abandoned(first, "order-8", owner="checkout-b")  # another instance's, still running
    first.stop()
    again = make_server(instance="checkout-a")  # the same instance, restarted
    with clients(again) as (api, _):
        mine = api.post("/api/v1/payments", json=BODY, headers={"Idempotency-Key": "order-7"})
        theirs = api.post("/api/v1/payments", json=BODY, headers={"Idempotency-Key": "order-8"})
    assert mine.status_code == 201, mine.text  # not 409 for the length of a lease
    assert theirs.status_code == 409 and theirs.headers["content-type"] == \
        "application/problem+json"


def test_an_operation_replays_under_its_key_and_refuses_another_request(
        server: LiveServer) -> None:
    with clients(server) as (api, _):
        payment = new_payment(api, server.url, capture=False)
        path = f"/api/v1/payments/{payment['id']}/cancel"
        first = api.post(path, headers={"Idempotency-Key": "cancel-1"})
        second = api.post(path, headers={"Idempotency-Key": "cancel-1"})
        other = api.post(f"/api/v1/payments/{payment['id']}/capture",
                         headers={"Idempotency-Key": "cancel-1"})
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # the answer as first given, byte for byte
    assert other.status_code == 422, other.text  # another request under the same key
    assert other.json()["type"].endswith("/idempotency-key-reused")


def test_a_compare_and_set_that_keeps_missing_says_so(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'checkout.db'}"
    upgrade(url)
    tries = []

    async def run() -> None:
        db = Database(url)
        ctx = FlowContext(db=db, settings=Settings(database_url=url), acquirers={},
                          versions=VersionCache(authoritative=True), checkout_url=str)

        async def step(tx: cas.Versioned) -> None:
            tries.append(tx.now)
            raise cas.Moved  # someone else always got there first
        try:
            with pytest.raises(cas.RanOut) as refused:
                await cas.write(ctx, "finish a refund", step, payment_id="pay_x")
        finally:
            await db.close()
        assert refused.value.status == 409
        assert db.counts.redone == cas.RETRIES  # each miss counted for /metrics
    with caplog.at_level(logging.WARNING, logger="checkout.flow"):
        asyncio.run(run())
    assert len(tries) == cas.RETRIES
    [record] = [r for r in caplog.records if "finish a refund" in r.getMessage()]
    assert "left for the reconciler" in record.getMessage()
    assert record.__dict__["payment_id"] == "pay_x"


def test_a_passing_conflict_is_not_kept_as_the_keys_answer(tmp_path: Path) -> None:
    """Rows that kept changing (cas.RanOut) are a 409 now, but the retry under the same key
    runs again: kept, that 409 would be replayed to a merchant retrying for ever (a survival
    run, seed 1333, saw a capture refused so until its deadline)."""
    from checkout.flow.idempotency import Once, run_once

    url = f"sqlite+aiosqlite:///{tmp_path / 'checkout.db'}"
    upgrade(url)
    calls: list[int] = []

    async def run() -> tuple[int, int, int]:
        db = Database(url)
        ctx = FlowContext(db=db, settings=Settings(database_url=url), acquirers={},
                          versions=VersionCache(authoritative=True), checkout_url=str)
        async with db.transaction() as conn:
            from sqlalchemy import text
            await conn.execute(text(
                "INSERT INTO merchants (id, name, return_origins, embed_origins, acquirer, "
                "created_at) VALUES ('mer_x', 'x', '[]', '[]', 'bank131', CURRENT_TIMESTAMP)"))

        async def capture(claim: object) -> tuple[int, dict[str, bool]]:
            calls.append(1)
            if len(calls) == 1:
                raise cas.RanOut("could not record a capture: the payment kept changing")
            return 200, {"captured": True}
        once = Once(merchant_id="mer_x", key="cap-1", request_hash="h", path="/x")
        try:
            with pytest.raises(cas.RanOut) as first:
                await run_once(ctx, once, capture)
            second = await run_once(ctx, once, capture)
            third = await run_once(ctx, once, capture)  # now kept: replayed, not run
        finally:
            await db.close()
        return first.value.status, second.status, third.status
    assert asyncio.run(run()) == (409, 200, 200)
    assert len(calls) == 2
