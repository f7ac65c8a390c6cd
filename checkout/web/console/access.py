"""Who may see a console page: the session cookie, the user's role at the merchant, the CSRF
token of every form that changes something. Refusals are pages, not JSON: people read them.

- not signed in (or the session ended): 303 to the sign-in page, back here afterwards;
- a merchant the user does not belong to, or an object of another merchant: 404, the same
  answer as for one that does not exist (ids are not confirmed to strangers);
- a role that may not do this: 403;
- a state-changing request without this session's CSRF token: 403, and nothing changes.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from checkout.domain.roles import Can, Role, allows
from checkout.flow import console, second_factor
from checkout.flow.console import Visitor
from checkout.pages.templating import render
from checkout.store import repo
from checkout.store.records import Merchant

SESSION_COOKIE = "console_session"
# Pages of the console are never cached, never sent as a referrer, never framed.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def cookie_name(request: Request, base: str = SESSION_COOKIE) -> str:
    """`__Host-` where the console is served over https: the browser then keeps the cookie to
    this exact host, on `/`, `Secure`, and no subdomain can plant one."""
    https = request.app.state.settings.public_url.startswith("https://")
    return f"__Host-{base}" if https else base


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(cookie_name(request, name), value, max_age=max_age, path="/",
                        secure=request.app.state.settings.public_url.startswith("https://"),
                        httponly=True, samesite="lax")


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(cookie_name(request, name), path="/",
                           secure=request.app.state.settings.public_url.startswith("https://"),
                           httponly=True, samesite="lax")


async def visitor_of(request: Request) -> Visitor | None:
    if "visitor" not in request.scope:
        cookie = request.cookies.get(cookie_name(request), "")
        request.scope["visitor"] = await console.visitor(
            request.app.state.db, request.app.state.settings, cookie)
    found: Visitor | None = request.scope["visitor"]
    return found


@dataclass(frozen=True)
class Seat:
    """The signed-in user at one merchant, with the role it acts in there."""

    visitor: Visitor
    merchant: Merchant
    role: Role

    def can(self, action: Can) -> bool:
        return allows(self.role, action)


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    return render(request, name, status=status, headers=HEADERS, **context)


def refused(request: Request, status: int, who: Visitor | None) -> Response:
    return page(request, "console/refused.html", status=status, visitor=who, status_code=status)


def to_sign_in(request: Request) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(back, safe='')}", status_code=303,
                            headers=HEADERS)


def _same(sent: object, kept: str | None) -> bool:
    return isinstance(sent, str) and bool(kept) and hmac.compare_digest(
        sent.encode(), str(kept).encode())


async def posted_form(request: Request, who: Visitor) -> FormData | None:
    """A POST's form if it carries the session's CSRF token; else None (refuse it). A GET has
    no form: an empty one."""
    if request.method != "POST":
        return FormData()
    form = await request.form()
    return form if _same(form.get("csrf"), who.session.csrf_token) else None


# Forms shown before anyone is signed in (sign-in, accepting an invitation) carry a token of
# their own, which must equal a cookie of their own: a page on another site can neither read
# nor set that cookie, so it cannot post such a form for a browser.
PRE_COOKIE = "console_pre"


def with_form_token(request: Request, response: Response, token: str) -> Response:
    set_cookie(request, response, PRE_COOKIE, token, max_age=3600)
    return response


def form_token_ok(request: Request, form: FormData) -> bool:
    return _same(form.get("csrf"), request.cookies.get(cookie_name(request, PRE_COOKIE)))


Handler = Callable[..., Awaitable[Response]]


def _second_factor_first(request: Request, who: Visitor) -> Response | None:
    """An operator of a production deployment without a second factor may only set one up
    (and sign out): every other page sends them to their account page."""
    if not second_factor.required(request.app.state.settings, who.user) or \
            request.url.path.startswith(("/console/account", "/console/logout")):
        return None
    return RedirectResponse("/console/account", status_code=303, headers=HEADERS)


def signed_in(handler: Handler) -> Handler:
    """For pages of no one merchant: the user must be signed in (forms must carry CSRF)."""
    @wraps(handler)
    async def run(request: Request) -> Response:
        who = await visitor_of(request)
        if who is None:
            return to_sign_in(request)
        if (first := _second_factor_first(request, who)) is not None:
            return first
        form = await posted_form(request, who)
        if form is None:
            return refused(request, 403, who)
        return await handler(request, who, form)
    return run


def at_merchant(can: Can) -> Callable[[Handler], Handler]:
    """For a merchant's pages (`/console/m/{merchant_id}/…`): signed in, a member there (or an
    operator), in a role that `can`, and a POST with the session's CSRF token."""
    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        async def run(request: Request) -> Response:
            who = await visitor_of(request)
            if who is None:
                return to_sign_in(request)
            if (first := _second_factor_first(request, who)) is not None:
                return first
            merchant_id = request.path_params["merchant_id"]
            role = Role.OWNER if who.user.operator else who.role_at(merchant_id)
            merchant = None
            if role is not None:
                async with request.app.state.db.reader() as conn:
                    merchant = await repo.merchant_by_id(conn, merchant_id)
            if role is None or merchant is None:
                return refused(request, 404, who)
            form = await posted_form(request, who)
            if form is None:
                return refused(request, 403, who)
            if not allows(role, can):
                return refused(request, 403, who)
            return await handler(request, Seat(who, merchant, role), form)
        return run
    return wrap
