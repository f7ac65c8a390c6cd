"""Merchant API: saved payment methods (recurring T-Pay tokens)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.errors import NotFound
from checkout.flow.context import FlowContext
from checkout.representations.methods import method_object
from checkout.store import repo
from checkout.web.merchant_api.auth import authenticate
from checkout.web.merchant_api.idempotency import json_response


async def payment_method(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    method_id = request.path_params["method_id"]
    async with ctx.db.reader() as conn:
        row = await repo.payment_method(conn, method_id, merchant.id)
    if row is None:
        raise NotFound("no such payment method")
    if request.method == "DELETE" and row.disabled_at is None:
        # At the acquirer first: a token we forget but the bank still honours is a risk.
        await ctx.acquirer(row.acquirer).disable_token(ctx.vault.open(row.token),
                                                       f"{row.id}:disable")
        async with ctx.db.transaction() as conn:
            await repo.disable_payment_method(conn, method_id, ctx.now())
            row = await repo.payment_method(conn, method_id, merchant.id)
    return json_response(200, json.dumps(method_object(row)))


routes = [Route("/api/v1/payment_methods/{method_id}", payment_method,
                methods=["GET", "DELETE"])]
