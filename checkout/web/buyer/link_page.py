"""A payment link's page, `/l/<slug>`: what is paid for and to whom, and a Pay button.

GET is safe (chat apps and mail scanners fetch links to preview them): it reads and shows.
The buyer's POST makes the payment (`flow.payment_links.pay`) and sends them on to its
hosted checkout. A link that takes no payment says why, in the buyer's language, with 410.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.errors import InvalidRequest, Overloaded
from checkout.flow import payment_links as flow
from checkout.flow.context import FlowContext
from checkout.pages.i18n import pick_language
from checkout.pages.templating import render
from checkout.store import payment_links as store
from checkout.store import repo
from checkout.store.payment_links import Link
from checkout.store.records import Merchant
from checkout.web.buyer.tokens import form_token, form_token_ok
from checkout.web.plumbing.rate_limits import RateLimits
from checkout.web.plumbing.security import csp_for_merchant

MAX_SLUG = 32


def link_url(ctx: FlowContext, link: Link) -> str:
    return f"{ctx.settings.public_url}/l/{link.slug}"


async def _load(request: Request) -> tuple[FlowContext, Link, Merchant] | None:
    ctx: FlowContext = request.app.state.flow
    slug = request.path_params["slug"]
    if len(slug) > MAX_SLUG or not slug.isalnum():
        return None
    async with ctx.db.reader() as conn:
        link = await store.link_by_slug(conn, slug)
        merchant = await repo.merchant_by_id(conn, link.merchant_id) if link else None
    return (ctx, link, merchant) if link and merchant else None


def _headers(merchant: Merchant) -> dict[str, str]:
    logo = urlsplit(merchant.logo_url) if merchant.logo_url else None
    return {"Cache-Control": "no-store", "Content-Security-Policy": csp_for_merchant(
        (), f"{logo.scheme}://{logo.netloc}" if logo else "")}


async def _show(request: Request, ctx: FlowContext, link: Link, merchant: Merchant,
                status: int = 200, error: str = "", entered: str = "",
                headers: dict[str, str] | None = None) -> Response:
    lang = pick_language(request, merchant.default_language)
    async with ctx.db.reader() as conn:
        closed = await flow.closed_because(conn, link, ctx.now())
        # Back from the checkout (its return URL names the payment): thanks, if it was paid.
        back = request.query_params.get("payment_id", "")[:40]
        paid = await repo.payment(conn, back) if back else None
    if paid is not None and paid.payment_link_id == link.id and str(paid.status) in store.PAID:
        return render(request, "checkout/link.html", headers=_headers(merchant), lang=lang,
                      link=link, merchant=merchant, thanks=True, closed=None)
    return render(request, "checkout/link.html", status=410 if closed else status,
                  headers={**_headers(merchant), **(headers or {})}, lang=lang, link=link,
                  merchant=merchant, closed=closed, error=error, entered=entered,
                  busy=status == 503, form_token=form_token(ctx.settings, "link", link.id))


async def link_page(request: Request) -> Response:
    # One route per path, so a 405 lists every method the path has in its Allow header.
    loaded = await _load(request)
    if loaded is None:
        return render(request, "checkout/not_found.html", status=404)
    if request.method == "POST":
        return await _pay(request, *loaded)
    return await _show(request, *loaded)


async def _pay(request: Request, ctx: FlowContext, link: Link, merchant: Merchant) -> Response:
    """The buyer pressed Pay (a POST: the buyer's own act, never a preview's)."""
    form = await request.form()
    fetch_site = request.headers.get("sec-fetch-site", "same-origin")
    if fetch_site not in ("same-origin", "none") or not form_token_ok(
            ctx.settings, "link", link.id, str(form.get("ft", ""))):
        return Response("This form was not sent from the payment link's page.",
                        status_code=403, media_type="text/plain")
    limits: RateLimits = request.app.state.rate_limits
    limits.hit(limits.link_payments, request)
    entered = str(form.get("amount", ""))[:32]
    lang = pick_language(request, merchant.default_language)
    try:
        request.app.state.load.admit_new_payment()
        payment = await flow.pay(ctx, link.slug, entered, return_url=link_url(ctx, link))
    except Overloaded as busy:
        return await _show(request, ctx, link, merchant, 503, entered=entered,
                           headers=busy.headers)
    except flow.LinkClosed:
        return await _show(request, ctx, link, merchant)
    except InvalidRequest as err:
        return await _show(request, ctx, link, merchant, 422, error=err.detail,
                           entered=entered)
    return RedirectResponse(f"{ctx.checkout_url(payment)}?lang={lang}", status_code=303)


routes = [Route("/l/{slug}", link_page, methods=["GET", "POST"])]
