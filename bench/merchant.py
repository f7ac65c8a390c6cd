"""The merchant's webhook receiver, in a process of its own as a shop's server is: what it
costs to take a webhook is the shop's CPU, not the checkout's. Written as a merchant would,
with `standardwebhooks`; the secret comes in `BENCH_WEBHOOK_SECRET`. It counts what it took
(`GET /taken`), so a bench can tell every payment's webhook arrived."""

import os

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

WEBHOOKS = Webhook(os.environ.get("BENCH_WEBHOOK_SECRET", "whsec_" + "A" * 32))
taken: set[str] = set()


async def receive(request: Request) -> Response:
    body = await request.body()
    try:
        event = WEBHOOKS.verify(body, dict(request.headers))
    except WebhookVerificationError:
        return PlainTextResponse("bad signature", status_code=400)
    taken.add(event["id"])
    return Response(status_code=204)


async def count(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(taken)))


app = Starlette(routes=[Route("/webhooks", receive, methods=["POST"]),
                        Route("/taken", count)])
