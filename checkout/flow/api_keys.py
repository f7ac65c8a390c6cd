"""A merchant's API keys: made (shown once, kept as a hash), rolled with an overlap, revoked,
and when each was last used.

A roll replaces one key: the new key works at once and the old one until the overlap ends, so
the merchant can deploy the new key with no request refused. A revoked key stops at once.
`last_used_at` is written at most once a minute per key, so a busy integration does not turn
every request into a write.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from checkout.domain.api_keys import hash_key
from checkout.errors import Conflict, NotFound
from checkout.flow.context import utcnow
from checkout.flow.ids import new_id
from checkout.settings import Settings
from checkout.store import repo
from checkout.store.db import Conn, Database

USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    merchant_id: str
    key_id: str
    api_key: str  # shown once


def new_key(settings: Settings) -> str:
    return f"sk_{'test' if settings.sandbox else 'live'}_{secrets.token_urlsafe(32)}"


async def issue(conn: Conn, settings: Settings, merchant_id: str,
                now: datetime) -> NewKey:
    """A new key of the merchant, in the caller's transaction: only its hash is stored."""
    key_id, key = new_id("key"), new_key(settings)
    await repo.add_key(conn, key_id=key_id, merchant_id=merchant_id, key_hash=hash_key(key),
                       hint=key[-4:], now=now)
    return NewKey(merchant_id, key_id, key)


async def create(db: Database, settings: Settings, merchant_id: str) -> NewKey:
    """One more key; the others keep working."""
    async with db.transaction() as conn:
        if await repo.merchant_by_id(conn, merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}")
        return await issue(conn, settings, merchant_id, utcnow())


async def roll(db: Database, settings: Settings, merchant_id: str, overlap: timedelta,
               key_id: str | None = None) -> NewKey:
    """A new key now; `key_id` (or, with none named, every other key) stops after
    `overlap`. A key already due to stop sooner keeps its earlier end."""
    now = utcnow()
    async with db.transaction() as conn:
        if await repo.merchant_by_id(conn, merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}")
        if key_id is not None:
            old = await repo.key_of(conn, merchant_id, key_id)
            if old is None:
                raise NotFound("no such API key")
            if old.expires_at is not None and old.expires_at <= now:
                raise Conflict("this key has stopped already: make a new one instead")
        made = await issue(conn, settings, merchant_id, now)
        if key_id is None:
            await repo.expire_keys(conn, merchant_id, except_id=made.key_id, at=now + overlap)
        else:
            await repo.set_key_expiry(conn, key_id, now + overlap)
    return made


async def revoke(db: Database, merchant_id: str, key_id: str) -> None:
    """The key stops now."""
    async with db.transaction() as conn:
        if await repo.key_of(conn, merchant_id, key_id) is None:
            raise NotFound("no such API key")
        await repo.set_key_expiry(conn, key_id, utcnow())


async def note_use(db: Database, key_id: str, last_used_at: datetime | None,
                   now: datetime) -> None:
    """Record that the key was used now, if it was not recorded within the last minute."""
    if last_used_at is not None and now - last_used_at < USE_RESOLUTION:
        return
    async with db.transaction() as conn:
        await repo.key_used(conn, key_id, now, not_since=now - USE_RESOLUTION)
