"""Fill a checkout database with stored payments, fast (straight into the tables), so that
benchmarks can compare 1k with 100k stored payments. Old, finished payments, as a live
checkout accumulates them: they must not slow down anything a buyer or merchant does now."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from checkout.store.db import Database
from checkout.store.tables import payments

STATUSES = ("succeeded", "succeeded", "succeeded", "expired", "failed", "canceled")


async def seed(database_url: str, count: int, merchant_id: str = "mer_demo") -> None:
    db = Database(database_url)
    start = datetime.now(UTC) - timedelta(days=30)
    try:
        for chunk in range(0, count, 5000):
            rows = []
            for n in range(chunk, min(count, chunk + 5000)):
                created = start + timedelta(seconds=n * 20)
                status = STATUSES[n % len(STATUSES)]
                amount = 1000 + n % 90_000
                rows.append({
                    "id": f"pay_{secrets.token_hex(12)}", "merchant_id": merchant_id,
                    "acquirer": "bank131", "status": status, "amount": amount,
                    "currency": "RUB", "description": f"Stored order {n}",
                    "reference": f"seed-{n}", "return_url": "http://127.0.0.1/shop/return",
                    "capture": True, "metadata": json.dumps({}),
                    "captured_amount": amount if status == "succeeded" else 0,
                    "refunded_amount": 0, "save_payment_method": False, "version": 3,
                    "created_at": created, "updated_at": created,
                    "expires_at": created + timedelta(hours=1)})
            async with db.transaction() as conn:
                await conn.execute(insert(payments), rows)
        async with db.transaction() as conn:
            # As a database that grew slowly would have them: the planner's statistics.
            await conn.execute(text("ANALYZE"))
    finally:
        await db.close()


def seed_sync(database_url: str, count: int) -> None:
    asyncio.run(seed(database_url, count))
