"""The T-Bank eacq emulator over HTTP, on the real paths under `/sandbox/tbank/v2/` (the buyer
approves in the shared T-Bank app, `checkout.sandbox.tpay_app`)."""

from __future__ import annotations

import io

import segno
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout.sandbox.http import answer, emulator_of, not_found
from checkout.sandbox.tbank.emulator import EacqError, TbankEmulator


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


async def tpay_setting(request: Request) -> Response:
    """The terminal's T-Pay switch, as its owner sets it in T-Bank's cabinet (not an API of
    T-Bank's): `{"allowed": bool, "version": "1.0" | "2.0"}`."""
    try:
        doc = await request.json()
        allowed, version = doc["allowed"], doc["version"]
        if not isinstance(allowed, bool) or not isinstance(version, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "send {\"allowed\": bool, \"version\": \"2.0\"}"},
                            status_code=400)
    try:
        _emulator(request).set_tpay(request.path_params["terminal"], allowed, version)
    except EacqError as err:
        return JSONResponse(err.body(), status_code=400)
    return JSONResponse({"allowed": allowed, "version": version})


async def fiscal_receipt(request: Request) -> Response:
    """Where a fiscalization notification's `Url` points (the OFD's page for a real one): the
    registered receipt, as the sandbox's cash register kept it."""
    payment = _emulator(request).payment_doc(request.path_params["payment_id"])
    if payment is None or not payment.get("Receipt"):
        return not_found("No such receipt")
    return JSONResponse({"PaymentId": payment["id"], "Receipt": payment["Receipt"],
                         "Returns": payment.get("receipts", [])})


routes = [
    Route("/sandbox/tbank/receipts/{payment_id}/{number}", fiscal_receipt, methods=["GET"]),
    Route("/sandbox/tbank/terminals/{terminal}/tpay", tpay_setting, methods=["POST"]),
    Route("/sandbox/tbank/v2/TinkoffPay/{payment_id:int}/QR", qr, methods=["GET"]),
    Route("/sandbox/tbank/v2/{path:path}", api, methods=["GET", "POST"]),
]
