"""Deleting what is kept only for a while: applied acquirer webhooks, idempotency keys and
finished merchant-webhook deliveries (with their tries). Each call deletes one bounded batch,
oldest first, so no single statement holds a lock for long however much has piled up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, select, tuple_

from checkout.store.db import Conn
from checkout.store.tables import (
    acquirer_events,
    console_sessions,
    deliveries,
    delivery_tries,
    idempotency_keys,
)


async def applied_acquirer_events(conn: Conn, before: datetime, limit: int) -> int:
    """Only applied ones: an unapplied event is work the reconciler still owes."""
    ids = (select(acquirer_events.c.id)
           .where(and_(acquirer_events.c.applied_at.is_not(None),
                       acquirer_events.c.received_at < before))
           .order_by(acquirer_events.c.received_at).limit(limit))
    done = await conn.execute(delete(acquirer_events).where(acquirer_events.c.id.in_(ids)))
    return int(done.rowcount or 0)


async def idempotency(conn: Conn, before: datetime, limit: int) -> int:
    keys = (select(idempotency_keys.c.merchant_id, idempotency_keys.c.key)
            .where(idempotency_keys.c.created_at < before)
            .order_by(idempotency_keys.c.created_at).limit(limit))
    done = await conn.execute(delete(idempotency_keys).where(
        tuple_(idempotency_keys.c.merchant_id, idempotency_keys.c.key).in_(keys)))
    return int(done.rowcount or 0)


async def finished_deliveries(conn: Conn, before: datetime, limit: int) -> int:
    """Delivered or given up; a pending delivery is never deleted, however old."""
    ids = [r.id for r in await conn.execute(
        select(deliveries.c.id)
        .where(and_(deliveries.c.status != "pending", deliveries.c.created_at < before))
        .order_by(deliveries.c.created_at).limit(limit))]
    if not ids:
        return 0
    await conn.execute(delete(delivery_tries).where(delivery_tries.c.delivery_id.in_(ids)))
    done = await conn.execute(delete(deliveries).where(deliveries.c.id.in_(ids)))
    return int(done.rowcount or 0)


async def idle_console_sessions(conn: Conn, before: datetime, limit: int) -> int:
    """Sessions unused since `before` no longer work (their idle expiry): their rows go."""
    ids = (select(console_sessions.c.id_hash).where(console_sessions.c.seen_at < before)
           .order_by(console_sessions.c.seen_at).limit(limit))
    done = await conn.execute(delete(console_sessions).where(
        console_sessions.c.id_hash.in_(ids)))
    return int(done.rowcount or 0)
