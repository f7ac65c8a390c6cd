"""A payment's 54-FZ receipt: what each acquirer call carries, the buyer's contact given on the
page, and what the acquirer says of the fiscal receipt.

The buyer's email and phone are personal data: sealed at rest, opened only to build the call.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from checkout.domain.receipts import (
    Item,
    Receipt,
    ReceiptProblems,
    fiscal_day,
    items_from_json,
    parse_items,
    part_of,
)
from checkout.domain.states import FINAL_PAYMENT
from checkout.errors import Conflict, InvalidRequest, NotFound
from checkout.flow import cas
from checkout.flow.context import FlowContext
from checkout.store import repo
from checkout.store.records import Payment

log = logging.getLogger("checkout.flow")

# What the acquirer says of the fiscal receipt (payments.receipt_status).
RECEIPT_PENDING, RECEIPT_SUCCEEDED, RECEIPT_FAILED = "pending", "succeeded", "failed"


def seal_contact(ctx: FlowContext, receipt: Receipt | None) -> str | None:
    if receipt is None or not receipt.has_contact:
        return None
    return ctx.vault.seal(json.dumps({"email": receipt.email, "phone": receipt.phone}))


def receipt_of(ctx: FlowContext, payment: Payment,
               items: tuple[Item, ...] | None = None) -> Receipt | None:
    """The payment's receipt, of `items` (default: all the payment's); None without one."""
    if payment.taxation is None:
        return None
    all_items = items_from_json(payment.items) or ()
    contact = json.loads(ctx.vault.open(payment.receipt_contact)) \
        if payment.receipt_contact else {}
    return Receipt(taxation=payment.taxation, items=items or all_items,
                   email=contact.get("email", ""), phone=contact.get("phone", ""))


def needs_contact(payment: Payment) -> bool:
    """The receipt has nowhere to go yet: the page asks the buyer before any start."""
    return payment.taxation is not None and payment.receipt_contact is None


def items_of_part(payment: Payment, amount: int, raw_items: Any,
                  what: str) -> tuple[Item, ...] | None:
    """The receipt's items of a capture or refund of `amount`: as the merchant gave them
    (checked against the sale's day), or the payment's in proportion. None when the payment
    has no receipt."""
    if payment.taxation is None:
        if raw_items is not None:
            raise InvalidRequest("this payment has no receipt", [
                {"field": "items", "message": "only for a payment with a receipt"}])
        return None
    if raw_items is not None:
        try:
            return parse_items(raw_items, amount, fiscal_day(payment.created_at))
        except ReceiptProblems as problems:
            raise InvalidRequest(f"the {what}'s items are not valid",
                                 problems.errors) from None
    part = part_of(items_from_json(payment.items) or (), amount)
    if part is None:
        raise InvalidRequest(f"say which items this {what} is of", [
            {"field": "items", "message": f"required for a partial {what} of items of more "
                                          "than one unit"}])
    return part


async def give_contact(ctx: FlowContext, payment_id: str, email: str, phone: str) -> Payment:
    """The buyer's email or phone, given on the hosted page, for the receipt. The first one
    given stands (another tab's later one changes nothing)."""
    sealed = ctx.vault.seal(json.dumps({"email": email, "phone": phone}))

    async def step(tx: cas.Versioned) -> Payment:
        payment = await repo.payment(tx.conn, payment_id)
        if payment is None:
            raise NotFound("no such payment")
        if payment.taxation is None:
            raise Conflict("this payment has no receipt")
        if payment.receipt_contact is not None or payment.status in FINAL_PAYMENT:
            return payment
        await tx.payment(payment, receipt_contact=sealed)
        return tx.payments[payment_id]
    return await cas.write(ctx, "keep the buyer's contact", step, payment_id=payment_id)
