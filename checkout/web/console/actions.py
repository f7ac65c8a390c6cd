"""What support staff do to a payment from its story: capture, cancel, refund, resend an event.

Each is two steps. The first POST shows what will happen and asks to confirm; the form it
shows carries a fresh key. The second runs the action through the same `Idempotency-Key`
machinery as the API (`flow.idempotency.run_once`, under that key), so a double click, a
reload of the answer page or a second tab does the thing once, and replays its outcome.
Every confirmed action is in the audit log, its outcome included.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain.money import Money
from checkout.domain.roles import Can
from checkout.errors import CheckoutError, InvalidRequest
from checkout.flow import console, operations
from checkout.flow import events as event_flow
from checkout.flow import refunds as refund_flow
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim, Once, run_once
from checkout.store import repo
from checkout.web.console.access import HEADERS, Seat, at_merchant, page, refused
from checkout.web.plumbing.rate_limits import client_of

ACTIONS = ("capture", "cancel", "refund")
KEY_BYTES = 24


def _amount(form: FormData, currency: str) -> int | None:
    """The amount typed in the currency's units ("1500", "1 500,50"), or None for the whole."""
    text = str(form.get("amount", "")).strip()
    if not text:
        return None
    try:
        money = Money.from_major(text.replace(" ", "").replace("\u00a0", ""), currency)
    except ValueError as err:
        raise InvalidRequest(f"the amount {text!r} is not an amount of {currency}") from err
    return money.amount


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


async def _payment(request: Request, seat: Seat) -> Any:
    async with request.app.state.db.reader() as conn:
        return await repo.payment(conn, request.path_params["payment_id"], seat.merchant.id)


def _story(seat: Seat, payment_id: str, **query: str) -> str:
    tail = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/console/m/{seat.merchant.id}/payments/{payment_id}" + (f"?{tail}" if tail else "")


@at_merchant(Can.MOVE_MONEY)
async def payment_action(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    action = request.path_params["action"]
    payment = await _payment(request, seat)
    if payment is None or action not in ACTIONS:
        return refused(request, 404, seat.visitor)
    try:
        amount = _amount(form, payment.currency) if action != "cancel" else None
    except InvalidRequest as err:
        return _refused(request, seat, payment.id, err)
    key = str(form.get("key", ""))
    if form.get("confirm") != "1" or not key:
        return page(request, "console/confirm.html", seat=seat, payment=payment, action=action,
                    amount=amount, amount_text=str(form.get("amount", "")).strip(),
                    key=secrets.token_urlsafe(KEY_BYTES))
    ctx: FlowContext = request.app.state.flow

    async def run(claim: Claim | None) -> tuple[int, Any]:
        if action == "capture":
            await operations.capture(ctx, seat.merchant.id, payment.id, amount, again=True)
        elif action == "cancel":
            await operations.cancel(ctx, seat.merchant.id, payment.id, again=True)
        else:
            refund, _ = await refund_flow.create(ctx, seat.merchant.id, payment.id, amount,
                                                 f"console-{key}")
            return 201, {"refund": refund.id, "status": refund.status}
        return 200, {"done": action}

    return await _once(request, seat, key, [action, payment.id, amount], run,
                       audit=(f"payment.{action}", payment.id, {"amount": amount}),
                       after=_story(seat, payment.id, done=action))


@at_merchant(Can.MOVE_MONEY)
async def resend_event(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    payment_id, event_id = request.path_params["payment_id"], request.path_params["event_id"]
    key = str(form.get("key", ""))
    if form.get("confirm") != "1" or not key:
        payment = await _payment(request, seat)
        if payment is None:
            return refused(request, 404, seat.visitor)
        return page(request, "console/confirm.html", seat=seat, payment=payment,
                    action="resend", event_id=event_id, amount=None, amount_text="",
                    key=secrets.token_urlsafe(KEY_BYTES))
    ctx: FlowContext = request.app.state.flow

    async def run(claim: Claim | None) -> tuple[int, Any]:
        row, deliveries = await event_flow.resend(ctx, seat.merchant.id, event_id)
        return 202, {"event": row.id, "deliveries": len(deliveries)}

    return await _once(request, seat, key, ["resend", event_id], run,
                       audit=("event.resend", event_id, {"payment": payment_id}),
                       after=_story(seat, payment_id, done="resend"))


async def _once(request: Request, seat: Seat, key: str, what: list[Any],
                run: Any, *, audit: tuple[str, str, dict[str, Any]], after: str) -> Response:
    ctx: FlowContext = request.app.state.flow
    once = Once(merchant_id=seat.merchant.id, key=f"console-{key}", request_hash=_hash(*what),
                path=request.url.path)
    action, target, detail = audit
    try:
        answer = await run_once(ctx, once, run)
    except CheckoutError as err:  # another request under this key, still running
        await console.record(ctx.db, seat.visitor, action=action, target=target,
                             merchant_id=seat.merchant.id, ip=client_of(request),
                             detail={**detail, "refused": err.status})
        return _refused(request, seat, target if action.startswith("payment") else "", err)
    outcome = json.loads(answer.body)
    await console.record(ctx.db, seat.visitor, action=action, target=target,
                         merchant_id=seat.merchant.id, ip=client_of(request),
                         detail={**detail, "status": answer.status})
    if answer.status >= 400:
        return page(request, "console/action_refused.html", status=answer.status, seat=seat,
                    detail=outcome.get("detail", ""), back=after.split("?")[0])
    return RedirectResponse(after, status_code=303, headers=HEADERS)


def _refused(request: Request, seat: Seat, payment_id: str, err: CheckoutError) -> Response:
    back = _story(seat, payment_id) if payment_id else f"/console/m/{seat.merchant.id}/payments"
    return page(request, "console/action_refused.html", status=err.status, seat=seat,
                detail=err.detail, back=back)


routes = [
    Route("/console/m/{merchant_id}/payments/{payment_id}/{action}", payment_action,
          methods=["POST"]),
    Route("/console/m/{merchant_id}/payments/{payment_id}/events/{event_id}/resend",
          resend_event, methods=["POST"]),
]
