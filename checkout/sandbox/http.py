"""What every emulator's HTTP side shares: the fault book in front of its API, JSON answers,
and the buyer's approve-or-decline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.pages.templating import render
from checkout.sandbox.faults import API_KINDS


def sandbox_of(request: Request) -> Any:
    """The app's `checkout.sandbox.world.Sandbox`."""
    return request.app.state.sandbox


def emulator_of(request: Request, name: str, kind: type) -> Any:
    """The emulator called `name`, if it is a `kind`; None otherwise."""
    emulator = sandbox_of(request).emulators.get(name)
    return emulator if isinstance(emulator, kind) else None


async def answer(request: Request, emulator: Any, path: str,
                 work: Callable[[bytes], Awaitable[tuple[int, dict[str, Any]]]]) -> Response:
    """Run one API call through the fault book: refused, answered late, garbled or lost."""
    body = await request.body()
    operation, meta = emulator.describe(request.method, path, body)
    fault = sandbox_of(request).faults.take(API_KINDS, emulator.name, operation, meta)
    if fault is not None and fault.kind == "error":
        return Response("<html><body>500 Internal Server Error</body></html>",
                        status_code=500, media_type="text/html")
    status, doc = await work(body)
    if fault is None:
        return json_answer(status, doc)
    if fault.kind == "timeout":
        await asyncio.sleep(fault.seconds)
        return json_answer(status, doc)
    if fault.kind == "malformed":
        return Response('{"status": "ok", "sess', status_code=200,
                        media_type="application/json")
    if fault.kind == "internal":
        internal = getattr(emulator, "internal_error", None)
        return json_answer(*internal()) if internal else Response(
            '{"error": "internal"}', status_code=500, media_type="application/json")
    if fault.kind == "deep":  # valid JSON that a recursive parser cannot read
        return Response("[" * 50_000 + "]" * 50_000, status_code=200,
                        media_type="application/json")
    return Response("<html><body>504 Gateway Time-out</body></html>", status_code=504,
                    media_type="text/html")  # "lost": done, but the answer never came


def json_answer(status: int, doc: dict[str, Any]) -> Response:
    media = "application/problem+json" if status >= 400 and "title" in doc else \
        "application/json"
    return Response(json.dumps(doc, ensure_ascii=False), status_code=status, media_type=media)


def headers_of(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def approve(request: Request) -> bool:
    """The buyer's button on an emulated page: approve or decline."""
    decision = request.path_params["decision"]
    if decision not in ("approve", "decline"):
        raise HTTPException(404, "no such decision")
    return decision == "approve"


def not_found(what: str) -> Response:
    return Response(what, status_code=404, media_type="text/plain")


def acquirer_page_routes(*, name: str, kind: type, api_path: str, page_path: str,
                         template: str, lang: str, back: Callable[[dict[str, Any]], str]
                         ) -> list[Route]:
    """An emulated acquirer whose buyer goes to its own page (YooMoney's, TBC's): its API on
    `api_path`, its page on `page_path`, where the buyer approves or declines and is then sent
    `back` (the URL the payment names)."""
    def emulator(request: Request) -> Any:
        found = emulator_of(request, name, kind)
        assert found is not None
        return found

    async def api(request: Request) -> Response:
        emulated = emulator(request)
        path = request.path_params["path"]
        return await answer(request, emulated, path, lambda body: emulated.handle(
            request.method, path, headers_of(request), body, dict(request.query_params)))

    async def page(request: Request) -> Response:
        payment = emulator(request).buyer_view(request.path_params["payment_id"])
        return render(request, template, status=200 if payment else 404, payment=payment,
                      lang=lang)

    async def decide(request: Request) -> Response:
        payment = await emulator(request).buyer_decides(request.path_params["payment_id"],
                                                        approve(request))
        if payment is None:
            return not_found("Unknown payment")
        return RedirectResponse(back(payment), status_code=303)

    return [
        Route(f"{api_path}/{{path:path}}", api, methods=["GET", "POST"]),
        Route(f"{page_path}/{{payment_id}}", page, methods=["GET"]),
        Route(f"{page_path}/{{payment_id}}/{{decision:str}}", decide, methods=["POST"]),
    ]
