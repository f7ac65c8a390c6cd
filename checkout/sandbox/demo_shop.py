"""A small demo shop (sandbox mode only) that uses the merchant API exactly as a merchant would."""

from __future__ import annotations

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.pages.templating import render
from checkout.sandbox.registry import DEMO_MERCHANTS
from checkout.settings import Settings

# Which acquirer each demo merchant pays through, and in what currency it sells there (the
# merchants on the sandbox's default accounts: one per acquirer).
SHOPS = [m for m in DEMO_MERCHANTS if not m.account_id]
ACQUIRERS = {m.acquirer: (m.title, m.currency) for m in SHOPS}
KEYS = {m.acquirer: m.api_key for m in SHOPS}
FIRST = DEMO_MERCHANTS[0].acquirer
PRODUCTS = {
    "coffee": ("Coffee beans, 250 g", 49000),
    "mug": ("Enamel mug", 129000),
    "kettle": ("Gooseneck kettle", 759000),
}


def _api(request: Request) -> tuple[httpx.AsyncClient, Settings]:
    return request.app.state.http, request.app.state.settings


def _page(request: Request, status: int = 200, error: str = "",
          embed_checkout: str = "") -> Response:
    return render(request, "shop/index.html", products=PRODUCTS, acquirers=ACQUIRERS,
                  lang="en", status=status, error=error, embed_checkout=embed_checkout)


def _auth(acquirer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[acquirer]}"}


async def index(request: Request) -> Response:
    return _page(request)


async def buy(request: Request) -> Response:
    form = await request.form()
    item = PRODUCTS.get(str(form.get("product", "")))
    acquirer = str(form.get("acquirer", FIRST))
    if item is None or acquirer not in ACQUIRERS:
        return _page(request, 400, "Unknown product or acquirer")
    client, settings = _api(request)
    resp = await client.post(
        f"{settings.public_url}/api/v1/payments", headers=_auth(acquirer),
        json={"amount": item[1], "currency": ACQUIRERS[acquirer][1], "description": item[0],
              "reference": f"order-{form.get('product')}",
              "return_url": f"{settings.public_url}/shop/return?acquirer={acquirer}"},
    )
    if resp.status_code != 201:
        return _page(request, 502, f"Our payment API said {resp.status_code}: {resp.text[:300]}")
    if form.get("mode") == "embedded":
        # The shop stays on screen; embed.js opens the checkout over it.
        return _page(request, embed_checkout=resp.json()["checkout_url"])
    return RedirectResponse(resp.json()["checkout_url"], status_code=303)


async def webhook(request: Request) -> Response:
    """The shop's webhook receiver, written as a merchant would, with `standardwebhooks`."""
    body = await request.body()
    try:
        event = Webhook(request.app.state.demo_webhook_secret).verify(body, dict(request.headers))
    except WebhookVerificationError:
        return Response("bad signature", status_code=400, media_type="text/plain")
    payment = event["data"]["object"]
    seen = request.app.state.shop_events.setdefault(payment["id"], [])
    if event["id"] not in [e["id"] for e in seen]:  # at least once: drop repeats by id
        seen.append({"id": event["id"], "type": event["type"], "status": payment["status"]})
    return Response(status_code=204)


async def back(request: Request) -> Response:
    payment_id = request.query_params.get("payment_id", "")
    acquirer = request.query_params.get("acquirer", FIRST)
    acquirer = acquirer if acquirer in ACQUIRERS else FIRST
    client, settings = _api(request)
    payment = None
    if payment_id.startswith("pay_") and payment_id[4:].isalnum():
        resp = await client.get(f"{settings.public_url}/api/v1/payments/{payment_id}",
                                headers=_auth(acquirer))
        payment = resp.json() if resp.status_code == 200 else None
    events = request.app.state.shop_events.get(payment_id, [])
    return render(request, "shop/return.html", payment=payment, lang="en", events=events,
                  status=200 if payment else 404)


routes = [
    Route("/", index, methods=["GET"]),
    Route("/shop/buy", buy, methods=["POST"]),
    Route("/shop/return", back, methods=["GET"]),
    Route("/shop/webhooks", webhook, methods=["POST"]),
]
