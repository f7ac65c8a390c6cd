"""A merchant's webhook endpoints, managed by the merchant (console and API) or the operator
(CLI): add, change the URL, disable or enable, rotate the secret, delete, send a test event.

A secret is returned once, to be shown once. We must sign with it, so it is kept, sealed by
the vault (`CHECKOUT_SECRET_KEYS`), never in the clear and never logged. A rotation keeps the
previous secret signing beside the new one for an overlap, so the merchant can deploy the new
secret with no webhook refused meanwhile. A disabled endpoint gets no new deliveries; those
already queued wait for it to be enabled again, so nothing queued is lost. A deleted one keeps
its past deliveries readable.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from checkout.domain.states import EventType
from checkout.errors import Conflict, InvalidRequest, NotFound
from checkout.flow.context import FlowContext, utcnow
from checkout.flow.ids import new_id
from checkout.notify import outbox
from checkout.notify.addresses import UnsafeAddress, resolve_now
from checkout.notify.signing import new_secret
from checkout.settings import Settings
from checkout.store import repo, webhooks
from checkout.store.db import Database
from checkout.store.webhooks import Endpoint
from checkout.vault import vault_for

MAX_URL = 2048


@dataclass(frozen=True)
class WithSecret:
    endpoint: Endpoint
    secret: str  # shown once


async def check_url(url: object, settings: Settings) -> str:
    """An endpoint URL (CLI, API, console): production takes only https, and not one that
    points inside our network (SSRF); checked again at every send (`checkout.notify.sender`),
    since DNS may answer otherwise then."""
    problem = await _url_problem(url, settings)
    if problem:
        raise InvalidRequest(f"the URL {problem}", [{"field": "url", "message": problem}])
    assert isinstance(url, str)
    return url


async def _url_problem(url: object, settings: Settings) -> str:
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        return f"must be an http(s) URL of at most {MAX_URL} characters"
    if any(ord(c) < 33 or c == "\x7f" for c in url):
        return "must not contain spaces or control characters"
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "has no valid port"
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return "must be an http(s) URL"
    if settings.sandbox:
        return ""
    if parts.scheme != "https":
        return "must use https in production"
    try:
        await asyncio.to_thread(resolve_now, parts.hostname, port)
    except UnsafeAddress as exc:
        return str(exc)
    return ""


def overlap_of(settings: Settings, seconds: object = None) -> timedelta:
    """The rotation's overlap: the default, or `seconds` within 0 … the allowed maximum."""
    if seconds is None:
        return timedelta(hours=settings.webhook_secret_overlap_hours)
    top = int(settings.webhook_secret_overlap_max_hours * 3600)
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= top:
        raise InvalidRequest(f"the overlap must be a whole number of seconds, 0 to {top}",
                             [{"field": "overlap_seconds", "message": f"0 to {top}"}])
    return timedelta(seconds=seconds)


async def create(db: Database, settings: Settings, merchant_id: str, url: object, *,
                 enabled: bool = True) -> WithSecret:
    checked = await check_url(url, settings)
    secret, now = new_secret(), utcnow()
    endpoint_id = new_id("we")
    async with db.transaction() as conn:
        if await repo.merchant_by_id(conn, merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}")
        if await webhooks.count_endpoints(conn, merchant_id) >= settings.webhook_endpoints_max:
            raise Conflict(f"a merchant may have {settings.webhook_endpoints_max} endpoints; "
                           "delete one first")
        await webhooks.upsert_endpoint(conn, id=endpoint_id, merchant_id=merchant_id,
                                       url=checked, secret=_seal(settings, secret), now=now)
        if not enabled:
            await webhooks.change_endpoint(conn, endpoint_id, disabled_at=now,
                                           disabled_reason="disabled by the merchant")
        made = await webhooks.endpoint(conn, merchant_id, endpoint_id)
    assert made is not None
    return WithSecret(made, secret)


async def change(db: Database, settings: Settings, merchant_id: str, endpoint_id: str, *,
                 url: object = None, enabled: bool | None = None) -> Endpoint:
    """A new URL, or disabled or enabled again (enabling clears the failing streak)."""
    values: dict[str, object] = {}
    if url is not None:
        values["url"] = await check_url(url, settings)
    now = utcnow()
    async with db.transaction() as conn:
        found = await webhooks.endpoint(conn, merchant_id, endpoint_id)
        if found is None:
            raise NotFound("no such webhook endpoint")
        if enabled is True and not found.enabled:
            values.update(disabled_at=None, disabled_reason=None, failing_since=None)
        elif enabled is False and found.enabled:
            values.update(disabled_at=now, disabled_reason="disabled by the merchant")
        if values:
            await webhooks.change_endpoint(conn, endpoint_id, **values)
        changed = await webhooks.endpoint(conn, merchant_id, endpoint_id)
    assert changed is not None
    return changed


async def rotate(db: Database, settings: Settings, merchant_id: str, endpoint_id: str,
                 overlap: timedelta) -> WithSecret:
    """A new secret now; the current one signs too until `overlap` has passed. A rotation
    during an overlap ends the older overlap: two secrets at most sign at once."""
    secret, now = new_secret(), utcnow()
    async with db.transaction() as conn:
        found = await webhooks.endpoint(conn, merchant_id, endpoint_id)
        if found is None:
            raise NotFound("no such webhook endpoint")
        current = await webhooks.endpoint_secret(conn, endpoint_id)
        await webhooks.change_endpoint(
            conn, endpoint_id, secret=_seal(settings, secret),
            previous_secret=current if overlap else None,
            previous_secret_until=now + overlap if overlap else None)
        changed = await webhooks.endpoint(conn, merchant_id, endpoint_id)
    assert changed is not None
    return WithSecret(changed, secret)


async def delete(db: Database, merchant_id: str, endpoint_id: str) -> None:
    now = utcnow()
    async with db.transaction() as conn:
        if await webhooks.endpoint(conn, merchant_id, endpoint_id) is None:
            raise NotFound("no such webhook endpoint")
        # Nothing more is sent to it: disabled, so no worker claims what is queued, and what
        # is queued ends `failed` (so retention deletes it in time, as it does the others).
        await webhooks.change_endpoint(conn, endpoint_id, deleted_at=now, disabled_at=now,
                                       disabled_reason="deleted by the merchant")
        await webhooks.give_up_pending(conn, endpoint_id, "the endpoint was deleted")


async def send_test(ctx: FlowContext, merchant_id: str, endpoint_id: str) -> str:
    """A `webhook.test` event to this one endpoint, signed and retried like any other.
    Returns the event's id."""
    now, event_id = ctx.now(), new_id("evt")
    async with ctx.db.transaction() as conn:
        found = await webhooks.endpoint(conn, merchant_id, endpoint_id)
        if found is None:
            raise NotFound("no such webhook endpoint")
        if not found.enabled:
            raise Conflict("the endpoint is disabled: enable it first")
        await outbox.emit(conn, merchant_id=merchant_id, event_id=event_id,
                          event_type=str(EventType.WEBHOOK_TEST), payment_id=None, sequence=0,
                          obj={"object": "webhook_endpoint", "id": endpoint_id,
                               "url": found.url},
                          now=now, only_endpoint=endpoint_id)
    ctx.outbox_written()
    return event_id


def _seal(settings: Settings, secret: str) -> str:
    return vault_for(settings.secret_keys).seal(secret)
