"""Merchant API: the events we sent (or are still sending) and their delivery history."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.errors import InvalidRequest, NotFound
from checkout.flow import events as event_flow
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim
from checkout.representations.events import event_object
from checkout.store import webhooks
from checkout.web.merchant_api.auth import authenticate
from checkout.web.merchant_api.idempotency import answer_once, json_answer


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
    return json_answer(200, {"object": "list", "has_more": len(rows) > limit,
                             "data": [event_object(r, deliveries) for r in page]})


async def get_event(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.reader() as conn:
        row = await webhooks.event(conn, merchant.id, request.path_params["event_id"])
        if row is None:
            raise NotFound("no such event")
        deliveries = await webhooks.deliveries_of(conn, [row.id])
    return json_answer(200, event_object(row, deliveries))


async def resend_event(request: Request) -> Response:
    """Send the event again, with the same `webhook-id`, to every active endpoint. A retried
    resend (same Idempotency-Key) queues nothing more."""
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow

    async def resend(claim: Claim | None) -> tuple[int, Any]:
        row, deliveries = await event_flow.resend(ctx, merchant.id,
                                                  request.path_params["event_id"])
        return 202, event_object(row, deliveries)
    return await answer_once(request, merchant, {}, resend)


routes = [
    Route("/api/v1/events", list_events, methods=["GET"]),
    Route("/api/v1/events/{event_id}", get_event, methods=["GET"]),
    Route("/api/v1/events/{event_id}/resend", resend_event, methods=["POST"]),
]
