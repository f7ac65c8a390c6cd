"""The simulated T-Bank app, where the buyer approves a T-Pay link, whichever emulated acquirer
issued it (Bank 131 and Smart Glocal sessions, T-Bank's own acquiring).

An emulator that issues T-Pay links has `app_card(tpay_id)` (what the app shows, or None for
a link it did not issue) and `buyer_decides(tpay_id, approve)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.pages.templating import render
from checkout.sandbox.http import approve, not_found, sandbox_of


@dataclass(frozen=True)
class AppCard:
    """What the T-Bank app shows for one T-Pay link."""

    amount: int  # minor units
    currency: str
    deciding: bool  # the buyer still has to approve or decline
    approved: bool  # approved (paid, or held for the merchant)
    outcome: str  # the acquirer's own word for how it ended, if it did
    return_url: str  # back to the shop


def _owner(request: Request, tpay_id: str) -> tuple[Any, AppCard] | None:
    for emulator in sandbox_of(request).emulators.values():
        card = emulator.app_card(tpay_id) if hasattr(emulator, "app_card") else None
        if card is not None:
            return emulator, card
    return None


async def app(request: Request) -> Response:
    tpay_id = request.path_params["tpay_id"]
    found = _owner(request, tpay_id)
    return render(request, "sandbox/tpay_app.html", status=200 if found else 404,
                  card=found[1] if found else None, tpay_id=tpay_id, lang="en")


async def decide(request: Request) -> Response:
    tpay_id = request.path_params["tpay_id"]
    found = _owner(request, tpay_id)
    if found is None or await found[0].buyer_decides(tpay_id, approve(request)) is None:
        return not_found("Unknown T-Pay link")
    return RedirectResponse(f"/sandbox/tpay/{tpay_id}", status_code=303)


routes = [
    Route("/sandbox/tpay/{tpay_id}", app, methods=["GET"]),
    Route("/sandbox/tpay/{tpay_id}/{decision:str}", decide, methods=["POST"]),
]
