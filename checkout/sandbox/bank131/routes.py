"""The Bank 131 / Smart Glocal emulators over HTTP: their API (the buyer approves in the
shared T-Bank app, `checkout.sandbox.tpay_app`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.sandbox.bank131.emulator import Bank131Emulator
from checkout.sandbox.http import answer, emulator_of, headers_of, not_found


async def api(request: Request) -> Response:
    emulator = emulator_of(request, request.path_params["acquirer"], Bank131Emulator)
    if emulator is None:
        return not_found("Not Found")
    method = request.path_params["method"]
    return await answer(request, emulator, method,
                        lambda body: emulator.handle(method, headers_of(request), body))


routes = [
    Route("/sandbox/{acquirer:str}/api/{version:str}/{method:path}", api, methods=["POST"]),
]
