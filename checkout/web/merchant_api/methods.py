"""Merchant API: saved payment methods (recurring T-Pay tokens)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.flow import methods as method_flow
from checkout.flow.context import FlowContext
from checkout.representations.methods import method_object
from checkout.web.merchant_api.auth import authenticate
from checkout.web.merchant_api.idempotency import json_answer


async def payment_method(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    method_id = request.path_params["method_id"]
    if request.method == "DELETE":
        row = await method_flow.disable(ctx, merchant.id, method_id)
    else:
        row = await method_flow.get(ctx, merchant.id, method_id)
    return json_answer(200, method_object(row))


routes = [Route("/api/v1/payment_methods/{method_id}", payment_method,
                methods=["GET", "DELETE"])]
