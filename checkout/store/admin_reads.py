"""Reads for the operator's admin view: payments with everything about them, and deliveries.

Read-only by construction: nothing here writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from checkout.store.paging import older_than
from checkout.store.tables import (
    acquirer_events,
    attempts,
    deliveries,
    events,
    payments,
    refunds,
    webhook_endpoints,
)

PAGE = 50


async def payments_page(conn: AsyncConnection, *, status: str = "", merchant_id: str = "",
                        search: str = "", before: tuple[datetime, str] | None = None
                        ) -> list[Any]:
    q = select(payments.c.id, payments.c.merchant_id, payments.c.status, payments.c.amount,
               payments.c.currency, payments.c.captured_amount, payments.c.refunded_amount,
               payments.c.acquirer, payments.c.reference, payments.c.created_at,
               payments.c.last_error_code)
    if status:
        q = q.where(payments.c.status == status)
    if merchant_id:
        q = q.where(payments.c.merchant_id == merchant_id)
    if search:
        q = q.where(or_(payments.c.id == search, payments.c.reference == search))
    if before is not None:
        q = q.where(older_than(payments, before))
    rows = await conn.execute(q.order_by(payments.c.created_at.desc(), payments.c.id.desc())
                              .limit(PAGE))
    return list(rows)


async def payment_story(conn: AsyncConnection, payment_id: str) -> dict[str, Any] | None:
    payment = (await conn.execute(select(payments).where(payments.c.id == payment_id))).first()
    if payment is None:
        return None
    tries = list(await conn.execute(select(attempts).where(attempts.c.payment_id == payment_id)
                                    .order_by(attempts.c.created_at)))
    refs = [a.acquirer_ref for a in tries if a.acquirer_ref]
    news = list(await conn.execute(
        select(acquirer_events.c.acquirer, acquirer_events.c.event_type,
               acquirer_events.c.received_at, acquirer_events.c.applied_at,
               acquirer_events.c.outcome)
        .where(acquirer_events.c.acquirer_ref.in_(refs))
        .order_by(acquirer_events.c.received_at))) if refs else []
    money_back = list(await conn.execute(select(refunds).where(
        refunds.c.payment_id == payment_id).order_by(refunds.c.created_at)))
    told = list(await conn.execute(
        select(events.c.id, events.c.type, events.c.created_at, deliveries.c.status,
               deliveries.c.attempts, deliveries.c.last_status_code, deliveries.c.last_error,
               deliveries.c.delivered_at, deliveries.c.next_attempt_at,
               webhook_endpoints.c.url)
        .outerjoin(deliveries, deliveries.c.event_id == events.c.id)
        .outerjoin(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id)
        .where(events.c.payment_id == payment_id)
        .order_by(events.c.created_at, deliveries.c.id)))
    return {"payment": payment, "attempts": tries, "acquirer_events": news,
            "refunds": money_back, "events": told}


async def deliveries_page(conn: AsyncConnection, *, status: str = "pending") -> list[Any]:
    rows = await conn.execute(
        select(deliveries.c.id, deliveries.c.status, deliveries.c.attempts,
               deliveries.c.last_status_code, deliveries.c.last_error,
               deliveries.c.next_attempt_at, deliveries.c.lease_owner, deliveries.c.created_at,
               events.c.id.label("event_id"), events.c.type, events.c.payment_id,
               webhook_endpoints.c.merchant_id, webhook_endpoints.c.url,
               webhook_endpoints.c.disabled_reason)
        .join(events, events.c.id == deliveries.c.event_id)
        .join(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id)
        .where(deliveries.c.status == status)
        .order_by(deliveries.c.created_at.desc()).limit(PAGE))
    return list(rows)
