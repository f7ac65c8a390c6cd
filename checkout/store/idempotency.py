"""Merchants' idempotency keys: reserved while a request runs, then its answer, kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, delete, select, update

from checkout.store.db import Conn, insert_if_new
from checkout.store.records import IdempotencyRecord
from checkout.store.tables import idempotency_keys as keys


def _this(merchant_id: str, key: str):  # type: ignore[no-untyped-def]
    return and_(keys.c.merchant_id == merchant_id, keys.c.key == key)


# Every request with a key settles it: built once.
_SETTLE = update(keys).where(and_(keys.c.merchant_id == bindparam("k_merchant"),
                                  keys.c.key == bindparam("k_key")))
_SETTLE_RUNNING = _SETTLE.where(keys.c.status_code == 0)


async def record(conn: Conn, merchant_id: str, key: str) -> IdempotencyRecord | None:
    row = (await conn.execute(select(keys).where(_this(merchant_id, key)))).first()
    return IdempotencyRecord.from_row(row) if row else None


async def reserve(conn: Conn, *, merchant_id: str, key: str, request_hash: str,
                  owner: str, now: datetime) -> bool:
    """Claim a key for a request in progress (status 0). False if the key exists already."""
    return await insert_if_new(conn, keys, {
        "merchant_id": merchant_id, "key": key, "request_hash": request_hash,
        "status_code": 0, "response_body": "", "created_at": now, "owner": owner}) is not None


async def take_over(conn: Conn, *, merchant_id: str, key: str, seen: datetime,
                    owner: str, now: datetime) -> bool:
    """Take a reservation whose request died with its process; False if another took it."""
    done = await conn.execute(update(keys).where(and_(
        _this(merchant_id, key), keys.c.status_code == 0, keys.c.created_at == seen))
        .values(owner=owner, created_at=now))
    return done.rowcount == 1


async def settle(conn: Conn, *, merchant_id: str, key: str, status_code: int,
                 body: str, only_running: bool = False) -> bool:
    """Store the answer; with `only_running`, only over a reservation (no answer yet)."""
    done = await conn.execute(_SETTLE_RUNNING if only_running else _SETTLE, {
        "k_merchant": merchant_id, "k_key": key, "status_code": status_code,
        "response_body": body, "owner": None})
    return done.rowcount == 1


async def release(conn: Conn, *, merchant_id: str, key: str) -> None:
    """Forget a reservation whose request ended without an answer worth keeping."""
    await conn.execute(delete(keys).where(and_(_this(merchant_id, key),
                                               keys.c.status_code == 0)))


async def release_all_of(conn: Conn, *, owner: str) -> None:
    """A restarted instance: the requests it was running died with it."""
    await conn.execute(delete(keys).where(and_(keys.c.owner == owner,
                                               keys.c.status_code == 0)))
