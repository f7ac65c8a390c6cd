"""The background sweeps read a few rows among many through an index, never by walking a whole
table: what keeps an instance as cheap with a million stored payments as with a thousand
(`bench/payment_cost.py --stored`). Checked on SQLite's own query plans, over a database
with finished payments and their history stored, and its statistics gathered, as a grown one
has them (the statistics are what once made the planner walk the tables)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bench.seed import seed
from checkout.domain.states import LIVE_ATTEMPT
from checkout.store import repo, webhooks
from checkout.store.db import Conn, Database
from checkout.store.migrate import upgrade
from checkout.store.tables import LIVE_STATUSES

NOW = datetime.now(UTC)
# The tables that grow with every payment.
GROWING = {"payments", "attempts", "acquirer_events", "events", "deliveries", "delivery_tries",
           "refunds", "idempotency_keys"}
Sweep = Callable[[Conn], Awaitable[Any]]
SWEEPS: dict[str, Sweep] = {
    "deliveries in flight": lambda c: c.execute(webhooks._IN_FLIGHT, {"now": NOW}),
    "deliveries due": lambda c: c.execute(webhooks._DUE, {"now": NOW, "window": 32}),
    "news not applied": lambda c: repo.unapplied_events(c, received_before=NOW),
    "attempts to ask about": lambda c: repo.attempts_to_check(
        c, quiet_since=NOW - timedelta(seconds=15), unstarted_since=NOW,
        overdue_before=NOW - timedelta(seconds=60),
        watch_since={"bank131": NOW - timedelta(hours=1), "yookassa": NOW - timedelta(hours=2)}),
    "operations due": lambda c: repo.payments_with_pending_operation(c, before=NOW),
    "holds to release": lambda c: repo.holds_to_release(c, "tbank", authorized_before=NOW),
    "refunds pending": lambda c: repo.pending_refunds(c, before=NOW),
    "money owed": lambda c: repo.attempts_owing_money(c),
    "payments to expire": lambda c: repo.payments_to_expire(c, NOW),
}


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('grown') / 'checkout.db'}"
    upgrade(url)

    async def fill() -> None:
        db = Database(url)
        async with db.transaction() as conn:  # the merchant and endpoint the history names
            await conn.execute(text(
                "INSERT INTO merchants (id, name, return_origins, embed_origins, acquirer, "
                "created_at) VALUES ('mer_demo', 'Demo', '[]', '[]', 'bank131', :now)"),
                {"now": NOW.replace(tzinfo=None)})
            await conn.execute(text(
                "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at) "
                "VALUES ('we_demo', 'mer_demo', 'http://127.0.0.1/hook', 's', :now)"),
                {"now": NOW.replace(tzinfo=None)})
        await db.close()
        await seed(url, 3000, history=True)
    asyncio.run(fill())
    return Database(url)


CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


@pytest.mark.parametrize("name", list(SWEEPS))
def test_a_sweep_reads_through_an_index(grown: Database, name: str, tmp_path: Path) -> None:
    sent: list[str] = []  # as SQLite ran them, their values written in

    async def plans() -> list[str]:
        async with grown.reader() as conn:
            raw = conn.raw  # type: ignore[attr-defined]
            raw.set_trace_callback(sent.append)
            try:
                await SWEEPS[name](conn)
            finally:
                raw.set_trace_callback(None)
            steps = []
            for statement in sent:
                if not statement.upper().startswith(CONTROL):
                    steps += [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement)]
            return steps
    steps = asyncio.run(plans())
    assert steps, "no statement was sent"
    # Merchants' endpoints are few whatever the payments: walking them is fine.
    walks = [s for s in steps if s.startswith("SCAN") and "INDEX" not in s
             and s.split()[1] in GROWING]
    assert not walks, (name, steps)


def test_the_live_attempts_index_names_every_live_status() -> None:
    assert set(LIVE_STATUSES) == {str(s) for s in LIVE_ATTEMPT}
