"""Inbound acquirer webhooks: verify over the raw bytes, find our attempt, record, apply."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout import drivers
from checkout.errors import AcquirerError, CheckoutError, NotFound, WebhookRejected
from checkout.flow import news
from checkout.flow.context import FlowContext
from checkout.web.plumbing.rate_limits import RateLimits

log = logging.getLogger("checkout.webhooks")


async def receive(request: Request) -> Response:
    """Only refused webhooks count against the client's rate limit: a real acquirer sending
    many good ones is never slowed, a forger is, before its notices cost us a verification."""
    limits: RateLimits = request.app.state.rate_limits
    limits.check(limits.acquirer_webhooks, request)
    try:
        return await _receive(request)
    except (WebhookRejected, NotFound):
        limits.hit(limits.acquirer_webhooks, request)
        raise


async def _receive(request: Request) -> Response:
    ctx: FlowContext = request.app.state.flow
    name = request.path_params["acquirer"]
    # A merchant's own account: its notices are verified with its keys, and name only its
    # payments. None: the deployment's account, at the path it always had.
    account_id = request.path_params.get("account_id")
    if name not in drivers.NAMES:
        raise NotFound(f"no acquirer {name!r}")
    try:
        driver = await ctx.drivers.get(name, account_id)
    except CheckoutError as err:
        raise NotFound(f"no {name} account here") from err
    if account_id and driver.name != name:
        raise NotFound(f"no {name} account here")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        source = request.client.host if request.client else ""
        notice = driver.parse_webhook(headers, body, source)
    except WebhookRejected as err:
        log.warning("webhook from %s rejected: %s", name, err.detail)
        raise
    try:
        outcome = await news.receive_notice(ctx, name, notice, body, account_id)
    except NotFound:
        log.warning("webhook from %s for unknown session %s", name, notice.ref)
        raise
    except AcquirerError as err:
        # We could not confirm what it told us: answer 5xx so the acquirer sends it again.
        log.warning("webhook from %s not applied yet: %s", name, err.detail)
        return JSONResponse({"status": "retry"}, status_code=503)
    log.info("webhook %s %s: %s", name, notice.event_type, outcome)
    ack = driver.acknowledgement
    if ack is not None:
        return Response(ack, media_type="text/plain", headers={"X-Outcome": outcome})
    return JSONResponse({"status": "ok", "outcome": outcome})


routes = [Route("/webhooks/{acquirer}", receive, methods=["POST"]),
          Route("/webhooks/{acquirer}/{account_id}", receive, methods=["POST"])]
