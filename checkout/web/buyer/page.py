"""The buyer's checkout page: safe to GET, started by POST, kept fresh by cheap polling."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.acquirers.base import Family, Platform
from checkout.domain.branding import BrandError, text_on
from checkout.domain.receipts import Item, ReceiptProblems, items_from_json, parse_contact
from checkout.domain.states import FINAL_PAYMENT, AttemptStatus, PaymentStatus
from checkout.errors import AcquirerError, Conflict, NotFound, TooManyRequests
from checkout.flow import attempts as attempt_flow
from checkout.flow import receipts as receipt_flow
from checkout.flow.context import FlowContext
from checkout.flow.receipts import needs_contact
from checkout.pages.i18n import pick_language
from checkout.pages.templating import render
from checkout.store import repo
from checkout.store.records import Attempt, Merchant, Payment
from checkout.web.buyer.device import in_app_browser, platform_as, platform_for
from checkout.web.buyer.qr import qr_svg
from checkout.web.buyer.tokens import form_token, form_token_ok, read_checkout_token
from checkout.web.plumbing.rate_limits import RateLimits
from checkout.web.plumbing.security import csp_for_merchant

A, P = AttemptStatus, PaymentStatus
STOP_POLLING = 286  # htmx 2: this status stops the polling trigger that asked


@dataclass(frozen=True)
class View:
    """What the status region shows; `state` picks the template branch."""

    state: str
    payment: Payment
    merchant: Merchant
    attempt: Attempt | None
    seconds_left: int | None = None
    return_url: str = ""
    family: str = "link"  # "link": we show the T-Pay link; "page": the acquirer's page does

    @property
    def qr(self) -> str:
        """Drawn only when the template shows it: a phone's page shows the app button."""
        if self.family != Family.LINK or self.attempt is None or not self.attempt.action_url:
            return ""
        return qr_svg(self.attempt.action_url)

    @property
    def items(self) -> tuple[Item, ...]:
        return items_from_json(self.payment.items) or ()

    @property
    def final(self) -> bool:
        return self.payment.status in FINAL_PAYMENT or \
            self.payment.status is P.WAITING_FOR_CAPTURE


def view_of(ctx: FlowContext, payment: Payment, merchant: Merchant,
          attempt: Attempt | None) -> View:
    back = _return_url(payment)
    if payment.status is P.SUCCEEDED:
        return View("succeeded", payment, merchant, attempt, return_url=back)
    if payment.status is P.WAITING_FOR_CAPTURE:
        return View("waiting_capture", payment, merchant, attempt, return_url=back)
    if payment.status in FINAL_PAYMENT:
        return View(f"payment_{payment.status}", payment, merchant, attempt, return_url=back)
    if attempt is None and needs_contact(payment):
        return View("contact", payment, merchant, attempt, return_url=back)
    if attempt is None:
        return View("start", payment, merchant, attempt, return_url=back)
    if attempt.status in (A.STARTING, A.PROCESSING):
        return View("preparing", payment, merchant, attempt, return_url=back)
    if attempt.status is A.AWAITING_BUYER and attempt.action_url:
        left = None
        if attempt.deadline_at:
            left = max(0, math.floor((attempt.deadline_at - ctx.now()).total_seconds()))
        state = "awaiting" if left is None or left > 0 else "checking"
        family = ctx.capabilities(attempt.acquirer).family
        return View(state, payment, merchant, attempt, seconds_left=left, family=family,
                    return_url=back)
    if attempt.status in (A.FAILED, A.EXPIRED, A.CANCELED):
        return View("attempt_failed", payment, merchant, attempt, return_url=back)
    return View("preparing", payment, merchant, attempt, return_url=back)


def _return_url(payment: Payment) -> str:
    sep = "&" if urlsplit(payment.return_url).query else "?"
    return f"{payment.return_url}{sep}{urlencode({'payment_id': payment.id})}"


async def _load(request: Request) -> tuple[FlowContext, Payment, Merchant, Attempt | None]:
    ctx: FlowContext = request.app.state.flow
    payment_id = read_checkout_token(ctx.settings, request.path_params["token"])
    if payment_id is None:
        raise _PageNotFound
    async with ctx.db.reader() as conn:
        found = await repo.payment_page(conn, payment_id)
    if found is None:
        raise _PageNotFound
    payment, merchant, attempt = found
    return ctx, payment, merchant, attempt


class _PageNotFound(NotFound):
    """A checkout link that is forged, mangled or for no payment: a page, not JSON."""


def _context(request: Request, ctx: FlowContext, view: View,
             token: str = "", ua: str | None = None, contact_error: bool = False,
             contact_value: str = "") -> dict[str, Any]:
    token = token or request.path_params["token"]
    lang = pick_language(request, view.merchant.default_language)
    slower = _poll_factor(request, ctx, view.payment.id)
    return {
        "view": view,
        "lang": lang,
        "token": token,
        "poll_seconds": ctx.settings.poll_interval_seconds * slower,
        "return_delay": ctx.settings.return_delay_seconds,
        "form_token": form_token(ctx.settings, "attempt", view.payment.id),
        "status_url": f"/c/{token}/status?{urlencode({'v': view.payment.version, 'lang': lang})}",
        "attempts_url": f"/c/{token}/attempts?{urlencode({'lang': lang})}",
        "contact_error": contact_error, "contact_value": contact_value,
        **_escape_hatches(request, ctx, token, ua),
    }


def _escape_hatches(request: Request, ctx: FlowContext, token: str,
                    ua: str | None = None) -> dict[str, str]:
    """For a buyer inside another app's browser: this page's own link, to open elsewhere.

    On Android an `intent://` link hands it to the default browser; iOS has no such door, so
    the buyer copies the link (or scans the QR from another phone)."""
    ua = request.headers.get("user-agent", "") if ua is None else ua
    page_url = f"{ctx.settings.public_url}/c/{token}"
    scheme, _, rest = page_url.partition("://")
    android = platform_for(ua, request.headers.get("sec-ch-ua-mobile", "")).os == "android"
    return {"in_app": in_app_browser(ua), "page_url": page_url,
            "intent_url": f"intent://{rest}#Intent;scheme={scheme};end" if android else ""}


def _layout(view: View, device: str) -> str:
    """Which way the link is shown: as the live attempt's link was made (the buyer may have
    switched device), else as the device suggests."""
    if view.attempt is not None and view.attempt.platform_type in ("mobile", "desktop"):
        return view.attempt.platform_type
    return device


def _page_headers(merchant: Merchant) -> dict[str, str]:
    # Only the merchant's own embedding origins may frame its checkout; nothing else may.
    logo = urlsplit(merchant.logo_url) if merchant.logo_url else None
    return {"Cache-Control": "no-store",
            "Content-Security-Policy": csp_for_merchant(
                merchant.embed_origins, f"{logo.scheme}://{logo.netloc}" if logo else "")}


async def page(request: Request) -> Response:
    """GET is safe: link-preview bots open these URLs; nothing here starts or changes a thing."""
    try:
        ctx, payment, merchant, attempt = await _load(request)
    except _PageNotFound:
        return render(request, "checkout/not_found.html", status=404)
    return render_page(request, ctx, view_of(ctx, payment, merchant, attempt),
                       request.path_params["token"], request.headers.get("user-agent", ""),
                       request.headers.get("sec-ch-ua-mobile", ""))


def render_page(request: Request, ctx: FlowContext, view: View, token: str, ua: str,
                ch_mobile: str = "", *, live: bool = True, status: int = 200,
                **extra: Any) -> Response:
    """The whole checkout page for `view`, as a buyer with this User-Agent sees it. `live`:
    it polls for news (a sample page has none to poll for)."""
    platform = platform_for(ua, ch_mobile)
    context = _context(request, ctx, view, token, ua, **extra)
    if not live:
        context["status_url"] = ""
    return render(request, "checkout/page.html", status=status, platform=platform.type,
                  layout=_layout(view, platform.type), headers=_page_headers(view.merchant),
                  **context)


def sample_page(request: Request, ctx: FlowContext, payment: Payment, merchant: Merchant,
                attempt: Attempt | None, ua: str) -> Response:
    """The page for records nobody stored (the sandbox's gallery): its forms lead nowhere, and
    it does not poll (an unknown token's poll would end the page: 286 swaps in nothing)."""
    return render_page(request, ctx, view_of(ctx, payment, merchant, attempt), "gallery", ua,
                       live=False)


async def status(request: Request) -> Response:
    """The poll: 204 when nothing changed (no database, no rendering), 286 at the end."""
    ctx: FlowContext = request.app.state.flow
    payment_id = read_checkout_token(ctx.settings, request.path_params["token"])
    if payment_id is None:
        return Response(status_code=STOP_POLLING)
    try:
        seen = int(request.query_params.get("v", "0"))
    except ValueError:
        seen = 0
    if ctx.versions.unchanged(payment_id, seen):
        return _unchanged(request, payment_id)
    if seen:
        # Not known here (another instance may have changed it): one primary-key read of the
        # version, and the full load only when it moved.
        async with ctx.db.reader() as conn:
            version = await repo.payment_version(conn, payment_id)
        if version is None:
            return Response(status_code=STOP_POLLING)
        ctx.versions.note(payment_id, version)
        if version == seen:
            return _unchanged(request, payment_id)
    try:
        ctx, payment, merchant, attempt = await _load(request)
    except _PageNotFound:
        return Response(status_code=STOP_POLLING)
    ctx.versions.note(payment.id, payment.version)
    view = view_of(ctx, payment, merchant, attempt)
    if payment.version == seen:
        return _unchanged(request, payment_id)
    return _fragment(request, ctx, view)


def _poll_factor(request: Request, ctx: FlowContext, payment_id: str) -> float:
    """Past capacity, pages left waiting poll less (`LoadGauge.poll_factor`)."""
    return float(request.app.state.load.poll_factor(ctx.versions.moved_within(
        payment_id, ctx.settings.overload_keep_pace_seconds)))


def _unchanged(request: Request, payment_id: str) -> Response:
    """Nothing new. Past capacity, the page is told to wait longer before asking again
    (`X-Poll-Seconds`, read by checkout.js), so waiting buyers leave the CPU to payments."""
    headers = {"Cache-Control": "no-store"}
    factor = _poll_factor(request, request.app.state.flow, payment_id)
    if factor > 1:
        base = request.app.state.settings.poll_interval_seconds
        headers["X-Poll-Seconds"] = f"{base * factor:g}"
    return Response(status_code=204, headers=headers)


def _fragment(request: Request, ctx: FlowContext, view: View, **context: Any) -> Response:
    platform = platform_for(request.headers.get("user-agent", ""),
                            request.headers.get("sec-ch-ua-mobile", ""))
    return render(request, "checkout/_status.html",
                  status=STOP_POLLING if view.final else 200,
                  headers=_page_headers(view.merchant), platform=platform.type,
                  layout=_layout(view, platform.type),
                  **_context(request, ctx, view, **context))


async def start(request: Request) -> Response:
    """Start (or rejoin) the attempt. A POST: the buyer's own action, never a preview bot's."""
    try:
        ctx, payment, merchant, _ = await _load(request)
    except _PageNotFound:
        return render(request, "checkout/not_found.html", status=404)
    form = await request.form()
    fetch_site = request.headers.get("sec-fetch-site", "same-origin")
    if fetch_site not in ("same-origin", "none") or not form_token_ok(
            ctx.settings, "attempt", payment.id, str(form.get("ft", ""))):
        return Response("This form was not sent from the checkout page.", status_code=403,
                        media_type="text/plain")
    limits: RateLimits = request.app.state.rate_limits
    try:
        limits.hit(limits.starts_payment, request, key=payment.id)
        limits.hit(limits.starts_client, request)
    except TooManyRequests as err:
        return Response("Too many tries in a row: wait a moment, then try again.",
                        status_code=429, media_type="text/plain",
                        headers={"Retry-After": str(err.retry_after)})
    platform = platform_for(request.headers.get("user-agent", ""),
                            request.headers.get("sec-ch-ua-mobile", ""))
    if form.get("device") == "touch-mac" and platform.type == "desktop" and \
            "Macintosh" in request.headers.get("user-agent", ""):
        platform = Platform("mobile", "ios", platform.browser)  # an iPad, as its page found
    lang = pick_language(request, merchant.default_language)
    switch = str(form.get("switch", ""))
    if needs_contact(payment):
        given = str(form.get("contact", "")).strip()[:254]
        try:
            email, phone = parse_contact(given if "@" in given else "",
                                         "" if "@" in given else given)
            if not (email or phone):
                raise ReceiptProblems([])
            await receipt_flow.give_contact(ctx, payment.id, email, phone)
        except ReceiptProblems:
            # Asked again, saying what is wrong; nothing is started while it is empty.
            view = view_of(ctx, payment, merchant, None)
            if request.headers.get("hx-request") != "true":
                return render_page(request, ctx, view, request.path_params["token"],
                                   request.headers.get("user-agent", ""), status=422,
                                   contact_error=True, contact_value=given)
            # htmx swaps only a 2xx: the fragment that says what is wrong comes as a 200.
            return _fragment(request, ctx, view, contact_error=True, contact_value=given)
        except Conflict:
            pass
    try:
        if switch in ("mobile", "desktop"):
            await attempt_flow.switch_device(ctx, payment.id, platform_as(platform, switch),
                                             lang)
        else:
            await attempt_flow.start_attempt(ctx, payment.id, platform, lang)
    except (Conflict, AcquirerError):
        pass  # the page shows the payment as it now stands
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/c/{request.path_params['token']}?lang="
                                f"{lang}", status_code=303)
    async with ctx.db.reader() as conn:  # the merchant is as read above
        found = await repo.payment_and_latest_attempt(conn, payment.id)
    assert found is not None
    payment, attempt = found
    return _fragment(request, ctx, view_of(ctx, payment, merchant, attempt))


async def brand_css(request: Request) -> Response:
    """An accent colour as CSS variables (inline styles are forbidden by our CSP). A function
    of the colour in the path alone, so it is cached for ever and needs no database: the
    console's preview shows a colour not saved yet the same way."""
    limits: RateLimits = request.app.state.rate_limits
    limits.hit(limits.brand, request)
    accent = "#" + request.path_params["hex"].lower()
    try:
        on_accent = text_on(accent)
    except BrandError:
        return Response(":root {}", status_code=404, media_type="text/css")
    css = f":root {{ --accent: {accent}; --on-accent: {on_accent}; }}"
    return Response(css, media_type="text/css",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})


routes = [
    Route("/c/{token}/status", status, methods=["GET"]),  # first: the hottest path
    Route("/brand/accent/{hex}.css", brand_css, methods=["GET"]),
    Route("/c/{token}", page, methods=["GET"]),
    Route("/c/{token}/attempts", start, methods=["POST"]),
]
