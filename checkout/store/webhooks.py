"""Queries of the merchant-webhook outbox: endpoints, events, deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update

from checkout.store.db import Conn
from checkout.store.paging import older_than
from checkout.store.tables import (
    DELIVERY_PENDING,
    deliveries,
    delivery_tries,
    events,
    webhook_endpoints,
)


@dataclass(frozen=True)
class DueDelivery:
    id: int
    attempts: int
    event_id: str
    event_created_at: datetime
    body: str
    endpoint_id: str
    merchant_id: str
    url: str
    secret: str  # sealed
    previous_secret: str | None  # sealed; signs too until previous_secret_until
    previous_secret_until: datetime | None
    failing_since: datetime | None


@dataclass(frozen=True)
class Claimed:
    """Deliveries taken, and whether due ones were left for want of a free place."""

    deliveries: list[DueDelivery]
    more: bool


@dataclass(frozen=True)
class Endpoint:
    """A merchant's webhook endpoint, without its secrets."""

    id: str
    merchant_id: str
    url: str
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_until: datetime | None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    @classmethod
    def from_row(cls, row: Any) -> Endpoint:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


_ENDPOINT_COLUMNS = [getattr(webhook_endpoints.c, name) for name in Endpoint.__dataclass_fields__]

# Deliveries still to send: the condition of their partial index, word for word.
PENDING = text(f"deliveries.{DELIVERY_PENDING}")

# What each payment's event costs, built once (building a statement costs more than running it).
_ACTIVE_ENDPOINTS = select(webhook_endpoints.c.id).where(and_(
    webhook_endpoints.c.merchant_id == bindparam("merchant_id"),
    webhook_endpoints.c.disabled_at.is_(None))).order_by(webhook_endpoints.c.id)
_INSERT_EVENT = insert(events)
_INSERT_DELIVERY = insert(deliveries)
_INSERT_TRY = insert(delivery_tries)
_IN_FLIGHT = select(deliveries.c.endpoint_id, webhook_endpoints.c.merchant_id,
                    func.count().label("n")) \
    .join(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id) \
    .where(and_(PENDING, deliveries.c.lease_until >= bindparam("now"))) \
    .group_by(deliveries.c.endpoint_id, webhook_endpoints.c.merchant_id)
_DUE = (
    select(deliveries.c.id, deliveries.c.attempts, events.c.id.label("event_id"),
           events.c.created_at.label("event_created_at"), events.c.body,
           webhook_endpoints.c.id.label("endpoint_id"), webhook_endpoints.c.merchant_id,
           webhook_endpoints.c.url, webhook_endpoints.c.secret,
           webhook_endpoints.c.previous_secret, webhook_endpoints.c.previous_secret_until,
           webhook_endpoints.c.failing_since)
    .join(events, events.c.id == deliveries.c.event_id)
    .join(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id)
    .where(and_(PENDING,
                deliveries.c.next_attempt_at <= bindparam("now"),
                or_(deliveries.c.lease_until.is_(None),
                    deliveries.c.lease_until < bindparam("now")),
                webhook_endpoints.c.disabled_at.is_(None)))
    .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
    .limit(bindparam("window"))
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True, of=deliveries)
# The SET clause comes from the parameters given (lease_until, lease_owner).
_LEASE = update(deliveries).where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
_FINISH = update(deliveries).where(deliveries.c.id == bindparam("delivery_id"))
_FINISH_PENDING = _FINISH.where(deliveries.c.status == "pending")


async def upsert_endpoint(conn: Conn, *, id: str, merchant_id: str, url: str,
                          secret: str, now: datetime) -> None:
    done = await conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == id)
                              .values(url=url, secret=secret))
    if done.rowcount == 0:
        await conn.execute(insert(webhook_endpoints).values(
            id=id, merchant_id=merchant_id, url=url, secret=secret, created_at=now))


async def endpoint_secret(conn: Conn, endpoint_id: str) -> str | None:
    return (await conn.execute(select(webhook_endpoints.c.secret).where(
        webhook_endpoints.c.id == endpoint_id))).scalar()


async def active_endpoint_ids(conn: Conn, merchant_id: str,
                              only: str | None = None) -> list[str]:
    if only is None:
        rows = await conn.execute(_ACTIVE_ENDPOINTS, {"merchant_id": merchant_id})
    else:
        rows = await conn.execute(_ACTIVE_ENDPOINTS.where(webhook_endpoints.c.id == only),
                                  {"merchant_id": merchant_id})
    return [r.id for r in rows]


async def endpoint(conn: Conn, merchant_id: str, endpoint_id: str
                   ) -> Endpoint | None:
    """One of the merchant's endpoints (not a deleted one)."""
    row = (await conn.execute(select(*_ENDPOINT_COLUMNS).where(and_(
        webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.merchant_id == merchant_id,
        webhook_endpoints.c.deleted_at.is_(None))))).first()
    return Endpoint.from_row(row) if row else None


async def endpoints(conn: Conn, merchant_id: str) -> list[Endpoint]:
    """The merchant's endpoints, oldest first (not the deleted ones)."""
    rows = await conn.execute(select(*_ENDPOINT_COLUMNS).where(and_(
        webhook_endpoints.c.merchant_id == merchant_id,
        webhook_endpoints.c.deleted_at.is_(None)))
        .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id))
    return [Endpoint.from_row(r) for r in rows]


async def count_endpoints(conn: Conn, merchant_id: str) -> int:
    return int((await conn.execute(select(func.count()).select_from(webhook_endpoints).where(
        and_(webhook_endpoints.c.merchant_id == merchant_id,
             webhook_endpoints.c.deleted_at.is_(None))))).scalar_one())


async def change_endpoint(conn: Conn, endpoint_id: str, **values: Any) -> None:
    await conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
                       .values(**values))




async def insert_event(conn: Conn, values: dict[str, Any]) -> None:
    await conn.execute(_INSERT_EVENT, values)


async def insert_delivery(conn: Conn, *, event_id: str, endpoint_id: str,
                          now: datetime) -> None:
    await conn.execute(_INSERT_DELIVERY, {
        "event_id": event_id, "endpoint_id": endpoint_id, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now})


async def claim_due(conn: Conn, *, now: datetime, lease_until: datetime,
                    owner: str, limit: int, per_endpoint: int, per_merchant: int,
                    skip_locked: bool) -> Claimed:
    """Take up to `limit` due deliveries for this worker until `lease_until`, fairly.

    The queue is ordered by when each delivery became due, so an old event resent today waits
    behind what was due before it. No endpoint gets more than `per_endpoint` deliveries in
    flight and no merchant more than `per_merchant` (counted over every instance, by live
    leases), and merchants take turns: one merchant's backlog cannot fill every worker.
    A worker that dies holding some leaves them to the next worker once the lease ends.
    `more`: due deliveries were left (past `limit`, or behind a cap), so a worker that comes
    free should look again.
    """
    in_flight = await conn.execute(_IN_FLIGHT, {"now": now})
    by_endpoint: dict[str, int] = {}
    by_merchant: dict[str, int] = {}
    for row in in_flight:
        by_endpoint[row.endpoint_id] = row.n
        by_merchant[row.merchant_id] = by_merchant.get(row.merchant_id, 0) + row.n
    full_endpoints = [e for e, n in by_endpoint.items() if n >= per_endpoint]
    full_merchants = [m for m, n in by_merchant.items() if n >= per_merchant]
    q = _DUE_SKIP_LOCKED if skip_locked else _DUE
    if full_endpoints:
        q = q.where(deliveries.c.endpoint_id.not_in(full_endpoints))
    if full_merchants:
        q = q.where(webhook_endpoints.c.merchant_id.not_in(full_merchants))
    # A window larger than what is taken, so that merchants further down can take turns.
    window = [DueDelivery(**r._mapping)
              for r in await conn.execute(q, {"now": now, "window": limit * 4})]
    rows = _take_turns(window, limit, by_endpoint, by_merchant, per_endpoint, per_merchant)
    if rows:
        await conn.execute(_LEASE, {"ids": [r.id for r in rows], "lease_until": lease_until,
                                    "lease_owner": owner})
    return Claimed(rows, more=len(window) > len(rows))


def _take_turns(window: list[DueDelivery], limit: int, by_endpoint: dict[str, int],
                by_merchant: dict[str, int], per_endpoint: int,
                per_merchant: int) -> list[DueDelivery]:
    """Round-robin over merchants, each in due order, within the in-flight caps."""
    queues: dict[str, list[DueDelivery]] = {}
    for d in window:
        queues.setdefault(d.merchant_id, []).append(d)
    taken: list[DueDelivery] = []
    while len(taken) < limit and queues:
        for merchant_id in list(queues):
            queue = queues[merchant_id]
            while queue and by_endpoint.get(queue[0].endpoint_id, 0) >= per_endpoint:
                queue.pop(0)
            if not queue or by_merchant.get(merchant_id, 0) >= per_merchant:
                del queues[merchant_id]
                continue
            d = queue.pop(0)
            taken.append(d)
            by_endpoint[d.endpoint_id] = by_endpoint.get(d.endpoint_id, 0) + 1
            by_merchant[merchant_id] = by_merchant.get(merchant_id, 0) + 1
            if len(taken) == limit:
                break
    return taken


async def release_all_of(conn: Conn, *, owner: str) -> None:
    """At start: deliveries this instance's crashed predecessor held go back to the pool."""
    await conn.execute(update(deliveries).where(and_(
        deliveries.c.lease_owner == owner, deliveries.c.status == "pending"))
        .values(lease_until=None, lease_owner=None))


async def release(conn: Conn, delivery_ids: list[int], *, owner: str) -> None:
    """Hand unfinished deliveries back to the pool now rather than when their lease ends."""
    if delivery_ids:
        await conn.execute(update(deliveries).where(and_(
            deliveries.c.id.in_(delivery_ids), deliveries.c.lease_owner == owner,
            deliveries.c.status == "pending")).values(lease_until=None, lease_owner=None))


async def finish_attempt(conn: Conn, delivery_id: int, **values: Any) -> None:
    """The try's outcome. A retry to schedule (no new status) is written only while the
    delivery is still pending: one given up meanwhile (its endpoint deleted) stays so."""
    await conn.execute(_FINISH if "status" in values else _FINISH_PENDING, {
        "delivery_id": delivery_id, "lease_until": None, "lease_owner": None, **values})


async def give_up_pending(conn: Conn, endpoint_id: str, reason: str) -> int:
    """Every delivery still queued to this endpoint ends `failed` (it will never be sent)."""
    done = await conn.execute(update(deliveries).where(and_(
        deliveries.c.endpoint_id == endpoint_id, deliveries.c.status == "pending"))
        .values(status="failed", last_error=reason[:300], next_attempt_at=None,
                lease_until=None, lease_owner=None))
    return int(done.rowcount or 0)


async def record_try(conn: Conn, delivery_id: int, *, at: datetime,
                     status_code: int | None, error: str | None, duration_ms: int) -> None:
    await conn.execute(_INSERT_TRY, {
        "delivery_id": delivery_id, "at": at, "status_code": status_code,
        "error": error[:300] if error else None, "duration_ms": duration_ms})


async def tries_of(conn: Conn, delivery_ids: list[int]) -> dict[int, list[Any]]:
    """Each delivery's tries, oldest first."""
    out: dict[int, list[Any]] = {}
    if delivery_ids:
        rows = await conn.execute(select(delivery_tries).where(
            delivery_tries.c.delivery_id.in_(delivery_ids)).order_by(delivery_tries.c.id))
        for row in rows:
            out.setdefault(row.delivery_id, []).append(row)
    return out


async def endpoint_health(conn: Conn, endpoint_id: str, *, ok: bool,
                          now: datetime) -> None:
    """`failing_since`: cleared by a success, set by the first failure after one."""
    if ok:
        await conn.execute(update(webhook_endpoints)
                           .where(webhook_endpoints.c.id == endpoint_id)
                           .values(failing_since=None))
    else:
        await conn.execute(update(webhook_endpoints).where(and_(
            webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.failing_since.is_(None)))
            .values(failing_since=now))


async def disable_endpoint(conn: Conn, endpoint_id: str, reason: str,
                           now: datetime) -> None:
    await conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
                       .values(disabled_at=now, disabled_reason=reason[:200]))


async def list_events(conn: Conn, merchant_id: str, *, limit: int,
                      before: tuple[datetime, str] | None, payment_id: str | None = None
                      ) -> list[Any]:
    q = select(events).where(events.c.merchant_id == merchant_id)
    if payment_id is not None:
        q = q.where(events.c.payment_id == payment_id)
    if before is not None:
        q = q.where(older_than(events, before))
    rows = await conn.execute(q.order_by(events.c.created_at.desc(), events.c.id.desc())
                              .limit(limit))
    return list(rows)


async def event(conn: Conn, merchant_id: str, event_id: str) -> Any:
    return (await conn.execute(select(events).where(and_(
        events.c.merchant_id == merchant_id, events.c.id == event_id)))).first()


async def deliveries_of(conn: Conn, event_ids: list[str]) -> list[Any]:
    if not event_ids:
        return []
    rows = await conn.execute(
        select(deliveries, webhook_endpoints.c.url)
        .join(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.endpoint_id)
        .where(deliveries.c.event_id.in_(event_ids)).order_by(deliveries.c.id))
    return list(rows)


async def endpoints_of(conn: Conn, merchant_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(webhook_endpoints.c.id, webhook_endpoints.c.url,
               webhook_endpoints.c.failing_since, webhook_endpoints.c.disabled_at,
               webhook_endpoints.c.disabled_reason)
        .where(webhook_endpoints.c.merchant_id == merchant_id)
        .order_by(webhook_endpoints.c.created_at))
    return [{"id": r.id, "url": r.url,
             "failing_since": r.failing_since.isoformat() if r.failing_since else None,
             "disabled": r.disabled_reason if r.disabled_at else None} for r in rows]
