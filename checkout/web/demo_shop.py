"""A small demo shop (sandbox mode only) that uses the merchant API exactly as a merchant would."""

from __future__ import annotations

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.settings import DEMO_API_KEY, Settings
from checkout.web.templating import render

PRODUCTS = {
    "coffee": ("Coffee beans, 250 g", 49000),
    "mug": ("Enamel mug", 129000),
    "kettle": ("Gooseneck kettle", 759000),
}


def _api(request: Request) -> tuple[httpx.AsyncClient, Settings]:
    return request.app.state.http, request.app.state.settings


async def index(request: Request) -> Response:
    return render(request, "shop/index.html", products=PRODUCTS, lang="en")


async def buy(request: Request) -> Response:
    form = await request.form()
    item = PRODUCTS.get(str(form.get("product", "")))
    if item is None:
        return render(request, "shop/index.html", products=PRODUCTS, lang="en", status=400,
                      error="Unknown product")
    client, settings = _api(request)
    resp = await client.post(
        f"{settings.public_url}/api/v1/payments",
        headers={"Authorization": f"Bearer {DEMO_API_KEY}"},
        json={"amount": item[1], "currency": "RUB", "description": item[0],
              "reference": f"order-{form.get('product')}",
              "return_url": f"{settings.public_url}/shop/return"},
    )
    if resp.status_code != 201:
        return render(request, "shop/index.html", products=PRODUCTS, lang="en", status=502,
                      error=f"Our payment API said {resp.status_code}: {resp.text[:300]}")
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
    client, settings = _api(request)
    payment = None
    if payment_id.startswith("pay_") and payment_id[4:].isalnum():
        resp = await client.get(f"{settings.public_url}/api/v1/payments/{payment_id}",
                                headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
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
