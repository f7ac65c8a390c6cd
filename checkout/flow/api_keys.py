"""A merchant's API keys: made (shown once, kept as a hash), rolled with an overlap, revoked,
and when each was last used.

Each key has a scope (`domain.api_keys.Scope`: read, payments, full) and records who made it.
A console member makes, or rolls, only keys within their own powers (a key that moves money
only for a role that may), so a role that cannot refund in the console cannot refund through
a key it made either. From the console, the audit row is written with the change.

A roll replaces one key: the new key works at once and the old one until the overlap ends, so
the merchant can deploy the new key with no request refused. A revoked key stops at once.
`last_used_at` is written at most once a minute per key, so a busy integration does not turn
every request into a write.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from checkout.domain.api_keys import Scope, hash_key, may_mint
from checkout.domain.roles import Role
from checkout.errors import Conflict, Forbidden, NotFound
from checkout.flow.console import Visitor, audit_entry
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
    scope: Scope = Scope.FULL


@dataclass(frozen=True)
class Member:
    """A console member acting on keys: their role bounds the keys they make; the change is
    audited under their name, from `ip`."""

    who: Visitor
    role: Role
    ip: str

    def may_hold(self, scope: Scope) -> None:
        if not may_mint(self.role, scope):
            raise Forbidden(f"a {self.role} cannot make a key that moves money: choose a "
                            f"read or payments key, or ask an owner")


def new_key(settings: Settings) -> str:
    return f"sk_{'test' if settings.sandbox else 'live'}_{secrets.token_urlsafe(32)}"


async def issue(conn: Conn, settings: Settings, merchant_id: str, now: datetime,
                scope: Scope = Scope.FULL, by: Member | None = None) -> NewKey:
    """A new key of the merchant, in the caller's transaction: only its hash is stored."""
    key_id, key = new_id("key"), new_key(settings)
    await repo.add_key(conn, key_id=key_id, merchant_id=merchant_id, key_hash=hash_key(key),
                       hint=key[-4:], now=now, scope=scope,
                       created_by=by.who.user.id if by else None)
    return NewKey(merchant_id, key_id, key, scope)


async def _audit(conn: Conn, by: Member | None, merchant_id: str, action: str, target: str,
                 detail: dict[str, str]) -> None:
    if by is not None:
        await audit_entry(conn, user_id=by.who.user.id, email=by.who.user.email,
                          action=action, ip=by.ip, merchant_id=merchant_id, target=target,
                          detail=detail)


async def create(db: Database, settings: Settings, merchant_id: str,
                 scope: Scope = Scope.FULL, by: Member | None = None) -> NewKey:
    """One more key; the others keep working."""
    if by is not None:
        by.may_hold(scope)
    async with db.transaction() as conn:
        if await repo.merchant_by_id(conn, merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}")
        made = await issue(conn, settings, merchant_id, utcnow(), scope, by)
        await _audit(conn, by, merchant_id, "key.create", made.key_id, {"scope": scope})
    return made


async def roll(db: Database, settings: Settings, merchant_id: str, overlap: timedelta,
               key_id: str | None = None, by: Member | None = None) -> NewKey:
    """A new key now, of the rolled key's scope; `key_id` (or, with none named, every other
    key, and the new one full) stops after `overlap`. A key already due to stop sooner keeps
    its earlier end."""
    now = utcnow()
    async with db.transaction() as conn:
        if await repo.merchant_by_id(conn, merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}")
        scope = Scope.FULL
        if key_id is not None:
            old = await repo.key_of(conn, merchant_id, key_id)
            if old is None:
                raise NotFound("no such API key")
            if old.expires_at is not None and old.expires_at <= now:
                raise Conflict("this key has stopped already: make a new one instead")
            scope = Scope(old.scope)
        if by is not None:
            by.may_hold(scope)
        made = await issue(conn, settings, merchant_id, now, scope, by)
        if key_id is None:
            await repo.expire_keys(conn, merchant_id, except_id=made.key_id, at=now + overlap)
        else:
            await repo.set_key_expiry(conn, key_id, now + overlap)
            await _audit(conn, by, merchant_id, "key.roll", key_id, {
                "ends_with": old.hint, "new_key": made.key_id, "scope": scope,
                "overlap_hours": str(overlap.total_seconds() / 3600)})
    return made


async def revoke(db: Database, merchant_id: str, key_id: str, by: Member | None = None) -> None:
    """The key stops now."""
    async with db.transaction() as conn:
        found = await repo.key_of(conn, merchant_id, key_id)
        if found is None:
            raise NotFound("no such API key")
        await repo.set_key_expiry(conn, key_id, utcnow())
        await _audit(conn, by, merchant_id, "key.revoke", key_id, {"ends_with": found.hint})


async def revoke_made_by(conn: Conn, merchant_id: str, user_id: str, now: datetime) -> int:
    """Every working key `user_id` made for the merchant stops now, in the caller's
    transaction (a member removed, with their keys). Returns how many."""
    made = await repo.live_keys_made_by(conn, merchant_id, user_id, now)
    for key_id in made:
        await repo.set_key_expiry(conn, key_id, now)
    return len(made)


async def note_use(db: Database, key_id: str, last_used_at: datetime | None,
                   now: datetime) -> None:
    """Record that the key was used now, if it was not recorded within the last minute."""
    if last_used_at is not None and now - last_used_at < USE_RESOLUTION:
        return
    async with db.transaction() as conn:
        await repo.key_used(conn, key_id, now, not_since=now - USE_RESOLUTION)
