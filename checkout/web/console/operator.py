"""The operators' pages: every merchant (each one's pages are the merchant's own, an operator
acting as its owner), onboarding a merchant, switching its acquirer, and every console user
with a one-time password-reset link. To anyone else these pages do not exist (404).

And the page a reset link opens (not signed in), where the person sets a new password.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.errors import CheckoutError
from checkout.flow import operators
from checkout.flow.console import Visitor
from checkout.settings import KNOWN_ACQUIRERS
from checkout.store import console as console_store
from checkout.store import console_reads
from checkout.web.console.access import (
    HEADERS,
    PRE_COOKIE,
    clear_cookie,
    form_token_ok,
    page,
    refused,
    signed_in,
    with_form_token,
)
from checkout.web.plumbing.rate_limits import client_of

HOME = "/console/operator"
Handler = Callable[[Request, Visitor, FormData | None], Awaitable[Response]]


def operator_only(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    @signed_in
    @wraps(handler)
    async def run(request: Request, who: Visitor, form: FormData | None) -> Response:
        if not who.user.operator:
            return refused(request, 404, who)
        return await handler(request, who, form)
    return run


def _lines(text: str) -> list[str]:
    return [o.strip() for o in text.replace(",", "\n").splitlines() if o.strip()]


async def _page(request: Request, who: Visitor, status: int = 200, error: str = "",
                **shown: object) -> Response:
    async with request.app.state.db.reader() as conn:
        merchants = await console_reads.all_merchants(conn)
        users = await console_store.all_users(conn)
    settings = request.app.state.settings
    acquirers = list(KNOWN_ACQUIRERS) if settings.sandbox else sorted(settings.acquirers)
    return page(request, "console/operator.html", status=status, visitor=who, error=error,
                merchants=merchants, users=users, acquirers=acquirers,
                public_url=settings.public_url, done=request.query_params.get("done", ""),
                reset_hours=settings.console_reset_hours,
                **shown)


@operator_only
async def home(request: Request, who: Visitor, form: FormData | None) -> Response:
    return await _page(request, who)


@operator_only
async def onboard(request: Request, who: Visitor, form: FormData | None) -> Response:
    assert form is not None
    try:
        made = await operators.onboard(
            request.app.state.db, request.app.state.settings, who,
            name=str(form.get("name", "")).strip()[:200],
            return_origins=_lines(str(form.get("return_origins", ""))),
            embed_origins=_lines(str(form.get("embed_origins", ""))),
            acquirer=str(form.get("acquirer", "")), owner_email=str(form.get("owner", "")),
            ip=client_of(request))
    except CheckoutError as err:
        return await _page(request, who, err.status, error=err.detail)
    return await _page(request, who, 201, onboarded=made)


@operator_only
async def switch_acquirer(request: Request, who: Visitor, form: FormData | None) -> Response:
    assert form is not None
    try:
        await operators.switch_acquirer(request.app.state.db, request.app.state.settings, who,
                                        merchant_id=request.path_params["merchant_id"],
                                        acquirer=str(form.get("acquirer", "")),
                                        ip=client_of(request))
    except CheckoutError as err:
        return await _page(request, who, err.status, error=err.detail)
    return RedirectResponse(f"{HOME}?done=acquirer", status_code=303, headers=HEADERS)


@operator_only
async def reset_link(request: Request, who: Visitor, form: FormData | None) -> Response:
    try:
        token, email = await operators.reset_link(
            request.app.state.db, request.app.state.settings, who,
            user_id=request.path_params["user_id"], ip=client_of(request))
    except CheckoutError as err:
        return await _page(request, who, err.status, error=err.detail)
    link = f"{request.app.state.settings.public_url}/console/reset/{token}"
    return await _page(request, who, 201, reset_for=email, reset_link=link)


# ---- using a reset link (not signed in) --------------------------------------------------

def _reset_form(request: Request, email: str, status: int = 200, error: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    return with_form_token(request, page(request, "console/reset.html", status=status,
                                         email=email, error=error, csrf=token), token)


async def reset_page(request: Request) -> Response:
    found = await operators.open_reset(request.app.state.db, request.path_params["token"])
    if found is None:
        return refused(request, 404, None)
    return _reset_form(request, found.email)


async def reset(request: Request) -> Response:
    form = await request.form()
    token = request.path_params["token"]
    found = await operators.open_reset(request.app.state.db, token)
    if found is None:
        return refused(request, 404, None)
    if not form_token_ok(request, form):
        return _reset_form(request, found.email, 403, error="console_form_expired")
    password = str(form.get("password", ""))
    if password != str(form.get("again", "")):
        return _reset_form(request, found.email, 422, error="console_passwords_differ")
    try:
        await operators.use_reset(request.app.state.db, request.app.state.settings, token,
                                  password=password, ip=client_of(request))
    except CheckoutError as err:
        return _reset_form(request, found.email, err.status, error=err.detail)
    resp = RedirectResponse("/console/login?done=reset", status_code=303, headers=HEADERS)
    clear_cookie(request, resp, PRE_COOKIE)
    return resp


async def moved(request: Request) -> Response:
    """The read-only `/admin` view these pages replaced: its bookmarks land here."""
    return RedirectResponse(HOME, status_code=308, headers=HEADERS)


routes = [
    Route("/admin", moved, methods=["GET"]),
    Route("/admin/{rest:path}", moved, methods=["GET"]),
    Route(HOME, home, methods=["GET"]),
    Route(f"{HOME}/merchants", onboard, methods=["POST"]),
    Route(f"{HOME}/merchants/{{merchant_id}}/acquirer", switch_acquirer, methods=["POST"]),
    Route(f"{HOME}/users/{{user_id}}/reset", reset_link, methods=["POST"]),
    Route("/console/reset/{token}", reset_page, methods=["GET"]),
    Route("/console/reset/{token}", reset, methods=["POST"]),
]
