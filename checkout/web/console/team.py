"""The team page (owners): who is in, their roles, invitations by one-time link; the page an
invited person accepts at; and the merchant's audit log."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from datetime import datetime
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain.roles import Can, Role
from checkout.errors import CheckoutError
from checkout.flow import team
from checkout.flow.console import Visitor
from checkout.flow.context import utcnow
from checkout.store import console as store
from checkout.store import repo
from checkout.web.console.access import (
    HEADERS,
    PRE_COOKIE,
    Seat,
    at_merchant,
    clear_cookie,
    form_token_ok,
    page,
    posted_form,
    refused,
    set_cookie,
    visitor_of,
    with_form_token,
)
from checkout.web.plumbing.rate_limits import client_of

AUDIT_PAGE = 50


async def _team_page(request: Request, seat: Seat, status: int = 200, error: str = "",
                     made: team.NewInvite | None = None) -> Response:
    now = utcnow()
    async with request.app.state.db.reader() as conn:
        members = await store.team_of(conn, seat.merchant.id)
        invites = await store.open_invites(conn, seat.merchant.id, now)
        keys = await repo.keys_of(conn, seat.merchant.id)
    keys_made = Counter(k.created_by for k in keys
                        if k.created_by and (k.expires_at is None or k.expires_at > now))
    link = f"{request.app.state.settings.public_url}/console/invite/{made.token}" if made \
        else ""
    return page(request, "console/team.html", status=status, seat=seat, members=members,
                invites=invites, roles=[r.value for r in Role], error=error, made=made,
                keys_made=keys_made,
                link=link, section="team")


@at_merchant(Can.MANAGE_TEAM)
async def team_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    return await _team_page(request, seat)


def _role(form: FormData) -> Role | None:
    try:
        return Role(str(form.get("role", "")))
    except ValueError:
        return None


@at_merchant(Can.MANAGE_TEAM)
async def invite(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    role = _role(form)
    if role is None:
        return await _team_page(request, seat, 422, error="console_bad_role")
    try:
        made = await team.invite(request.app.state.db, request.app.state.settings,
                                 seat.visitor, merchant_id=seat.merchant.id,
                                 email=str(form.get("email", "")), role=role,
                                 ip=client_of(request))
    except CheckoutError as err:
        return await _team_page(request, seat, err.status, error=err.detail)
    return await _team_page(request, seat, 201, made=made)


@at_merchant(Can.MANAGE_TEAM)
async def revoke_invite(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    try:
        await team.revoke_invite(request.app.state.db, seat.visitor, merchant_id=seat.merchant.id,
                                 id_hash=str(form.get("invite", "")), ip=client_of(request))
    except CheckoutError as err:
        return await _team_page(request, seat, err.status, error=err.detail)
    return RedirectResponse(f"/console/m/{seat.merchant.id}/team", status_code=303,
                            headers=HEADERS)


@at_merchant(Can.MANAGE_TEAM)
async def member(request: Request, seat: Seat, form: FormData | None) -> Response:
    """Change a member's role, or remove them (`action` = role | remove)."""
    assert form is not None
    user_id, action = request.path_params["user_id"], request.path_params["action"]
    if action not in ("role", "remove"):
        return refused(request, 404, seat.visitor)
    db, ip = request.app.state.db, client_of(request)
    try:
        if action == "remove":
            await team.remove(db, seat.visitor, merchant_id=seat.merchant.id, user_id=user_id,
                              ip=ip, revoke_keys=form.get("revoke_keys") == "1")
        else:
            role = _role(form)
            if role is None:
                return await _team_page(request, seat, 422, error="console_bad_role")
            await team.set_role(db, seat.visitor, merchant_id=seat.merchant.id,
                                user_id=user_id, role=role, ip=ip)
    except CheckoutError as err:
        return await _team_page(request, seat, err.status, error=err.detail)
    return RedirectResponse(f"/console/m/{seat.merchant.id}/team", status_code=303,
                            headers=HEADERS)


@at_merchant(Can.MANAGE_TEAM)
async def audit(request: Request, seat: Seat, form: FormData | None) -> Response:
    before = None
    if request.query_params.get("before"):
        when, _, entry = request.query_params["before"].partition("|")
        try:
            before = (datetime.fromisoformat(when), entry)
        except ValueError:
            before = None
    async with request.app.state.db.reader() as conn:
        rows = await store.audit_page(conn, seat.merchant.id, before, AUDIT_PAGE)
    more = f"{rows[-1].at.isoformat()}|{rows[-1].id}" if len(rows) == AUDIT_PAGE else ""
    return page(request, "console/audit.html", seat=seat, section="audit", more=more,
                rows=[(r, json.loads(r.detail)) for r in rows])


# ---- accepting an invitation ----------------------------------------------------------
# Not signed in, the page is one form whatever the email (a new password, and a way to sign
# in first for a person who has an account): it tells nobody whether the email has one.
# Signed in as the invitee, it is one button; signed in as someone else, it says so.

def _accept_form(request: Request, found: store.Invite, who: Visitor | None, status: int = 200,
                 error: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    back = quote(request.url.path, safe="")
    resp = page(request, "console/invite.html", status=status, invite=found, error=error,
                visitor=who, csrf=who.session.csrf_token if who else token,
                sign_in=f"/console/login?next={back}")
    return resp if who else with_form_token(request, resp, token)


async def invite_page(request: Request) -> Response:
    found = await team.open_invite(request.app.state.db, request.path_params["token"])
    if found is None:
        return refused(request, 404, None)
    return _accept_form(request, found, await visitor_of(request))


async def accept(request: Request) -> Response:
    token = request.path_params["token"]
    found = await team.open_invite(request.app.state.db, token)
    if found is None:
        return refused(request, 404, None)
    who = await visitor_of(request)
    if who is not None:
        form = await posted_form(request, who)
        if form is None:
            return _accept_form(request, found, who, 403, error="console_form_expired")
        try:
            merchant_id = await team.join(request.app.state.db, who, token,
                                          ip=client_of(request))
        except CheckoutError as err:
            return _accept_form(request, found, who, err.status, error=err.detail)
        return RedirectResponse(f"/console/m/{merchant_id}/payments", status_code=303,
                                headers=HEADERS)
    form = await request.form()
    if not form_token_ok(request, form):
        return _accept_form(request, found, None, 403, error="console_form_expired")
    password = str(form.get("password", ""))
    if password != str(form.get("again", "")):
        return _accept_form(request, found, None, 422, error="console_passwords_differ")
    try:
        done, merchant_id = await team.accept(
            request.app.state.db, request.app.state.settings, token, password=password,
            ip=client_of(request), user_agent=request.headers.get("user-agent", ""))
    except CheckoutError as err:
        return _accept_form(request, found, None, err.status, error=err.detail)
    resp = RedirectResponse(f"/console/m/{merchant_id}/payments", status_code=303,
                            headers=HEADERS)
    set_cookie(request, resp, "console_session", done.cookie)
    clear_cookie(request, resp, PRE_COOKIE)
    return resp


routes = [
    Route("/console/m/{merchant_id}/team", team_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/team/invite", invite, methods=["POST"]),
    Route("/console/m/{merchant_id}/team/invite/revoke", revoke_invite, methods=["POST"]),
    Route("/console/m/{merchant_id}/team/{user_id}/{action}", member, methods=["POST"]),
    Route("/console/m/{merchant_id}/audit", audit, methods=["GET"]),
    Route("/console/invite/{token}", invite_page, methods=["GET"]),
    Route("/console/invite/{token}", accept, methods=["POST"]),
]
