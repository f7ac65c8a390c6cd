"""Merchant API v1: create and read payments. Thin: authenticate, validate, call the flow."""

from __future__ import annotations

import hashlib
import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.errors import InvalidRequest, NotFound
from checkout.flow import payments as payment_flow
from checkout.flow.context import FlowContext
from checkout.flow.objects import payment_object
from checkout.store import repo
from checkout.web.merchant_auth import authenticate
from checkout.web.payment_input import parse_payment_request

MAX_IDEMPOTENCY_KEY = 255


def _json(body: str, status: int) -> Response:
    return Response(body, status_code=status, media_type="application/json")


async def create_payment(request: Request) -> Response:
    merchant = await authenticate(request)
    raw = await request.body()
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("the body is not valid JSON", status=400) from exc
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
                             status=400)
    req = parse_payment_request(doc, merchant.return_origins)
    ctx: FlowContext = request.app.state.flow
    # The canonical form of the body: the same JSON in another key order is the same request.
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    status, body = await payment_flow.create_payment(
        ctx, merchant, req,
        render=lambda p: json.dumps(payment_object(p, ctx.checkout_url(p)), ensure_ascii=False),
        idempotency=(key, digest) if key else None,
    )
    return _json(body, status)


async def get_payment(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.reader() as conn:
        payment = await repo.payment(conn, request.path_params["payment_id"], merchant.id)
    if payment is None:
        raise NotFound("no such payment")
    body = payment_object(payment, ctx.checkout_url(payment))
    return _json(json.dumps(body, ensure_ascii=False), 200)


routes = [
    Route("/api/v1/payments", create_payment, methods=["POST"]),
    Route("/api/v1/payments/{payment_id}", get_payment, methods=["GET"]),
]
