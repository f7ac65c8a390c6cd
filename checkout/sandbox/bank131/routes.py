"""The Bank 131 / Smart Glocal emulators over HTTP: their API, and the T-Bank app's page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.pages.templating import render
from checkout.sandbox.bank131.emulator import Bank131Emulator
from checkout.sandbox.http import answer, approve, emulator_of, headers_of, not_found, sandbox_of


async def api(request: Request) -> Response:
    emulator = emulator_of(request, request.path_params["acquirer"], Bank131Emulator)
    if emulator is None:
        return not_found("Not Found")
    method = request.path_params["method"]
    return await answer(request, emulator, method,
                        lambda body: emulator.handle(method, headers_of(request), body))


def _tpay_owner(request: Request, tpay_id: str) -> Bank131Emulator | None:
    """Which emulator issued a T-Pay link (both hosts share the T-Bank app)."""
    for emulator in sandbox_of(request).emulators.values():
        if isinstance(emulator, Bank131Emulator) and emulator.app_view(tpay_id) is not None:
            return emulator
    return None


async def tbank_app(request: Request) -> Response:
    tpay_id = request.path_params["tpay_id"]
    emulator = _tpay_owner(request, tpay_id)
    session = emulator.app_view(tpay_id) if emulator else None
    if session is None:
        return render(request, "sandbox/tbank_app.html", status=404, session=None, lang="en")
    return render(request, "sandbox/tbank_app.html", session=session, lang="en",
                  payment=session["acquiring_payments"][0], tpay_id=tpay_id)


async def tbank_decide(request: Request) -> Response:
    tpay_id = request.path_params["tpay_id"]
    emulator = _tpay_owner(request, tpay_id)
    session = await emulator.buyer_decides(tpay_id, approve(request)) if emulator else None
    if session is None:
        return not_found("Unknown T-Pay link")
    return RedirectResponse(f"/sandbox/tbank/tpay/{tpay_id}", status_code=303)


routes = [
    Route("/sandbox/{acquirer:str}/api/{version:str}/{method:path}", api, methods=["POST"]),
    Route("/sandbox/tbank/tpay/{tpay_id}", tbank_app, methods=["GET"]),
    Route("/sandbox/tbank/tpay/{tpay_id}/{decision:str}", tbank_decide, methods=["POST"]),
]
