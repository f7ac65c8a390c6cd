"""The sandbox's HTTP face: the Bank 131 API under /sandbox/bank131 and the simulated T-Bank app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from checkout.sandbox.bank131.emulator import Bank131Emulator
from checkout.web.templating import render


def _emulator(request: Request) -> Bank131Emulator:
    return request.app.state.bank131_emulator


async def bank131_api(request: Request) -> Response:
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    status, doc = await _emulator(request).handle(request.path_params["method"], headers, body)
    return JSONResponse(doc, status_code=status)


async def tbank_app(request: Request) -> Response:
    session = _emulator(request).app_view(request.path_params["tpay_id"])
    if session is None:
        return render(request, "sandbox/tbank_app.html", status=404, session=None, lang="en")
    return render(request, "sandbox/tbank_app.html", session=session, lang="en",
                  payment=session["acquiring_payments"][0],
                  tpay_id=request.path_params["tpay_id"])


async def tbank_decide(request: Request) -> Response:
    tpay_id = request.path_params["tpay_id"]
    approve = request.path_params["decision"] == "approve"
    session = await _emulator(request).buyer_decides(tpay_id, approve)
    if session is None:
        return Response("Unknown T-Pay link", status_code=404, media_type="text/plain")
    return RedirectResponse(f"/sandbox/tbank/tpay/{tpay_id}", status_code=303)


routes = [
    Route("/sandbox/bank131/api/{version:str}/{method:path}", bank131_api, methods=["POST"]),
    Route("/sandbox/tbank/tpay/{tpay_id}", tbank_app, methods=["GET"]),
    Route("/sandbox/tbank/tpay/{tpay_id}/{decision:str}", tbank_decide, methods=["POST"]),
]
