"""Inbound acquirer webhooks: verify over the raw bytes, find our attempt, record, apply."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout.errors import AcquirerError, NotFound, WebhookRejected
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
    if name not in ctx.acquirers:
        raise NotFound(f"no acquirer {name!r}")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        source = request.client.host if request.client else ""
        notice = ctx.acquirer(name).parse_webhook(headers, body, source)
    except WebhookRejected as err:
        log.warning("webhook from %s rejected: %s", name, err.detail)
        raise
    try:
        outcome = await news.receive_notice(ctx, name, notice, body)
    except NotFound:
        log.warning("webhook from %s for unknown session %s", name, notice.ref)
        raise
    except AcquirerError as err:
        # We could not confirm what it told us: answer 5xx so the acquirer sends it again.
        log.warning("webhook from %s not applied yet: %s", name, err.detail)
        return JSONResponse({"status": "retry"}, status_code=503)
    log.info("webhook %s %s: %s", name, notice.event_type, outcome)
    ack = ctx.acquirer(name).acknowledgement
    if ack is not None:
        return Response(ack, media_type="text/plain", headers={"X-Outcome": outcome})
    return JSONResponse({"status": "ok", "outcome": outcome})


routes = [Route("/webhooks/{acquirer}", receive, methods=["POST"])]
