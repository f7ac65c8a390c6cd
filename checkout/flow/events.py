"""The merchant's events: sending one again."""

from __future__ import annotations

from typing import Any

from checkout.errors import Conflict, NotFound
from checkout.flow.context import FlowContext
from checkout.store import webhooks


async def resend(ctx: FlowContext, merchant_id: str, event_id: str) -> tuple[Any, list[Any]]:
    """Queue the event again, with the same `webhook-id`, to every active endpoint that has
    none of it queued; returns the event and all its deliveries."""
    now = ctx.now()
    async with ctx.db.transaction() as conn:
        row = await webhooks.event(conn, merchant_id, event_id)
        if row is None:
            raise NotFound("no such event")
        sent = await webhooks.deliveries_of(conn, [row.id])
        # Resends: the deliveries beyond the first to each endpoint.
        resent = len(sent) - len({d.endpoint_id for d in sent})
        limit = ctx.settings.webhook_resend_max
        if resent >= limit:
            raise Conflict(f"this event was resent {limit} times already")
        waiting = {d.endpoint_id for d in sent if d.status == "pending"}
        for endpoint_id in await webhooks.active_endpoint_ids(conn, merchant_id):
            if endpoint_id not in waiting:  # one still queued there is enough
                await webhooks.insert_delivery(conn, event_id=row.id, endpoint_id=endpoint_id,
                                               now=now)
        deliveries = await webhooks.deliveries_of(conn, [row.id])
    ctx.outbox_written()
    return row, deliveries
