"""Merchant API: payment links — make one, list them, read one, deactivate one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.errors import InvalidRequest, NotFound
from checkout.flow import payment_links as flow
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim
from checkout.representations.payment_links import link_object
from checkout.store import payment_links as store
from checkout.store.payment_links import Link
from checkout.web.buyer.link_page import link_url
from checkout.web.merchant_api.auth import authenticate
from checkout.web.merchant_api.idempotency import answer_once, json_answer, read_json, request_key
from checkout.web.merchant_api.requests import LinkCreate, parse_fields


async def _shown(ctx: FlowContext, links: list[Link]) -> list[dict[str, object]]:
    now = ctx.now()
    async with ctx.db.reader() as conn:
        totals = await store.totals(conn, [link.id for link in links])
        return [link_object(link, link_url(ctx, link), totals[link.id],
                            active=await flow.closed_because(conn, link, now) is None)
                for link in links]


def _expiry(text: str | None) -> datetime | None | str:
    """The expiry as a time with a zone; the text itself when it is not one (refused later,
    with the other problems)."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


async def links(request: Request) -> Response:
    # One route per path, so a 405 lists every method the path has in its Allow header.
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    if request.method == "GET":
        return await _list(request, ctx, merchant.id)
    doc = read_json(await request.body())
    request_key(request)
    parsed = parse_fields(LinkCreate, doc)
    assert isinstance(parsed, LinkCreate)

    async def create(claim: Claim | None) -> tuple[int, Any]:
        made = await flow.create(ctx, merchant.id, flow.LinkRequest(
            currency=parsed.currency, description=parsed.description, amount=parsed.amount,
            min_amount=parsed.min_amount, max_amount=parsed.max_amount,
            reusable=parsed.reusable, expires_at=_expiry(parsed.expires_at),
            receipt=parsed.receipt))
        return 201, (await _shown(ctx, [made]))[0]
    return await answer_once(request, merchant, doc, create)


async def _list(request: Request, ctx: FlowContext, merchant_id: str) -> Response:
    q = request.query_params
    try:
        limit = int(q.get("limit", "20"))
        if not 1 <= limit <= 100:
            raise ValueError
    except ValueError:
        raise InvalidRequest("the query has invalid parameters", [
            {"field": "limit", "message": "an integer from 1 to 100"}]) from None
    before = None
    async with ctx.db.reader() as conn:
        if q.get("starting_after"):
            cursor = await store.link(conn, q["starting_after"], merchant_id)
            if cursor is None:
                raise InvalidRequest("starting_after is not one of your payment links", [
                    {"field": "starting_after", "message": "unknown payment link"}])
            before = (cursor.created_at, cursor.id)
        found = await store.links_page(conn, merchant_id, limit=limit + 1, before=before)
    return json_answer(200, {"object": "list", "has_more": len(found) > limit,
                             "data": await _shown(ctx, found[:limit])})


async def link(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.reader() as conn:
        found = await store.link(conn, request.path_params["link_id"], merchant.id)
    if found is None:
        raise NotFound("no such payment link")
    return json_answer(200, (await _shown(ctx, [found]))[0])


async def deactivate(request: Request) -> Response:
    merchant = await authenticate(request)
    ctx: FlowContext = request.app.state.flow
    doc = read_json(await request.body(), empty_ok=True)
    request_key(request)
    if doc not in (None, {}):
        raise InvalidRequest("deactivate takes no body fields")

    async def run(claim: Claim | None) -> tuple[int, Any]:
        done = await flow.deactivate(ctx, merchant.id, request.path_params["link_id"])
        return 200, (await _shown(ctx, [done]))[0]
    return await answer_once(request, merchant, doc, run)


routes = [
    Route("/api/v1/payment_links", links, methods=["GET", "POST"]),
    Route("/api/v1/payment_links/{link_id}", link, methods=["GET"]),
    Route("/api/v1/payment_links/{link_id}/deactivate", deactivate, methods=["POST"]),
]
