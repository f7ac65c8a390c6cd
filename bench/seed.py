"""Fill a checkout database with stored payments, fast (straight into the tables), so that
benchmarks can compare 1k with 100k or 1M stored payments. Old, finished payments, as a live
checkout accumulates them: they must not slow down anything a buyer or merchant does now.

With `history`, each payment also has what its life left behind: its attempt, the acquirer's
webhooks about it (applied), and, when paid, the merchant's event and its delivery. The
background sweeps (the reconciler, the delivery queue, retention) look at those tables."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from checkout.store.db import Database
from checkout.store.tables import acquirer_events, attempts, deliveries, events, payments

STATUSES = ("succeeded", "succeeded", "succeeded", "expired", "failed", "canceled")
ATTEMPT_STATUS = {"succeeded": "succeeded", "expired": "expired", "failed": "failed",
                  "canceled": "canceled"}
BATCH = 5000


async def seed(database_url: str, count: int, merchant_id: str = "mer_demo",
               history: bool = False, endpoint_id: str = "we_demo") -> None:
    db = Database(database_url)
    start = datetime.now(UTC) - timedelta(days=30)
    try:
        for chunk in range(0, count, BATCH):
            rows: dict[str, list[dict[str, Any]]] = {
                "payments": [], "attempts": [], "acquirer_events": [], "events": [],
                "deliveries": []}
            for n in range(chunk, min(count, chunk + BATCH)):
                created = start + timedelta(seconds=n * 20 % (29 * 24 * 3600))
                status = STATUSES[n % len(STATUSES)]
                amount = 1000 + n % 90_000
                payment_id = f"pay_{secrets.token_hex(12)}"
                rows["payments"].append({
                    "id": payment_id, "merchant_id": merchant_id,
                    "acquirer": "bank131", "status": status, "amount": amount,
                    "currency": "RUB", "description": f"Stored order {n}",
                    "reference": f"seed-{n}", "return_url": "http://127.0.0.1/shop/return",
                    "capture": True, "metadata": json.dumps({}),
                    "captured_amount": amount if status == "succeeded" else 0,
                    "refunded_amount": 0, "save_payment_method": False, "version": 3,
                    "created_at": created, "updated_at": created,
                    "expires_at": created + timedelta(hours=1)})
                if history:
                    _history(rows, n, payment_id, status, created, merchant_id, endpoint_id)
            async with db.transaction() as conn:
                for table in (payments, attempts, acquirer_events, events, deliveries):
                    if rows[table.name]:
                        await conn.execute(insert(table), rows[table.name])
        async with db.transaction() as conn:
            # As a database that grew slowly would have them: the planner's statistics.
            await conn.execute(text("ANALYZE"))
    finally:
        await db.close()


def _history(rows: dict[str, list[dict[str, Any]]], n: int, payment_id: str, status: str,
             created: datetime, merchant_id: str, endpoint_id: str) -> None:
    attempt_id, ref = f"att_{secrets.token_hex(12)}", f"ps_{secrets.token_hex(10)}"
    ended = created + timedelta(seconds=30)
    rows["attempts"].append({
        "id": attempt_id, "payment_id": payment_id, "acquirer": "bank131",
        "acquirer_ref": ref, "status": ATTEMPT_STATUS[status], "platform_type": "mobile",
        "platform_os": "ios", "platform_browser": "safari", "version": 4,
        "created_at": created, "updated_at": ended, "checked_at": ended})
    for event_type in ("ready_to_confirm", "action_required", "payment_finished"):
        rows["acquirer_events"].append({
            "acquirer": "bank131", "dedup_key": f"{event_type}:{ref}:{n}",
            "acquirer_ref": ref, "event_type": event_type, "body": "{}",
            "received_at": ended, "applied_at": ended, "outcome": "applied"})
    if status == "succeeded":
        event_id = f"evt_{secrets.token_hex(12)}"
        rows["events"].append({
            "id": event_id, "merchant_id": merchant_id, "type": "payment.succeeded",
            "payment_id": payment_id, "sequence": 3, "body": "{}", "created_at": ended})
        rows["deliveries"].append({
            "event_id": event_id, "endpoint_id": endpoint_id, "status": "succeeded",
            "attempts": 1, "created_at": ended, "delivered_at": ended})


def seed_sync(database_url: str, count: int, history: bool = False) -> None:
    asyncio.run(seed(database_url, count, history=history))
