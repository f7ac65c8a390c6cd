"""Queries of payment links, and of the payments made at them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update

from checkout.domain.states import PaymentStatus
from checkout.store.db import Conn
from checkout.store.tables import payment_links, payments

# A payment of a link that may still take the buyer's money.
LIVE = (str(PaymentStatus.PENDING), str(PaymentStatus.WAITING_FOR_CAPTURE))
PAID = (str(PaymentStatus.SUCCEEDED), str(PaymentStatus.WAITING_FOR_CAPTURE))


@dataclass(frozen=True)
class Link:
    id: str
    merchant_id: str
    slug: str
    amount: int | None  # None: the buyer enters it, from min_amount to max_amount
    min_amount: int | None
    max_amount: int | None
    currency: str
    description: str
    reusable: bool
    expires_at: datetime | None
    deactivated_at: datetime | None
    created_at: datetime
    receipt: str | None = None  # JSON: the tax profile (`domain.receipts.parse_profile`)

    @classmethod
    def from_row(cls, row: Any) -> Link:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Totals:
    payments: int  # made at the link, whatever became of them
    succeeded: int  # paid (held ones included)
    paid_amount: int  # what they took, in minor units, refunds not subtracted


async def insert_link(conn: Conn, values: dict[str, Any]) -> None:
    await conn.execute(insert(payment_links).values(**values))


async def link(conn: Conn, link_id: str, merchant_id: str | None = None
               ) -> Link | None:
    query = select(payment_links).where(payment_links.c.id == link_id)
    if merchant_id is not None:
        query = query.where(payment_links.c.merchant_id == merchant_id)
    row = (await conn.execute(query)).first()
    return Link.from_row(row) if row else None


async def link_by_slug(conn: Conn, slug: str) -> Link | None:
    row = (await conn.execute(select(payment_links)
                              .where(payment_links.c.slug == slug))).first()
    return Link.from_row(row) if row else None


async def links_page(conn: Conn, merchant_id: str, *, limit: int,
                     before: tuple[datetime, str] | None = None) -> list[Link]:
    """Newest first, from just after `before` (created_at, id)."""
    query = select(payment_links).where(payment_links.c.merchant_id == merchant_id)
    if before is not None:
        at, link_id = before
        query = query.where(or_(payment_links.c.created_at < at,
                                and_(payment_links.c.created_at == at,
                                     payment_links.c.id < link_id)))
    rows = await conn.execute(query.order_by(payment_links.c.created_at.desc(),
                                             payment_links.c.id.desc()).limit(limit))
    return [Link.from_row(r) for r in rows]


async def deactivate(conn: Conn, link_id: str, now: datetime) -> None:
    await conn.execute(update(payment_links).where(payment_links.c.id == link_id,
                                                   payment_links.c.deactivated_at.is_(None))
                       .values(deactivated_at=now))


async def totals(conn: Conn, link_ids: list[str]) -> dict[str, Totals]:
    """Per link: its payments, how many were paid, and what they took."""
    if not link_ids:
        return {}
    paid = payments.c.status.in_(PAID)
    rows = await conn.execute(
        select(payments.c.payment_link_id, func.count(),
               func.sum(case((paid, 1), else_=0)),
               func.sum(case((paid, func.coalesce(func.nullif(payments.c.captured_amount, 0),
                                                   payments.c.amount)), else_=0)))
        .where(payments.c.payment_link_id.in_(link_ids))
        .group_by(payments.c.payment_link_id))
    found = {r[0]: Totals(int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows}
    return {i: found.get(i, Totals(0, 0, 0)) for i in link_ids}


async def payments_of(conn: Conn, link_id: str, limit: int) -> list[Any]:
    """The newest payments made at a link."""
    rows = await conn.execute(select(payments).where(payments.c.payment_link_id == link_id)
                              .order_by(payments.c.created_at.desc(), payments.c.id.desc())
                              .limit(limit))
    return list(rows)


async def payment_in(conn: Conn, link_id: str, statuses: tuple[str, ...]
                     ) -> str | None:
    """A payment of the link in one of `statuses` (the newest), if any."""
    return (await conn.execute(
        select(payments.c.id).where(payments.c.payment_link_id == link_id,
                                    payments.c.status.in_(statuses))
        .order_by(payments.c.created_at.desc()).limit(1))).scalar()
