"""The webhooks page: the merchant's endpoints (add, rotate the secret with an overlap,
disable or enable, send a test event, delete) and the delivery log, with filters and resend.

Everyone in the team reads it; developers and owners change it. A secret is shown once, on
the page that answers the add or the rotation, and never again.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain.roles import Can
from checkout.errors import CheckoutError
from checkout.flow import console
from checkout.flow import events as event_flow
from checkout.flow import webhook_endpoints as flow
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim, Once, run_once
from checkout.store import console_reads, webhooks
from checkout.store.console_reads import DELIVERY_STATUSES
from checkout.web.console.access import HEADERS, Seat, at_merchant, page, refused
from checkout.web.plumbing.rate_limits import client_of

ACTIONS = ("rotate", "disable", "enable", "test", "delete")
LOG_PAGE = 50


def _here(seat: Seat, **query: str) -> str:
    tail = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/console/m/{seat.merchant.id}/webhooks" + (f"?{tail}" if tail else "")


async def _page(request: Request, seat: Seat, status: int = 200, error: str = "",
                made: flow.WithSecret | None = None, made_how: str = "") -> Response:
    q = request.query_params
    log_status = q.get("status", "") if q.get("status", "") in DELIVERY_STATUSES else ""
    before = int(q["before"]) if q.get("before", "").isdigit() else None
    async with request.app.state.db.reader() as conn:
        endpoints = await webhooks.endpoints(conn, seat.merchant.id)
        ids = {e.id for e in endpoints}
        log_endpoint = q.get("endpoint", "") if q.get("endpoint", "") in ids else ""
        log = await console_reads.deliveries_page(
            conn, seat.merchant.id, status=log_status, endpoint_id=log_endpoint,
            before=before, limit=LOG_PAGE)
    more = str(log[-1].id) if len(log) == LOG_PAGE else ""
    return page(request, "console/webhooks.html", status=status, seat=seat,
                section="webhooks", endpoints=endpoints, log=log, error=error, made=made,
                made_how=made_how, statuses=DELIVERY_STATUSES, log_status=log_status,
                log_endpoint=log_endpoint, more=more, done=q.get("done", ""),
                resend_key=secrets.token_urlsafe(24),
                overlap_hours=request.app.state.settings.webhook_secret_overlap_hours)


@at_merchant(Can.READ)
async def webhooks_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    return await _page(request, seat)


@at_merchant(Can.MANAGE_WEBHOOKS)
async def add(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    ctx: FlowContext = request.app.state.flow
    try:
        made = await flow.create(ctx.db, ctx.settings, seat.merchant.id, str(form.get("url", "")))
    except CheckoutError as err:
        return await _page(request, seat, err.status, error=err.detail)
    await console.record(ctx.db, seat.visitor, action="webhook.add", target=made.endpoint.id,
                         merchant_id=seat.merchant.id, ip=client_of(request),
                         detail={"url": made.endpoint.url})
    return await _page(request, seat, 201, made=made, made_how="added")


@at_merchant(Can.MANAGE_WEBHOOKS)
async def endpoint_action(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    ctx: FlowContext = request.app.state.flow
    endpoint_id, action = request.path_params["endpoint_id"], request.path_params["action"]
    async with ctx.db.reader() as conn:
        found = await webhooks.endpoint(conn, seat.merchant.id, endpoint_id)
    if found is None or action not in ACTIONS:
        return refused(request, 404, seat.visitor)
    made = None
    detail: dict[str, object] = {"url": found.url}
    try:
        if action == "rotate":
            overlap = flow.overlap_of(ctx.settings, None if form.get("now") != "1" else 0)
            made = await flow.rotate(ctx.db, ctx.settings, seat.merchant.id, endpoint_id,
                                     overlap)
            detail["overlap_seconds"] = int(overlap.total_seconds())
        elif action in ("disable", "enable"):
            await flow.change(ctx.db, ctx.settings, seat.merchant.id, endpoint_id,
                              enabled=action == "enable")
        elif action == "test":
            detail["event"] = await flow.send_test(ctx, seat.merchant.id, endpoint_id)
        elif form.get("confirm") == "1":
            await flow.delete(ctx.db, seat.merchant.id, endpoint_id)
        else:
            return await _page(request, seat, 422, error="console_confirm_delete")
    except CheckoutError as err:
        return await _page(request, seat, err.status, error=err.detail)
    await console.record(ctx.db, seat.visitor, action=f"webhook.{action}", target=endpoint_id,
                         merchant_id=seat.merchant.id, ip=client_of(request), detail=detail)
    if made is not None:
        return await _page(request, seat, made=made, made_how="rotated")
    return RedirectResponse(_here(seat, done=action), status_code=303, headers=HEADERS)


@at_merchant(Can.MANAGE_WEBHOOKS)
async def resend(request: Request, seat: Seat, form: FormData | None) -> Response:
    """Resend one event from the log, once per form (its key): a double click queues it once."""
    assert form is not None
    ctx: FlowContext = request.app.state.flow
    event_id, key = request.path_params["event_id"], str(form.get("key", ""))
    if not key:
        return await _page(request, seat, 422, error="console_form_expired")

    async def run(claim: Claim | None) -> tuple[int, object]:
        row, deliveries = await event_flow.resend(ctx, seat.merchant.id, event_id)
        return 202, {"event": row.id, "deliveries": len(deliveries)}

    once = Once(merchant_id=seat.merchant.id, key=f"console-{key}",
                request_hash=event_id, path=request.url.path)
    try:
        answer = await run_once(ctx, once, run)
    except CheckoutError as err:
        return await _page(request, seat, err.status, error=err.detail)
    await console.record(ctx.db, seat.visitor, action="event.resend", target=event_id,
                         merchant_id=seat.merchant.id, ip=client_of(request),
                         detail={"status": answer.status})
    if answer.status >= 400:
        return await _page(request, seat, answer.status, error="console_resend_refused")
    return RedirectResponse(_here(seat, done="resend"), status_code=303, headers=HEADERS)


routes = [
    Route("/console/m/{merchant_id}/webhooks", webhooks_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/webhooks/add", add, methods=["POST"]),
    Route("/console/m/{merchant_id}/webhooks/events/{event_id}/resend", resend,
          methods=["POST"]),
    Route("/console/m/{merchant_id}/webhooks/{endpoint_id}/{action}", endpoint_action,
          methods=["POST"]),
]
