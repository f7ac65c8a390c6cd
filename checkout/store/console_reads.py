"""Reads for the merchant console: one merchant's payments, filtered, newest first; its
webhook deliveries.

Every query names the merchant: a console user sees only the merchants it belongs to, and the
web layer asks with the merchant it checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from checkout.store import webhooks
from checkout.store.db import Conn
from checkout.store.paging import older_than
from checkout.store.tables import (
    acquirer_events,
    attempts,
    deliveries,
    events,
    merchants,
    payments,
    refunds,
    webhook_endpoints,
)

PAGE = 50


@dataclass(frozen=True)
class PaymentFilter:
    status: str = ""
    acquirer: str = ""
    search: str = ""  # a payment id or the merchant's reference, exactly
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    amount_min: int | None = None  # minor units
    amount_max: int | None = None


async def payments_page(conn: Conn, merchant_id: str, f: PaymentFilter,
                        before: tuple[datetime, str] | None = None,
                        limit: int = PAGE) -> list[Any]:
    q = select(payments.c.id, payments.c.status, payments.c.amount, payments.c.currency,
               payments.c.captured_amount, payments.c.refunded_amount, payments.c.acquirer,
               payments.c.reference, payments.c.description, payments.c.created_at,
               payments.c.last_error_code, payments.c.version) \
        .where(payments.c.merchant_id == merchant_id)
    if f.status:
        q = q.where(payments.c.status == f.status)
    if f.acquirer:
        q = q.where(payments.c.acquirer == f.acquirer)
    if f.search:
        q = q.where(or_(payments.c.id == f.search, payments.c.reference == f.search))
    if f.created_from is not None:
        q = q.where(payments.c.created_at >= f.created_from)
    if f.created_to is not None:
        q = q.where(payments.c.created_at < f.created_to)
    if f.amount_min is not None:
        q = q.where(payments.c.amount >= f.amount_min)
    if f.amount_max is not None:
        q = q.where(payments.c.amount <= f.amount_max)
    if before is not None:
        q = q.where(older_than(payments, before))
    rows = await conn.execute(q.order_by(payments.c.created_at.desc(), payments.c.id.desc())
                              .limit(limit))
    return list(rows)


async def payment_story(conn: Conn, merchant_id: str, payment_id: str
                        ) -> dict[str, Any] | None:
    """Everything about one of the merchant's payments: its attempts, the acquirer's news as
    received, refunds, and each event with every delivery."""
    payment = (await conn.execute(select(payments).where(and_(
        payments.c.id == payment_id, payments.c.merchant_id == merchant_id)))).first()
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
               deliveries.c.id.label("delivery_id"), deliveries.c.attempts,
               deliveries.c.last_status_code, deliveries.c.last_error,
               deliveries.c.delivered_at, deliveries.c.next_attempt_at,
               webhook_endpoints.c.url)
        .outerjoin(deliveries, deliveries.c.event_id == events.c.id)
        .outerjoin(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id)
        .where(events.c.payment_id == payment_id)
        .order_by(events.c.created_at, deliveries.c.id)))
    delivery_ids = [e.delivery_id for e in told if e.delivery_id is not None]
    return {"payment": payment, "attempts": tries, "acquirer_events": news,
            "refunds": money_back, "events": told,
            "tries": await webhooks.tries_of(conn, delivery_ids)}


async def all_merchants(conn: Conn) -> list[Any]:
    """For operators: every merchant, by name."""
    return list(await conn.execute(select(merchants.c.id, merchants.c.name,
                                          merchants.c.acquirer,
                                          merchants.c.acquirer_account_id)
                                   .order_by(merchants.c.name, merchants.c.id)))


DELIVERY_STATUSES = ("pending", "succeeded", "failed")


async def deliveries_page(conn: Conn, merchant_id: str, *, status: str = "",
                          endpoint_id: str = "", before: int | None = None,
                          limit: int = PAGE) -> list[Any]:
    """The merchant's webhook deliveries, newest first (keyed by the delivery's id), with
    the event and the endpoint each was for."""
    q = (select(deliveries.c.id, deliveries.c.status, deliveries.c.attempts,
                deliveries.c.last_status_code, deliveries.c.last_error,
                deliveries.c.next_attempt_at, deliveries.c.delivered_at,
                deliveries.c.created_at, events.c.id.label("event_id"),
                events.c.type, events.c.payment_id, webhook_endpoints.c.url,
                webhook_endpoints.c.id.label("endpoint_id"))
         .join(events, events.c.id == deliveries.c.event_id)
         .join(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id)
         .where(events.c.merchant_id == merchant_id))
    if status:
        q = q.where(deliveries.c.status == status)
    if endpoint_id:
        q = q.where(deliveries.c.endpoint_id == endpoint_id)
    if before is not None:
        q = q.where(deliveries.c.id < before)
    return list(await conn.execute(q.order_by(deliveries.c.id.desc()).limit(limit)))
