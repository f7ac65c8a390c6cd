"""The operator's read-only view of payments and webhook deliveries, at `/admin`.

Behind its own HTTP Basic credentials (`CHECKOUT_ADMIN_USER`, `CHECKOUT_ADMIN_PASSWORD`),
never a merchant's key; off (404) when they are unset. Only GET routes exist: there is
nothing here to change anything with. It shows no secrets: no webhook secrets, no API key
hashes, no acquirer tokens, and the buyer's checkout link only as its payment id.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.domain.states import PaymentStatus
from checkout.errors import InvalidRequest, NotFound
from checkout.pages.i18n import format_money
from checkout.pages.templating import render
from checkout.store import admin_reads
from checkout.web.plumbing.rate_limits import RateLimits

DELIVERY_STATES = ("pending", "failed", "succeeded")


def _allowed(request: Request) -> Response | None:
    """None when the request carries the admin's credentials; else the answer to give."""
    settings = request.app.state.settings
    if not settings.admin_user or not settings.admin_password:
        return Response("Not Found", status_code=404)
    limits: RateLimits = request.app.state.rate_limits
    limits.check(limits.auth_failures, request)
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    ok_user = hmac.compare_digest(user.encode(), settings.admin_user.encode())
    ok_password = hmac.compare_digest(password.encode(), settings.admin_password.encode())
    if scheme.lower() == "basic" and ok_user and ok_password:
        return None
    if encoded:  # a browser's first, credential-less request is not a failed guess
        limits.hit(limits.auth_failures, request)
    return Response("The admin view needs the operator's credentials.", status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="checkout admin", charset="UTF-8"'})


def _page(request: Request, name: str, **context: Any) -> Response:
    resp = render(request, name, lang="en",
                  money=lambda amount, currency: format_money(amount, currency, "en"),
                  **context)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


async def payments_list(request: Request) -> Response:
    if (refusal := _allowed(request)) is not None:
        return refusal
    q = request.query_params
    status = q.get("status", "")
    if status and status not in {s.value for s in PaymentStatus}:
        raise InvalidRequest(f"unknown status {status!r}")
    before = None
    if q.get("before"):
        when, _, pid = q["before"].partition("|")
        try:
            before = (datetime.fromisoformat(when), pid)
        except ValueError as exc:
            raise InvalidRequest("bad page cursor") from exc
    async with request.app.state.db.reader() as conn:
        rows = await admin_reads.payments_page(
            conn, status=status, merchant_id=q.get("merchant", "").strip(),
            search=q.get("q", "").strip(), before=before)
    more = None
    if len(rows) == admin_reads.PAGE:
        more = f"{rows[-1].created_at.isoformat()}|{rows[-1].id}"
    return _page(request, "admin/payments.html", rows=rows, current=status,
                 statuses=[s.value for s in PaymentStatus], q=q, more=more)


async def payment_detail(request: Request) -> Response:
    if (refusal := _allowed(request)) is not None:
        return refusal
    async with request.app.state.db.reader() as conn:
        story = await admin_reads.payment_story(conn, request.path_params["payment_id"])
    if story is None:
        raise NotFound("no such payment")
    return _page(request, "admin/payment.html", **story)


async def deliveries_list(request: Request) -> Response:
    if (refusal := _allowed(request)) is not None:
        return refusal
    status = request.query_params.get("status", "pending")
    if status not in DELIVERY_STATES:
        raise InvalidRequest(f"status is one of {', '.join(DELIVERY_STATES)}")
    async with request.app.state.db.reader() as conn:
        rows = await admin_reads.deliveries_page(conn, status=status)
    return _page(request, "admin/deliveries.html", rows=rows, current=status,
                 states=DELIVERY_STATES)


routes = [
    Route("/admin", payments_list, methods=["GET"]),
    Route("/admin/payments/{payment_id}", payment_detail, methods=["GET"]),
    Route("/admin/deliveries", deliveries_list, methods=["GET"]),
]
