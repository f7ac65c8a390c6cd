"""Merchant API: the merchant's webhook endpoints, so that an integration can manage itself.

The secret is in the answer of a create and of a rotation, and nowhere else. Those two
answers are kept sealed under their Idempotency-Key, so a retry gets the same secret back.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.errors import NotFound
from checkout.flow import webhook_endpoints as flow
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim
from checkout.representations.events import event_object
from checkout.representations.webhook_endpoints import endpoint_object
from checkout.store import webhooks
from checkout.web.merchant_api.auth import authenticate
from checkout.web.merchant_api.idempotency import answer_once, json_answer, read_json, request_key
from checkout.web.merchant_api.requests import (
    EndpointCreate,
    EndpointRotate,
    EndpointUpdate,
    parse_fields,
)


async def _body(request: Request, *, empty_ok: bool = False) -> Any:
    doc = read_json(await request.body(), empty_ok=empty_ok)
    request_key(request)  # a malformed key is refused before the body is looked at
    return doc


async def endpoints(request: Request) -> Response:
    # One route per path, so a 405 lists every method the path has in its Allow header.
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    if request.method == "GET":
        async with ctx.db.reader() as conn:
            found = await webhooks.endpoints(conn, merchant.id)
        return json_answer(200, {"object": "list", "has_more": False,
                                 "data": [endpoint_object(e) for e in found]})
    doc = await _body(request)
    parsed = parse_fields(EndpointCreate, doc)
    assert isinstance(parsed, EndpointCreate)

    async def create(claim: Claim | None) -> tuple[int, Any]:
        made = await flow.create(ctx.db, ctx.settings, merchant.id, parsed.url,
                                 enabled=parsed.enabled)
        return 201, endpoint_object(made.endpoint, made.secret)
    return await answer_once(request, merchant, doc, create, secret=True)


async def endpoint(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    endpoint_id = request.path_params["endpoint_id"]
    if request.method == "GET":
        async with ctx.db.reader() as conn:
            found = await webhooks.endpoint(conn, merchant.id, endpoint_id)
        if found is None:
            raise NotFound("no such webhook endpoint")
        return json_answer(200, endpoint_object(found))
    if request.method == "DELETE":
        request_key(request)
        await flow.delete(ctx.db, merchant.id, endpoint_id)
        return Response(status_code=204)
    doc = await _body(request)
    parsed = parse_fields(EndpointUpdate, doc)
    assert isinstance(parsed, EndpointUpdate)

    async def update(claim: Claim | None) -> tuple[int, Any]:
        return 200, endpoint_object(await flow.change(
            ctx.db, ctx.settings, merchant.id, endpoint_id, url=parsed.url,
            enabled=parsed.enabled))
    return await answer_once(request, merchant, doc, update)


async def rotate_secret(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    doc = await _body(request, empty_ok=True)
    parsed = parse_fields(EndpointRotate, doc)
    assert isinstance(parsed, EndpointRotate)
    overlap = flow.overlap_of(ctx.settings, parsed.overlap_seconds)

    async def rotate(claim: Claim | None) -> tuple[int, Any]:
        made = await flow.rotate(ctx.db, ctx.settings, merchant.id,
                                 request.path_params["endpoint_id"], overlap)
        return 200, endpoint_object(made.endpoint, made.secret)
    return await answer_once(request, merchant, doc, rotate, secret=True)


async def send_test(request: Request) -> Response:
    """A `webhook.test` event to this endpoint only; its deliveries are the event's."""
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    await _body(request, empty_ok=True)

    async def test(claim: Claim | None) -> tuple[int, Any]:
        event_id = await flow.send_test(ctx, merchant.id, request.path_params["endpoint_id"])
        async with ctx.db.reader() as conn:
            row = await webhooks.event(conn, merchant.id, event_id)
            deliveries = await webhooks.deliveries_of(conn, [event_id])
        return 202, event_object(row, deliveries)
    return await answer_once(request, merchant, {}, test)


routes = [
    Route("/api/v1/webhook_endpoints", endpoints, methods=["GET", "POST"]),
    Route("/api/v1/webhook_endpoints/{endpoint_id}", endpoint,
          methods=["GET", "PATCH", "DELETE"]),
    Route("/api/v1/webhook_endpoints/{endpoint_id}/rotate_secret", rotate_secret,
          methods=["POST"]),
    Route("/api/v1/webhook_endpoints/{endpoint_id}/test", send_test, methods=["POST"]),
]
