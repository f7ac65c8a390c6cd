"""Merchant API: the events we sent (or are still sending) and their delivery history."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.errors import Conflict, InvalidRequest, NotFound
from checkout.flow.context import FlowContext
from checkout.representations.events import event_object
from checkout.store import webhooks
from checkout.web.merchant_api.auth import authenticate
from checkout.web.merchant_api.idempotency import json_response, run_once


async def list_events(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    q = request.query_params
    try:
        limit = int(q.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise InvalidRequest("limit must be an integer from 1 to 100",
                             [{"field": "limit", "message": "1 to 100"}])
    async with ctx.db.reader() as conn:
        before = None
        if q.get("starting_after"):
            cursor = await webhooks.event(conn, merchant.id, q["starting_after"])
            if cursor is None:
                raise InvalidRequest("starting_after is not one of your events",
                                     [{"field": "starting_after", "message": "unknown event"}])
            before = (cursor.created_at, cursor.id)
        rows = await webhooks.list_events(conn, merchant.id, limit=limit + 1, before=before,
                                          payment_id=q.get("payment_id"))
        page = rows[:limit]
        deliveries = await webhooks.deliveries_of(conn, [r.id for r in page])
    return json_response(200, json.dumps({"object": "list", "has_more": len(rows) > limit,
                                          "data": [event_object(r, deliveries) for r in page]},
                                         ensure_ascii=False))


async def get_event(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.reader() as conn:
        row = await webhooks.event(conn, merchant.id, request.path_params["event_id"])
        if row is None:
            raise NotFound("no such event")
        deliveries = await webhooks.deliveries_of(conn, [row.id])
    return json_response(200, json.dumps(event_object(row, deliveries), ensure_ascii=False))


async def resend_event(request: Request) -> Response:
    """Send the event again, with the same `webhook-id`, to every active endpoint."""
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow

    async def run() -> tuple[int, Any]:
        now = ctx.now()
        async with ctx.db.transaction() as conn:
            row = await webhooks.event(conn, merchant.id, request.path_params["event_id"])
            if row is None:
                raise NotFound("no such event")
            sent = await webhooks.deliveries_of(conn, [row.id])
            # Resends: the deliveries beyond the first to each endpoint.
            resent = len(sent) - len({d.endpoint_id for d in sent})
            limit = ctx.settings.webhook_resend_max
            if resent >= limit:
                raise Conflict(f"this event was resent {limit} times already")
            waiting = {d.endpoint_id for d in sent if d.status == "pending"}
            for endpoint_id in await webhooks.active_endpoint_ids(conn, merchant.id):
                if endpoint_id not in waiting:  # one still queued there is enough
                    await webhooks.insert_delivery(conn, event_id=row.id,
                                                   endpoint_id=endpoint_id, now=now)
            deliveries = await webhooks.deliveries_of(conn, [row.id])
        ctx.outbox_written()
        return 202, event_object(row, deliveries)
    # A retried resend (same Idempotency-Key) queues nothing more.
    return await run_once(request, merchant, {}, run)


routes = [
    Route("/api/v1/events", list_events, methods=["GET"]),
    Route("/api/v1/events/{event_id}", get_event, methods=["GET"]),
    Route("/api/v1/events/{event_id}/resend", resend_event, methods=["POST"]),
]
