"""The API keys page (developers and owners): every key by its last characters, when it was
made, last used and stops; make one (shown once), roll one with an overlap, revoke one."""

from __future__ import annotations

from datetime import timedelta

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain.roles import Can
from checkout.errors import CheckoutError
from checkout.flow import api_keys, console
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
                overlap_hours=request.app.state.settings.api_key_overlap_hours)


@at_merchant(Can.MANAGE_KEYS)
async def keys_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    return await _page(request, seat)


@at_merchant(Can.MANAGE_KEYS)
async def create(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    if form.get("confirm") != "1":
        return await _page(request, seat, 422, error="console_confirm_create")
    db, settings = request.app.state.db, request.app.state.settings
    made = await api_keys.create(db, settings, seat.merchant.id)
    await console.record(db, seat.visitor, action="key.create", target=made.key_id,
                         merchant_id=seat.merchant.id, ip=client_of(request))
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
            made = await api_keys.roll(db, settings, seat.merchant.id, overlap, key_id)
        else:
            await api_keys.revoke(db, seat.merchant.id, key_id)
    except CheckoutError as err:
        return await _page(request, seat, err.status, error=err.detail)
    detail = {"ends_with": found.hint}
    if action == "roll":
        detail["new_key"] = made.key_id
        detail["overlap_hours"] = str(overlap.total_seconds() / 3600)
    await console.record(db, seat.visitor, action=f"key.{action}", target=key_id,
                         merchant_id=seat.merchant.id, ip=client_of(request), detail=detail)
    if action == "roll":
        return await _page(request, seat, made=made, made_how="rolled")
    return RedirectResponse(f"/console/m/{seat.merchant.id}/keys?done={action}",
                            status_code=303, headers=HEADERS)


routes = [
    Route("/console/m/{merchant_id}/keys", keys_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/keys/create", create, methods=["POST"]),
    Route("/console/m/{merchant_id}/keys/{key_id}/{action}", key_action, methods=["POST"]),
]
