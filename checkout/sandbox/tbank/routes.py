"""The T-Bank eacq emulator over HTTP, on the real paths under `/sandbox/tbank/v2/` (the buyer
approves in the shared T-Bank app, `checkout.sandbox.tpay_app`)."""

from __future__ import annotations

import io

import segno
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.sandbox.http import answer, emulator_of, not_found
from checkout.sandbox.tbank.emulator import TbankEmulator


def _emulator(request: Request) -> TbankEmulator:
    found = emulator_of(request, "tbank", TbankEmulator)
    assert found is not None
    return found  # type: ignore[no-any-return]


async def api(request: Request) -> Response:
    emulator = _emulator(request)
    path = request.path_params["path"]
    return await answer(request, emulator, path,
                        lambda body: emulator.handle(request.method, path, body))


async def qr(request: Request) -> Response:
    """`GET TinkoffPay/{PaymentId}/QR`: the T-Pay link as an SVG image."""
    target = _emulator(request).qr_target(request.path_params["payment_id"])
    if target is None:
        return not_found("Unknown or settled payment")
    out = io.BytesIO()
    segno.make(target, error="m").save(out, kind="svg", scale=4)
    return Response(out.getvalue(), media_type="image/svg")  # as T-Bank's OpenAPI has it


routes = [
    Route("/sandbox/tbank/v2/TinkoffPay/{payment_id:int}/QR", qr, methods=["GET"]),
    Route("/sandbox/tbank/v2/{path:path}", api, methods=["GET", "POST"]),
]
