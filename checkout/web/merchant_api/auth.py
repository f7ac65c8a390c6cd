"""Merchant API keys: `Authorization: Bearer <key>`, looked up by its hash, and the key's scope
checked against what the request does: a GET reads; any other request needs a payments key;
one that moves money (capture, cancel, refund, a charge of a saved method) a full key."""

from __future__ import annotations

from starlette.requests import Request

from checkout.domain.api_keys import Scope, covers, hash_key
from checkout.errors import Forbidden, Unauthorized
from checkout.flow import api_keys
from checkout.store import repo
from checkout.store.db import Database
from checkout.store.records import Merchant
from checkout.web.plumbing.rate_limits import RateLimits

_SCOPE = "api_key_scope"  # the request's key's scope, in the ASGI scope


async def authenticate(request: Request, needs: Scope | None = None) -> Merchant:
    """The merchant whose key this is; 403 if the key's scope does not cover `needs` (by
    default: read for GET and HEAD, payments for anything else)."""
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
            merchant, key_id, last_used_at, scope = held
            await api_keys.note_use(db, key_id, last_used_at, now)
            request.scope[_SCOPE] = Scope(scope)
        problem = "unknown API key"
    if merchant is None:
        # Only failures count, and only against failures: a valid key is taken whatever its
        # address has failed (behind a balancer every merchant may share one), while a client
        # that has failed too often is told to wait and learns nothing from its guesses.
        limits: RateLimits = request.app.state.rate_limits
        limits.hit(limits.auth_failures, request)
        raise Unauthorized(problem)
    require(request, needs or (Scope.READ if request.method in ("GET", "HEAD")
                               else Scope.PAYMENTS))
    return merchant


def require(request: Request, needs: Scope) -> None:
    """403 unless the authenticated key's scope covers `needs`."""
    held: Scope = request.scope[_SCOPE]
    if not covers(held, needs):
        raise Forbidden(f"this API key's scope is '{held}'; this request needs a "
                        f"'{needs}' key", scope=str(held), required=str(needs))
