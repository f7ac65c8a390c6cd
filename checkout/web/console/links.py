"""The payment links page: every link with what it took, a new one, and one link's page with
its payments, its QR code (SVG and PNG, to print) and the way to deactivate it.

Everyone in the team reads them; owners, developers and support make and deactivate them.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import segno
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain.money import CURRENCIES, Money, MoneyError
from checkout.domain.receipts import fiscal_choices, fiscal_day
from checkout.domain.roles import Can
from checkout.errors import CheckoutError
from checkout.flow import console
from checkout.flow import payment_links as flow
from checkout.flow.context import FlowContext
from checkout.store import payment_links as store
from checkout.store.payment_links import Link
from checkout.store.records import Payment
from checkout.web.buyer.link_page import link_url
from checkout.web.buyer.qr import qr_svg
from checkout.web.console.access import HEADERS, Seat, at_merchant, page, refused
from checkout.web.plumbing.rate_limits import client_of

PAGE = 50
QR_KINDS = {"svg": "image/svg+xml", "png": "image/png"}


async def _list(request: Request, seat: Seat, status: int = 200, error: str = "",
                errors: dict[str, str] | None = None, entered: FormData | None = None
                ) -> Response:
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.long_reader() as conn:  # totals add up every link's payments
        links = await store.links_page(conn, seat.merchant.id, limit=PAGE)
        totals = await store.totals(conn, [link.id for link in links])
        closed = {link.id: await flow.closed_because(conn, link, ctx.now()) for link in links}
    return page(request, "console/links.html", status=status, seat=seat, section="links",
                links=links, totals=totals, closed=closed,
                urls={link.id: link_url(ctx, link) for link in links}, error=error,
                errors=errors or {}, entered=entered or {}, currencies=sorted(CURRENCIES),
                fiscal=fiscal_choices(fiscal_day(ctx.now())),
                done=request.query_params.get("done", ""))


@at_merchant(Can.READ)
async def links_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    return await _list(request, seat)


def _minor(text: str, currency: str, field: str, problems: dict[str, str]) -> int | None:
    """An amount as a person types it, in the currency's units; None if blank."""
    text = text.replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    try:
        return Money.from_major(text, currency).amount
    except MoneyError:
        problems[field] = f"an amount of {currency}, like 1500 or 1500,50"
        return -1


@at_merchant(Can.MANAGE_LINKS)
async def create(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    ctx: FlowContext = request.app.state.flow
    problems: dict[str, str] = {}
    currency = str(form.get("currency") or "")
    currency = currency if currency in CURRENCIES else "RUB"
    fixed = form.get("kind") != "range"
    amount = _minor(str(form.get("amount") or ""), currency, "amount", problems) \
        if fixed else None
    low = None if fixed else _minor(str(form.get("min_amount") or ""), currency,
                                    "min_amount", problems)
    high = None if fixed else _minor(str(form.get("max_amount") or ""), currency,
                                     "max_amount", problems)
    expires: object = None
    if form.get("expires_on"):
        try:
            expires = datetime.fromisoformat(str(form.get("expires_on"))).replace(tzinfo=UTC)
        except ValueError:
            problems["expires_on"] = "a date and time"
    if problems:
        return await _list(request, seat, 422, error="console_link_refused", errors=problems,
                           entered=form)
    # A tax profile, where the shop sends 54-FZ receipts through its acquirer.
    receipt = {"taxation": str(form.get("taxation")), "vat": str(form.get("vat") or ""),
               "payment_object": str(form.get("payment_object") or "commodity")} \
        if form.get("taxation") else None
    try:
        made = await flow.create(ctx, seat.merchant.id, flow.LinkRequest(
            currency=currency, description=str(form.get("description") or ""),
            amount=amount, min_amount=low, max_amount=high,
            reusable=form.get("reusable") == "1", expires_at=expires, receipt=receipt))
    except CheckoutError as err:
        found = {e["field"].removeprefix("receipt."): e["message"]
                 for e in err.extra.get("errors") or []}
        if "receipt" in found:
            found["taxation"] = found.pop("receipt")
        if "expires_at" in found:
            found["expires_on"] = found.pop("expires_at")
        if fixed and "min_amount" in found:
            found["amount"] = found.pop("min_amount")
        return await _list(request, seat, err.status, error=err.detail, errors=found,
                           entered=form)
    await console.record(ctx.db, seat.visitor, action="payment_link.create", target=made.id,
                         merchant_id=seat.merchant.id, ip=client_of(request),
                         detail={"description": made.description})
    return RedirectResponse(f"/console/m/{seat.merchant.id}/links/{made.id}?done=created",
                            status_code=303, headers=HEADERS)


async def _one(request: Request, seat: Seat) -> tuple[FlowContext, Link] | None:
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.reader() as conn:
        found = await store.link(conn, request.path_params["link_id"], seat.merchant.id)
    return (ctx, found) if found else None


@at_merchant(Can.READ)
async def link_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    loaded = await _one(request, seat)
    if loaded is None:
        return refused(request, 404, seat.visitor)
    ctx, link = loaded
    async with ctx.db.reader() as conn:
        totals = (await store.totals(conn, [link.id]))[link.id]
        payments = [Payment.from_row(r) for r in await store.payments_of(conn, link.id, PAGE)]
        closed = await flow.closed_because(conn, link, ctx.now())
    url = link_url(ctx, link)
    return page(request, "console/link.html", seat=seat, section="links", link=link, url=url,
                qr=qr_svg(url), totals=totals, payments=payments, closed=closed,
                done=request.query_params.get("done", ""))


@at_merchant(Can.READ)
async def qr_file(request: Request, seat: Seat, form: FormData | None) -> Response:
    """The link's QR code to print: a file, named for the link."""
    loaded = await _one(request, seat)
    kind = request.path_params["kind"]
    if loaded is None or kind not in QR_KINDS:
        return refused(request, 404, seat.visitor)
    ctx, link = loaded
    out = io.BytesIO()
    segno.make(link_url(ctx, link), error="m").save(out, kind=kind, scale=10, border=4)
    return Response(out.getvalue(), media_type=QR_KINDS[kind], headers={
        **HEADERS, "Content-Disposition": f'attachment; filename="payment-link-{link.slug}.'
                                          f'{kind}"'})


@at_merchant(Can.MANAGE_LINKS)
async def deactivate(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    loaded = await _one(request, seat)
    if loaded is None:
        return refused(request, 404, seat.visitor)
    ctx, link = loaded
    try:
        await flow.deactivate(ctx, seat.merchant.id, link.id)
    except CheckoutError as err:
        return refused(request, err.status, seat.visitor)
    await console.record(ctx.db, seat.visitor, action="payment_link.deactivate",
                         target=link.id, merchant_id=seat.merchant.id, ip=client_of(request))
    return RedirectResponse(f"/console/m/{seat.merchant.id}/links/{link.id}?done=deactivated",
                            status_code=303, headers=HEADERS)


routes = [
    Route("/console/m/{merchant_id}/links", links_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/links/create", create, methods=["POST"]),
    Route("/console/m/{merchant_id}/links/{link_id}", link_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/links/{link_id}/qr.{kind}", qr_file, methods=["GET"]),
    Route("/console/m/{merchant_id}/links/{link_id}/deactivate", deactivate,
          methods=["POST"]),
]
