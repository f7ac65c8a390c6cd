"""The API keys page (developers and owners): every key by its last characters, its scope, who
made it, when it was made, last used and stops; make one of a scope within the member's own
powers (shown once), roll one with an overlap, revoke one."""

from __future__ import annotations

from datetime import timedelta

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain.api_keys import Scope, may_mint
from checkout.domain.roles import Can
from checkout.errors import CheckoutError
from checkout.flow import api_keys
from checkout.flow.context import utcnow
from checkout.store import repo
from checkout.web.console.access import HEADERS, Seat, at_merchant, page, refused
from checkout.web.plumbing.rate_limits import client_of

ACTIONS = ("roll", "revoke")


async def _page(request: Request, seat: Seat, status: int = 200, error: str = "",
                made: api_keys.NewKey | None = None, made_how: str = "") -> Response:
    async with request.app.state.db.reader() as conn:
        keys = await repo.keys_of(conn, seat.merchant.id)
    return page(request, "console/keys.html", status=status, seat=seat, section="keys",
                keys=list(reversed(keys)), now=utcnow(), error=error, made=made,
                made_how=made_how, done=request.query_params.get("done", ""),
                overlap_hours=request.app.state.settings.api_key_overlap_hours,
                scopes=[s.value for s in Scope if may_mint(seat.role, s)],
                may_roll={s.value: may_mint(seat.role, s) for s in Scope})


def _member(request: Request, seat: Seat) -> api_keys.Member:
    return api_keys.Member(seat.visitor, seat.role, client_of(request))


@at_merchant(Can.MANAGE_KEYS)
async def keys_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    return await _page(request, seat)


@at_merchant(Can.MANAGE_KEYS)
async def create(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    if form.get("confirm") != "1":
        return await _page(request, seat, 422, error="console_confirm_create")
    try:
        scope = Scope(str(form.get("scope", "")))
    except ValueError:
        return await _page(request, seat, 422, error="console_key_scope_pick")
    try:
        made = await api_keys.create(request.app.state.db, request.app.state.settings,
                                     seat.merchant.id, scope, _member(request, seat))
    except CheckoutError as err:
        return await _page(request, seat, err.status, error=err.detail)
    return await _page(request, seat, 201, made=made, made_how="created")


@at_merchant(Can.MANAGE_KEYS)
async def key_action(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    db, settings = request.app.state.db, request.app.state.settings
    key_id, action = request.path_params["key_id"], request.path_params["action"]
    async with db.reader() as conn:
        found = await repo.key_of(conn, seat.merchant.id, key_id)
    if found is None or action not in ACTIONS:
        return refused(request, 404, seat.visitor)
    if form.get("confirm") != "1":
        return await _page(request, seat, 422, error=f"console_confirm_{action}")
    try:
        if action == "roll":
            overlap = timedelta(hours=0 if form.get("now") == "1"
                                else settings.api_key_overlap_hours)
            made = await api_keys.roll(db, settings, seat.merchant.id, overlap, key_id,
                                       _member(request, seat))
            return await _page(request, seat, made=made, made_how="rolled")
        await api_keys.revoke(db, seat.merchant.id, key_id, _member(request, seat))
    except CheckoutError as err:
        return await _page(request, seat, err.status, error=err.detail)
    return RedirectResponse(f"/console/m/{seat.merchant.id}/keys?done={action}",
                            status_code=303, headers=HEADERS)


routes = [
    Route("/console/m/{merchant_id}/keys", keys_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/keys/create", create, methods=["POST"]),
    Route("/console/m/{merchant_id}/keys/{key_id}/{action}", key_action, methods=["POST"]),
]
