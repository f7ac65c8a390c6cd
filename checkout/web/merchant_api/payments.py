"""Merchant API v1: create and read payments. Thin: authenticate, validate, call the flow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.domain.api_keys import Scope
from checkout.domain.receipts import fiscal_day
from checkout.domain.states import PaymentStatus
from checkout.errors import CheckoutError, InvalidRequest, NotFound
from checkout.flow import payments as payment_flow
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim
from checkout.representations.acquirers import acquirer_object
from checkout.representations.payments import payment_object
from checkout.store import acquirer_accounts, repo
from checkout.web.merchant_api.auth import authenticate, require
from checkout.web.merchant_api.idempotency import (
    answer_once,
    json_answer,
    read_json,
    request_key,
)
from checkout.web.merchant_api.requests import parse_payment_request


async def create_payment(request: Request) -> Response:
    # Past capacity, before any work: a 503 with Retry-After costs about a bare request.
    request.app.state.load.admit_new_payment()
    merchant = await authenticate(request)
    doc = read_json(await request.body())
    request_key(request)  # a malformed key is refused before the body is looked at
    ctx: FlowContext = request.app.state.flow
    req = parse_payment_request(doc, merchant.return_origins, fiscal_day(ctx.now()))
    if req.payment_method_id:  # a charge of a saved method moves money on the key's word
        require(request, Scope.FULL)

    async def create(claim: Claim | None) -> tuple[int, Any]:
        payment = await payment_flow.create_payment(ctx, merchant, req, claim)
        return 201, payment_object(payment, ctx.checkout_url(payment))
    return await answer_once(request, merchant, doc, create)


async def list_payments(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    q = request.query_params
    errors: list[dict[str, str]] = []
    try:
        limit = int(q.get("limit", "20"))
        if not 1 <= limit <= 100:
            raise ValueError
    except ValueError:
        errors.append({"field": "limit", "message": "an integer from 1 to 100"})
        limit = 20
    status = q.get("status")
    if status is not None and status not in set(PaymentStatus):
        errors.append({"field": "status", "message": f"one of {', '.join(PaymentStatus)}"})
    bounds = {}
    for name in ("created_gte", "created_lt"):
        if name in q:
            try:
                bounds[name] = datetime.fromisoformat(q[name].replace("Z", "+00:00"))
                if bounds[name].tzinfo is None:
                    raise ValueError
            except ValueError:
                errors.append({"field": name, "message": "an ISO 8601 time with a zone"})
    if errors:
        raise InvalidRequest("the query has invalid parameters", errors)
    async with ctx.db.reader() as conn:
        before = None
        if q.get("starting_after"):
            cursor = await repo.payment(conn, q["starting_after"], merchant.id)
            if cursor is None:
                raise InvalidRequest("starting_after is not one of your payments", [
                    {"field": "starting_after", "message": "unknown payment"}])
            before = (cursor.created_at, cursor.id)
        found = await repo.list_payments(
            conn, merchant.id, limit=limit + 1, before=before, status=status,
            reference=q.get("reference"), created_gte=bounds.get("created_gte"),
            created_lt=bounds.get("created_lt"))
    page = found[:limit]
    doc = {"object": "list", "has_more": len(found) > limit,
           "data": [payment_object(p, ctx.checkout_url(p)) for p in page]}
    return json_answer(200, doc)


async def get_payment(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.reader() as conn:
        payment = await repo.payment(conn, request.path_params["payment_id"], merchant.id)
    if payment is None:
        raise NotFound("no such payment")
    body = payment_object(payment, ctx.checkout_url(payment))
    return json_answer(200, body)


async def payments(request: Request) -> Response:
    # One route per path, so a 405 lists every method the path has in its Allow header.
    return await (create_payment if request.method == "POST" else list_payments)(request)


async def acquirer(request: Request) -> Response:
    """The merchant's acquirer, the account its new payments use, and what it can do: ask
    before you build on it."""
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    try:
        driver = await ctx.drivers.get(merchant.acquirer, merchant.acquirer_account_id)
    except CheckoutError as err:
        raise NotFound(f"the acquirer {merchant.acquirer!r} is not configured here") from err
    account = None
    if merchant.acquirer_account_id:
        async with ctx.db.reader() as conn:
            account = await acquirer_accounts.account(conn, merchant.acquirer_account_id)
    return json_answer(200, acquirer_object(merchant.acquirer, driver, account,
                                            await driver.receipt_mode()))


routes = [
    Route("/api/v1/acquirer", acquirer, methods=["GET"]),
    Route("/api/v1/payments", payments, methods=["GET", "POST"]),
    Route("/api/v1/payments/{payment_id}", get_payment, methods=["GET"]),
]
