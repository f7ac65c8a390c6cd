"""The checkout settings page (developers and owners): the page's display name, logo, accent
colour and default language, and the origins buyers return to and that may embed it, with a
live preview of the buyer's page on a desktop and on a phone.

The preview is the buyer's page itself, drawn by its own renderer from sample records (as the
sandbox's gallery draws it) with the form's values, saved or not: what you see is what buyers
will get. htmx asks for new preview frames as the form changes; nothing there runs inline.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain.roles import Can
from checkout.errors import InvalidRequest
from checkout.flow import console
from checkout.flow import merchants as merchant_flow
from checkout.flow.context import FlowContext
from checkout.pages.i18n import LANGUAGES
from checkout.pages.samples import USER_AGENTS, sample
from checkout.store.records import Merchant
from checkout.web.buyer.page import sample_page
from checkout.web.console.access import HEADERS, Seat, at_merchant, page, refused
from checkout.web.plumbing.rate_limits import client_of

# The preview's two frames: (device, the state shown on it).
FRAMES = (("desktop", "awaiting-qr"), ("iphone", "awaiting-app"))
LOOK_FIELDS = ("name", "logo_url", "accent_color", "language")


def _origins(text: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in text.replace(",", "\n").splitlines() if o.strip())


def _look(values: FormData | QueryParams, merchant: Merchant) -> merchant_flow.CheckoutLook:
    return merchant_flow.CheckoutLook(
        name=str(values.get("name", merchant.name))[:300],
        logo_url=str(values.get("logo_url", merchant.logo_url)).strip()[:2100],
        accent_color=str(values.get("accent_color", merchant.accent_color)).strip()[:16],
        language=str(values.get("language", merchant.default_language)),
        return_origins=_origins(str(values.get("return_origins",
                                               "\n".join(merchant.return_origins)))),
        embed_origins=_origins(str(values.get("embed_origins",
                                              "\n".join(merchant.embed_origins)))))


def _frames(seat: Seat, look: merchant_flow.CheckoutLook) -> list[tuple[str, str]]:
    query = {k: getattr(look, k) for k in LOOK_FIELDS}
    if look.language:  # the page in that language, whatever the console's reader prefers
        query["lang"] = look.language
    return [(device, f"/console/m/{seat.merchant.id}/settings/preview?"
                     f"{urlencode({**query, 'device': device, 'state': state})}")
            for device, state in FRAMES]


def _page(request: Request, seat: Seat, look: merchant_flow.CheckoutLook, status: int = 200,
          errors: dict[str, str] | None = None) -> Response:
    return page(request, "console/settings.html", status=status, seat=seat,
                section="settings", look=look, languages=LANGUAGES, errors=errors or {},
                frames=_frames(seat, look), done=request.query_params.get("done", ""))


@at_merchant(Can.MANAGE_SETTINGS)
async def settings_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    return _page(request, seat, _look(QueryParams(), seat.merchant))


@at_merchant(Can.MANAGE_SETTINGS)
async def save(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    if any(k not in form for k in ("name", "return_origins")):  # not this page's form
        return _page(request, seat, _look(QueryParams(), seat.merchant), 422,
                     {"": "the form is incomplete"})
    look = _look(form, seat.merchant)
    ctx: FlowContext = request.app.state.flow
    try:
        await merchant_flow.set_checkout(ctx.db, ctx.settings, seat.merchant.id, look)
    except InvalidRequest as err:
        errors = {e["field"]: e["message"] for e in err.extra.get("errors", [])} or \
            {"": err.detail}
        return _page(request, seat, look, 422, errors)
    m = seat.merchant
    before = {"name": m.name, "logo_url": m.logo_url, "accent_color": m.accent_color,
              "language": m.default_language}
    changed = {k: getattr(look, k) for k in LOOK_FIELDS if getattr(look, k) != before[k]}
    await console.record(ctx.db, seat.visitor, action="settings.update",
                         target=seat.merchant.id, merchant_id=seat.merchant.id,
                         ip=client_of(request), detail={
                             **changed, "return_origins": list(look.return_origins),
                             "embed_origins": list(look.embed_origins)})
    return RedirectResponse(f"/console/m/{seat.merchant.id}/settings?done=saved",
                            status_code=303, headers=HEADERS)


@at_merchant(Can.MANAGE_SETTINGS)
async def frames(request: Request, seat: Seat, form: FormData | None) -> Response:
    """The preview's frames for the form's current values (htmx swaps them in)."""
    look = _look(request.query_params, seat.merchant)
    return page(request, "console/_preview.html", seat=seat, frames=_frames(seat, look))


@at_merchant(Can.MANAGE_SETTINGS)
async def preview(request: Request, seat: Seat, form: FormData | None) -> Response:
    """The buyer's page for sample records, in this merchant's look (as given, if it is
    valid; a value that would be refused on save is left out here)."""
    q = request.query_params
    ctx: FlowContext = request.app.state.flow
    look = _look(q, seat.merchant)
    bad = merchant_flow.brand_problems(ctx.settings, look.logo_url, look.accent_color)
    merchant = replace(seat.merchant, name=look.name.strip()[:200] or seat.merchant.name,
                       logo_url="" if "logo_url" in bad else look.logo_url,
                       accent_color="" if "accent_color" in bad else look.accent_color.lower(),
                       default_language=look.language if look.language in LANGUAGES else "")
    device = q.get("device", "desktop")
    state = q.get("state", "awaiting-qr")
    if device not in USER_AGENTS or state not in ("awaiting-qr", "awaiting-app", "start"):
        return refused(request, 404, seat.visitor)
    payment, merchant, attempt = sample(ctx.acquirers, ctx.now(), state, merchant)
    resp = sample_page(request, ctx, payment, merchant, attempt, USER_AGENTS[device])
    # Framed by the console itself, and by nothing else.
    csp = resp.headers["content-security-policy"]
    head, _, _ = csp.partition("frame-ancestors")
    resp.headers["content-security-policy"] = head + "frame-ancestors 'self'"
    return resp


routes = [
    Route("/console/m/{merchant_id}/settings", settings_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/settings", save, methods=["POST"]),
    Route("/console/m/{merchant_id}/settings/frames", frames, methods=["GET"]),
    Route("/console/m/{merchant_id}/settings/preview", preview, methods=["GET"]),
]
