"""Signing in and out of the console, and the first page after: which merchant.

The sign-in form is protected by a double-submit token: a random value in a cookie of its own
and in the form, which a page on another site can neither read nor set. Failed sign-ins are
throttled per client address and per account (`CHECKOUT_RATE_LIMIT_CONSOLE_*`); each guess
(password and second-factor code together) is reserved against both before it is verified,
and an account takes one guess at a time.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.errors import TooManyRequests
from checkout.flow import console
from checkout.flow.console import SignInRefused, Visitor
from checkout.store import console_reads
from checkout.web.console.access import (
    HEADERS,
    PRE_COOKIE,
    clear_cookie,
    form_token_ok,
    page,
    set_cookie,
    signed_in,
    visitor_of,
    with_form_token,
)
from checkout.web.plumbing.rate_limits import RateLimits, client_of


def _next(target: str) -> str:
    """Back where the visitor was sent from, if that is a console page (never another site)."""
    if target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


def _form(request: Request, status: int = 200, error: str = "", email: str = "",
          retry_after: int | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    resp = with_form_token(request, page(
        request, "console/sign_in.html", status=status, error=error, email=email, csrf=token,
        next=_next(request.query_params.get("next", "")),
        done=request.query_params.get("done", "")), token)
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


async def sign_in_page(request: Request) -> Response:
    if await visitor_of(request) is not None:
        return RedirectResponse(_next(request.query_params.get("next", "")), status_code=303,
                                headers=HEADERS)
    return _form(request)


async def sign_in(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email", "")).strip()[:254]
    if not form_token_ok(request, form):
        return _form(request, 403, error="console_form_expired", email=email)
    limits: RateLimits = request.app.state.rate_limits
    account = email.casefold()
    try:
        with limits.reserve((limits.sign_in_client, client_of(request)),
                            (limits.sign_in_account, account), alone=account) as failed:
            try:
                done = await console.sign_in(
                    request.app.state.db, request.app.state.settings, email=email,
                    password=str(form.get("password", "")), code=str(form.get("code", ""))[:16],
                    ip=client_of(request), user_agent=request.headers.get("user-agent", ""))
            except SignInRefused:
                failed()
                return _form(request, 401, error="console_sign_in_refused", email=email)
    except TooManyRequests as err:
        return _form(request, 429, error="console_too_many", email=email,
                     retry_after=err.retry_after)
    resp = RedirectResponse(_next(str(form.get("next", ""))), status_code=303, headers=HEADERS)
    set_cookie(request, resp, "console_session", done.cookie)
    clear_cookie(request, resp, PRE_COOKIE)
    return resp


@signed_in
async def sign_out(request: Request, who: Visitor, form: FormData | None) -> Response:
    everywhere = form is not None and form.get("everywhere") == "1"
    await console.sign_out(request.app.state.db, who, client_of(request), everywhere)
    resp = RedirectResponse("/console/login", status_code=303, headers=HEADERS)
    clear_cookie(request, resp, "console_session")
    return resp


@signed_in
async def home(request: Request, who: Visitor, form: FormData | None) -> Response:
    """Straight to the merchant's payments when there is one; else the choice."""
    if who.user.operator:
        async with request.app.state.db.reader() as conn:
            choices = [(m.id, m.name) for m in await console_reads.all_merchants(conn)]
    else:
        choices = [(m.merchant_id, m.merchant_name) for m in who.memberships]
    if len(choices) == 1 and not who.user.operator:
        return RedirectResponse(f"/console/m/{choices[0][0]}/payments", status_code=303,
                                headers=HEADERS)
    return page(request, "console/merchants.html", visitor=who, choices=choices)


routes = [
    Route("/console", home, methods=["GET"]),
    Route("/console/login", sign_in_page, methods=["GET"]),
    Route("/console/login", sign_in, methods=["POST"]),
    Route("/console/logout", sign_out, methods=["POST"]),
]
