"""Merchant API: capture, cancel and refund a payment. Every POST honours Idempotency-Key."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.domain.api_keys import Scope
from checkout.flow import operations
from checkout.flow import receipts as receipt_flow
from checkout.flow import refunds as refund_flow
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim
from checkout.representations.payments import payment_object
from checkout.representations.refunds import refund_object
from checkout.web.merchant_api.auth import authenticate
from checkout.web.merchant_api.idempotency import (
    answer_once,
    json_answer,
    read_json,
    request_key,
)
from checkout.web.merchant_api.requests import (
    parse_amount_only,
    parse_items_only,
    parse_no_fields,
)


async def capture(request: Request) -> Response:
    merchant = await authenticate(request, Scope.FULL)
    ctx: FlowContext = request.app.state.flow
    doc = read_json(await request.body(), empty_ok=True)
    amount, items = parse_amount_only(doc)

    async def run(claim: Claim | None) -> tuple[int, Any]:
        p = await operations.capture(ctx, merchant.id, request.path_params["payment_id"],
                                     amount, again=request_key(request) is not None,
                                     items=items)
        return 200, payment_object(p, ctx.checkout_url(p))
    return await answer_once(request, merchant, doc, run)


async def cancel(request: Request) -> Response:
    merchant = await authenticate(request, Scope.FULL)
    ctx: FlowContext = request.app.state.flow
    doc = read_json(await request.body(), empty_ok=True)
    parse_no_fields(doc)

    async def run(claim: Claim | None) -> tuple[int, Any]:
        p = await operations.cancel(ctx, merchant.id, request.path_params["payment_id"],
                                    again=request_key(request) is not None)
        return 200, payment_object(p, ctx.checkout_url(p))
    return await answer_once(request, merchant, doc, run)


async def create_refund(request: Request) -> Response:
    merchant = await authenticate(request, Scope.FULL)
    ctx: FlowContext = request.app.state.flow
    doc = read_json(await request.body(), empty_ok=True)
    amount, items = parse_amount_only(doc)
    payment_id = request.path_params["payment_id"]

    async def run(claim: Claim | None) -> tuple[int, Any]:
        refund, currency = await refund_flow.create(ctx, merchant.id, payment_id, amount,
                                                    request_key(request), items=items)
        return 201, refund_object(refund, currency)
    return await answer_once(request, merchant, doc, run)


async def settle_receipt(request: Request) -> Response:
    """The closing (settlement) receipt of a prepaid payment: `items` (default: the
    payment's, delivered in full now)."""
    merchant = await authenticate(request, Scope.FULL)
    ctx: FlowContext = request.app.state.flow
    doc = read_json(await request.body(), empty_ok=True)
    items = parse_items_only(doc)

    async def run(claim: Claim | None) -> tuple[int, Any]:
        p = await receipt_flow.settle(ctx, merchant.id, request.path_params["payment_id"],
                                      items)
        return 201, payment_object(p, ctx.checkout_url(p))
    return await answer_once(request, merchant, doc, run)


async def list_refunds(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    refunds, currency = await refund_flow.list_for(ctx, merchant.id,
                                                   request.path_params["payment_id"])
    doc = {"object": "list", "has_more": False,
           "data": [refund_object(r, currency) for r in reversed(refunds)]}
    return json_answer(200, doc)


async def refunds(request: Request) -> Response:
    # One route per path, so a 405 lists every method the path has in its Allow header.
    return await (create_refund if request.method == "POST" else list_refunds)(request)


routes = [
    Route("/api/v1/payments/{payment_id}/capture", capture, methods=["POST"]),
    Route("/api/v1/payments/{payment_id}/cancel", cancel, methods=["POST"]),
    Route("/api/v1/payments/{payment_id}/refunds", refunds, methods=["GET", "POST"]),
    Route("/api/v1/payments/{payment_id}/receipts", settle_receipt, methods=["POST"]),
]
