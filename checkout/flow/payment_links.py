"""Payment links: a short URL a merchant shares (a chat, a printed QR, an invoice) at which a
buyer makes a payment by pressing Pay; then the usual hosted checkout runs.

Opening a link changes nothing (link previews fetch it); `pay` is the buyer's POST. A
single-use link takes one payment: while one of its payments may still take the buyer's
money (pending, or held), pressing Pay again rejoins that payment instead of making a second,
and once one has been paid the link refuses. The check and the new payment are one
transaction under a lock on the link, so two buyers pressing at once make one payment.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from checkout.domain.money import CURRENCIES, Money, MoneyError
from checkout.domain.receipts import (
    RECEIPT_CURRENCY,
    ReceiptProblems,
    fiscal_day,
    parse_profile,
    profile_receipt,
)
from checkout.errors import CheckoutError, InvalidRequest, NotFound
from checkout.flow import payments as payment_flow
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.flow.receipts import check_mode
from checkout.store import payment_links as store
from checkout.store import repo
from checkout.store.db import Conn
from checkout.store.payment_links import Link
from checkout.store.records import Payment

log = logging.getLogger("checkout.flow")

PERSONS_AMOUNT = re.compile(r"[0-9]{1,12}([.,][0-9]{1,2})?")
SLUG_ALPHABET = string.ascii_letters + string.digits
SLUG_LENGTH = 12  # 71 bits: a link cannot be guessed from another


class LinkClosed(CheckoutError):
    """The link takes no payment (any more): why, in words a buyer's page shows."""

    status = 410
    type = "payment-link-closed"
    title = "The payment link takes no payment"

    def __init__(self, reason: str) -> None:
        super().__init__({"expired": "the payment link has expired",
                          "deactivated": "the payment link was deactivated",
                          "used": "the payment link has been paid already",
                          "outdated": "the payment link's tax rate has ended: ask the shop "
                                      "for a new link"}[reason])
        self.reason = reason  # expired | deactivated | used | outdated


@dataclass(frozen=True)
class LinkRequest:
    """A merchant's link to make, as its fields came (checked here, each problem named)."""

    currency: object
    description: object
    amount: object = None  # fixed, in minor units; None: the buyer enters it …
    min_amount: object = None  # … from this …
    max_amount: object = None  # … to this
    reusable: object = False
    expires_at: object = None  # a datetime with a zone, or None: never
    receipt: object = None  # a tax profile (`domain.receipts.parse_profile`), or None


def _positive_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else None


def _checked(ctx: FlowContext, req: LinkRequest) -> dict[str, object]:
    errors: list[dict[str, str]] = []
    currency = req.currency if isinstance(req.currency, str) and \
        req.currency in CURRENCIES else None
    if currency is None:
        errors.append({"field": "currency", "message": f"one of {', '.join(CURRENCIES)}"})
    description = req.description.strip() if isinstance(req.description, str) else ""
    if not description or len(description) > 128:
        errors.append({"field": "description", "message": "1 to 128 characters"})
    amount, low, high = (_positive_int(req.amount), _positive_int(req.min_amount),
                         _positive_int(req.max_amount))
    if req.amount is not None:
        if amount is None:
            errors.append({"field": "amount", "message": "a positive integer of minor units"})
        if req.min_amount is not None or req.max_amount is not None:
            errors.append({"field": "min_amount",
                           "message": "a fixed amount, or a minimum and a maximum: not both"})
    elif low is None or high is None or high < low:
        errors.append({"field": "min_amount" if low is None else "max_amount",
                       "message": "without a fixed amount, the buyer enters one from "
                                  "min_amount to max_amount (positive minor units, min ≤ max)"})
    if currency is not None:
        cur = CURRENCIES[currency]
        for field, value in (("amount", amount), ("min_amount", low), ("max_amount", high)):
            if value is not None and not cur.min_amount <= value <= cur.max_amount:
                errors.append({"field": field, "message": f"{cur.min_amount} to "
                                                          f"{cur.max_amount} minor units"})
    if not isinstance(req.reusable, bool):
        errors.append({"field": "reusable", "message": "true or false"})
    expires_at = req.expires_at
    now = ctx.now()
    top = now + timedelta(days=ctx.settings.payment_link_max_days)
    if expires_at is not None and (not isinstance(expires_at, datetime) or
                                   expires_at.tzinfo is None or not now < expires_at <= top):
        errors.append({"field": "expires_at", "message": "a time with a zone, in the future, "
                       f"at most {ctx.settings.payment_link_max_days:g} days away"})
    profile = None
    if req.receipt is not None:
        try:
            profile = parse_profile(req.receipt, fiscal_day(now))
        except ReceiptProblems as problems:
            errors += problems.errors
        if currency != RECEIPT_CURRENCY:
            errors.append({"field": "receipt", "message": "a 54-FZ receipt is in RUB only"})
    if errors:
        raise InvalidRequest("the payment link has invalid fields", errors)
    return {"currency": currency, "description": description, "amount": amount,
            "receipt": json.dumps(profile) if profile else None,
            "min_amount": low if amount is None else None,
            "max_amount": high if amount is None else None, "reusable": req.reusable,
            "expires_at": expires_at}


async def create(ctx: FlowContext, merchant_id: str, req: LinkRequest) -> Link:
    values = _checked(ctx, req)
    link_id = new_id("plink")
    async with ctx.db.transaction() as conn:
        merchant = await repo.merchant_by_id(conn, merchant_id)
        if merchant is None:
            raise NotFound(f"no merchant {merchant_id}")
        # What the merchant's acquirer cannot take is refused now, not at the buyer's press.
        # A link at an account that requires receipts needs a tax profile (every buyer's
        # payment would be refused otherwise); one that cannot carry them takes none.
        await check_mode(await ctx.drivers.get(merchant.acquirer, merchant.acquirer_account_id),
                         merchant.acquirer, values["receipt"] is not None, "link")
        caps = ctx.capabilities(merchant.acquirer)
        for field in ("amount", "min_amount", "max_amount"):
            value = values[field]
            if isinstance(value, int):
                refusal = caps.refusal(value, str(values["currency"]), hold=False,
                                       recurring=False)
                if refusal:
                    raise InvalidRequest(refusal[1], [{"field": refusal[0] if refusal[0] !=
                                                       "amount" else field,
                                                       "message": refusal[1]}])
        await store.insert_link(conn, {
            "id": link_id, "merchant_id": merchant_id, "created_at": ctx.now(),
            "slug": "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_LENGTH)),
            **values})
        made = await store.link(conn, link_id)
    assert made is not None
    return made


async def deactivate(ctx: FlowContext, merchant_id: str, link_id: str) -> Link:
    """The link takes no more payments; those already made go on as they are."""
    async with ctx.db.transaction() as conn:
        found = await store.link(conn, link_id, merchant_id)
        if found is None:
            raise NotFound("no such payment link")
        await store.deactivate(conn, link_id, ctx.now())
        done = await store.link(conn, link_id)
    assert done is not None
    return done


async def closed_because(conn: Conn, link: Link, now: datetime) -> str | None:
    """Why the link takes no payment now (expired, deactivated, used, outdated), or None."""
    if link.deactivated_at is not None:
        return "deactivated"
    if link.expires_at is not None and now >= link.expires_at:
        return "expired"
    if not link.reusable and await store.payment_in(conn, link.id, store.PAID):
        return "used"
    if link.receipt is not None:
        try:
            parse_profile(json.loads(link.receipt), fiscal_day(now))
        except ReceiptProblems:
            return "outdated"  # made with a tax rate that has ended since
    return None


def amount_for(link: Link, entered: str) -> int:
    """The amount a buyer pays at `link`: its own, or what they entered within its range."""
    if link.amount is not None:
        return link.amount
    assert link.min_amount is not None and link.max_amount is not None
    typed = entered.replace(" ", "").replace("\u00a0", "")
    amount = 0
    if PERSONS_AMOUNT.fullmatch(typed):  # digits, one separator: no "1e3", no "-5"
        try:
            amount = Money.from_major(typed, link.currency).amount
        except MoneyError:
            amount = 0
    if not link.min_amount <= amount <= link.max_amount:
        raise InvalidRequest("enter an amount within the range shown",
                             [{"field": "amount", "message": "within the link's range"}])
    return amount


async def pay(ctx: FlowContext, slug: str, entered: str, return_url: str) -> Payment:
    """The buyer pressed Pay: a new payment of the link (or, single-use, its live one)."""
    async with ctx.db.reader() as conn:
        link = await store.link_by_slug(conn, slug)
        merchant = await repo.merchant_by_id(conn, link.merchant_id) if link else None
    if link is None or merchant is None:
        raise NotFound("no such payment link")
    amount = amount_for(link, entered)

    async def guard(conn: Conn) -> str | None:
        await ctx.db.serialize(conn, f"payment-link:{link.id}")
        fresh = await store.link(conn, link.id)  # as it is now: deactivated meanwhile?
        assert fresh is not None
        reason = await closed_because(conn, fresh, ctx.now())
        if reason is not None:
            raise LinkClosed(reason)
        if not link.reusable:
            return await store.payment_in(conn, link.id, store.LIVE)
        return None

    receipt = None
    if link.receipt is not None:
        try:
            receipt = profile_receipt(json.loads(link.receipt), link.description, amount,
                                      fiscal_day(ctx.now()))
        except ReceiptProblems as problems:
            # A rate the link was made with has ended: the merchant must make a new link.
            log.error("payment link %s: its tax profile is out of date: %s", link.id, problems)
            raise LinkClosed("outdated") from None
    return await payment_flow.create_payment(ctx, merchant, payment_flow.PaymentRequest(
        amount=amount, currency=link.currency, description=link.description,
        return_url=return_url, payment_link_id=link.id,
        items=receipt.items if receipt else None, receipt=receipt), guard=guard)
