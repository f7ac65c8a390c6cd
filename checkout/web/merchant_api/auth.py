"""Merchant API keys: `Authorization: Bearer <key>`, looked up by its hash."""

from __future__ import annotations

from starlette.requests import Request

from checkout.domain.api_keys import hash_key
from checkout.errors import Unauthorized
from checkout.flow import api_keys
from checkout.store import repo
from checkout.store.db import Database
from checkout.store.records import Merchant
from checkout.web.plumbing.rate_limits import RateLimits


async def authenticate(request: Request) -> Merchant:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    merchant = None
    if scheme.lower() != "bearer" or not key.strip():
        problem = "send 'Authorization: Bearer <api key>'"
    else:
        db: Database = request.app.state.db
        now = request.app.state.flow.now()
        async with db.reader() as conn:
            held = await repo.key_holder(conn, hash_key(key.strip()), now)
        if held is not None:
            merchant, key_id, last_used_at = held
            await api_keys.note_use(db, key_id, last_used_at, now)
        problem = "unknown API key"
    if merchant is None:
        # Only failures count, and only against failures: a valid key is taken whatever its
        # address has failed (behind a balancer every merchant may share one), while a client
        # that has failed too often is told to wait and learns nothing from its guesses.
        limits: RateLimits = request.app.state.rate_limits
        limits.hit(limits.auth_failures, request)
        raise Unauthorized(problem)
    return merchant
