"""The sandbox's HTTP face: each emulated acquirer's API on its real paths, each one's buyer
page (the simulated T-Bank app, a YooMoney-like and a TBC-like page), and the fault controls."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from checkout import jsonwire
from checkout.pages.templating import render
from checkout.sandbox.faults import API_KINDS, FaultError
from checkout.sandbox.remote import to_wire
from checkout.sandbox.world import Sandbox


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


async def _answer(request: Request, emulator: Any, path: str, work: Any) -> Response:
    """Run one API call through the fault book: refused, answered late, garbled or lost."""
    body = await request.body()
    operation, meta = emulator.describe(request.method, path, body)
    fault = _sandbox(request).faults.take(API_KINDS, emulator.name, operation, meta)
    if fault is not None and fault.kind == "error":
        return Response("<html><body>500 Internal Server Error</body></html>",
                        status_code=500, media_type="text/html")
    status, doc = await work(body)
    if fault is None:
        return _json(status, doc)
    if fault.kind == "timeout":
        await asyncio.sleep(fault.seconds)
        return _json(status, doc)
    if fault.kind == "malformed":
        return Response('{"status": "ok", "sess', status_code=200,
                        media_type="application/json")
    if fault.kind == "deep":  # valid JSON that a recursive parser cannot read
        return Response("[" * 50_000 + "]" * 50_000, status_code=200,
                        media_type="application/json")
    return Response("<html><body>504 Gateway Time-out</body></html>", status_code=504,
                    media_type="text/html")  # "lost": done, but the answer never came


def _json(status: int, doc: dict[str, Any]) -> Response:
    media = "application/problem+json" if status >= 400 and "title" in doc else \
        "application/json"
    return Response(json.dumps(doc, ensure_ascii=False), status_code=status, media_type=media)


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


# ---- the acquirers' APIs ---------------------------------------------------------------------

async def bank131_api(request: Request) -> Response:
    if request.path_params["acquirer"] not in ("bank131", "smartglocal"):
        return Response("Not Found", status_code=404, media_type="text/plain")
    emulator = _sandbox(request).emulators[request.path_params["acquirer"]]
    method = request.path_params["method"]
    return await _answer(request, emulator, method,
                         lambda body: emulator.handle(method, _headers(request), body))


async def yookassa_api(request: Request) -> Response:
    emulator = _sandbox(request).yookassa
    path = request.path_params["path"]
    return await _answer(request, emulator, path, lambda body: emulator.handle(
        request.method, path, _headers(request), body, dict(request.query_params)))


async def tbc_api(request: Request) -> Response:
    emulator = _sandbox(request).tbc
    path = request.path_params["path"]
    return await _answer(request, emulator, path, lambda body: emulator.handle(
        request.method, path, _headers(request), body, dict(request.query_params)))


# ---- the buyer's side ------------------------------------------------------------------------

async def tbank_app(request: Request) -> Response:
    tpay_id = request.path_params["tpay_id"]
    emulator = _sandbox(request).tpay_owner(tpay_id)
    session = emulator.app_view(tpay_id) if emulator else None
    if session is None:
        return render(request, "sandbox/tbank_app.html", status=404, session=None, lang="en")
    return render(request, "sandbox/tbank_app.html", session=session, lang="en",
                  payment=session["acquiring_payments"][0], tpay_id=tpay_id)


async def tbank_decide(request: Request) -> Response:
    tpay_id = request.path_params["tpay_id"]
    emulator = _sandbox(request).tpay_owner(tpay_id)
    session = await emulator.buyer_decides(tpay_id, _approve(request)) if emulator else None
    if session is None:
        return Response("Unknown T-Pay link", status_code=404, media_type="text/plain")
    return RedirectResponse(f"/sandbox/tbank/tpay/{tpay_id}", status_code=303)


async def yoomoney_page(request: Request) -> Response:
    payment = _sandbox(request).yookassa.buyer_view(request.path_params["payment_id"])
    return render(request, "sandbox/yoomoney.html", status=200 if payment else 404,
                  payment=payment, lang="ru")


async def yoomoney_decide(request: Request) -> Response:
    payment_id = request.path_params["payment_id"]
    payment = await _sandbox(request).yookassa.buyer_decides(payment_id, _approve(request))
    if payment is None:
        return Response("Unknown payment", status_code=404, media_type="text/plain")
    # YooMoney sends the buyer back to the shop's return_url once they are done.
    return RedirectResponse(payment["confirmation"]["return_url"], status_code=303)


async def tbc_page(request: Request) -> Response:
    payment = _sandbox(request).tbc.buyer_view(request.path_params["pay_id"])
    return render(request, "sandbox/tbc_page.html", status=200 if payment else 404,
                  payment=payment, lang="en")


async def tbc_decide(request: Request) -> Response:
    pay_id = request.path_params["pay_id"]
    payment = await _sandbox(request).tbc.buyer_decides(pay_id, _approve(request))
    if payment is None:
        return Response("Unknown payment", status_code=404, media_type="text/plain")
    return RedirectResponse(payment["returnurl"], status_code=303)


def _approve(request: Request) -> bool:
    decision = request.path_params["decision"]
    if decision not in ("approve", "decline"):
        raise HTTPException(404, "no such decision")
    return decision == "approve"


# ---- fault injection ---------------------------------------------------------------------------

async def faults(request: Request) -> Response:
    book = _sandbox(request).faults
    if request.method == "DELETE":
        book.clear()
        return Response(status_code=204)
    if request.method == "POST":
        try:
            fault = book.add(jsonwire.loads(await request.body()))
        except (ValueError, FaultError) as err:
            return JSONResponse({"error": str(err)}, status_code=422)
        return JSONResponse({"id": fault.id}, status_code=201)
    return JSONResponse({"faults": book.listed()})


async def credentials(request: Request) -> Response:
    """Endpoints and keys of this sandbox, for other instances sharing it (sandbox secrets are
    public by design; a production instance serves no sandbox at all)."""
    return JSONResponse(to_wire(_sandbox(request).endpoints()))


routes = [
    Route("/sandbox/credentials", credentials, methods=["GET"]),
    Route("/sandbox/{acquirer:str}/api/{version:str}/{method:path}", bank131_api,
          methods=["POST"]),
    Route("/sandbox/yookassa/v3/{path:path}", yookassa_api, methods=["GET", "POST"]),
    Route("/sandbox/tbc/v1/tpay/{path:path}", tbc_api, methods=["GET", "POST"]),
    Route("/sandbox/tbank/tpay/{tpay_id}", tbank_app, methods=["GET"]),
    Route("/sandbox/tbank/tpay/{tpay_id}/{decision:str}", tbank_decide, methods=["POST"]),
    Route("/sandbox/yookassa/checkout/{payment_id}", yoomoney_page, methods=["GET"]),
    Route("/sandbox/yookassa/checkout/{payment_id}/{decision:str}", yoomoney_decide,
          methods=["POST"]),
    Route("/sandbox/tbc/checkout/{pay_id}", tbc_page, methods=["GET"]),
    Route("/sandbox/tbc/checkout/{pay_id}/{decision:str}", tbc_decide, methods=["POST"]),
    Route("/sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
]
