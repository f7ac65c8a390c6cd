"""A payment's 54-FZ receipt: what each acquirer call carries, the buyer's contact given on the
page, and what the acquirer says of the fiscal receipt.

The buyer's email and phone are personal data: sealed at rest, opened only to build the call.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from checkout.acquirers.base import REQUIRED, UNSUPPORTED, Acquirer, FiscalReceipt
from checkout.domain.money import Money
from checkout.domain.receipts import (
    PREPAYMENTS,
    Item,
    Receipt,
    ReceiptProblems,
    fiscal_day,
    items_from_json,
    parse_items,
    part_of,
    settlement_of,
)
from checkout.domain.states import FINAL_PAYMENT, EventType, PaymentStatus
from checkout.errors import (
    AcquirerError,
    Conflict,
    InvalidRequest,
    NotFound,
    ReceiptRequired,
    Unsupported,
)
from checkout.flow import cas
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.notify import outbox
from checkout.representations.payments import payment_object
from checkout.store import repo
from checkout.store.records import Payment

log = logging.getLogger("checkout.flow")

# What the acquirer says of the fiscal receipt (payments.receipt_status).
RECEIPT_PENDING, RECEIPT_SUCCEEDED = "pending", "succeeded"  # or "failed"
SETTLEMENT_SENDING = "sending"  # a closing receipt asked for; the answer not in (maybe issued)


# What an account that requires receipts needs of each kind of request, in the words of a 422.
_NEEDED = {
    "payment": ("", "is required: the taxation, the payment's items, and the buyer's email or "
                    "phone (or none: the hosted page asks)"),
    "link": (": give the link a tax profile", "is required: the taxation and the vat"),
}


async def check_mode(driver: Acquirer, acquirer: str, has_receipt: bool, what: str) -> None:
    """Refuse a payment (or a link) the account's receipts mode would refuse later: none where
    one is required, one where none can be carried."""
    mode = await driver.receipt_mode()
    if mode == REQUIRED and not has_receipt:
        detail, message = _NEEDED[what]
        raise ReceiptRequired(f"this merchant's {acquirer} account requires a 54-FZ receipt "
                              f"with every payment{detail}",
                              [{"field": "receipt", "message": message}])
    if mode == UNSUPPORTED and has_receipt:
        raise Unsupported(f"{acquirer} carries no 54-FZ receipt: fiscalise on your own side, "
                          "or use an account that does",
                          [{"field": "receipt", "message": f"not carried by {acquirer}"}])


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


def fiscal_changes(payment: Payment, fiscal: FiscalReceipt | None) -> dict[str, object]:
    """What the acquirer's word on the fiscal receipt changes on the payment. A registered
    receipt stays registered (news out of order never takes it back)."""
    if fiscal is None or payment.taxation is None:
        return {}
    if payment.receipt_status == RECEIPT_SUCCEEDED:
        # The sale's receipt is in: a later sale receipt is the closing one we asked for.
        if fiscal.kind == "sale" and payment.settlement_status in (SETTLEMENT_SENDING,
                                                                    RECEIPT_PENDING):
            return {"settlement_status": fiscal.status}
        return {}
    if fiscal.kind == "return":
        return {}  # a refund's receipt says nothing of the sale's
    changes: dict[str, object] = {}
    if fiscal.status != payment.receipt_status:
        changes["receipt_status"] = fiscal.status
    if fiscal.url and fiscal.url != payment.receipt_url:
        changes["receipt_url"] = fiscal.url[:2048]
    return changes


async def tell_registered(ctx: FlowContext, tx: cas.Versioned, before: Payment,
                          after: Payment) -> bool:
    """`payment.receipt_registered`, in the transaction that registered it. True if told."""
    if after.receipt_status != RECEIPT_SUCCEEDED or before.receipt_status == RECEIPT_SUCCEEDED:
        return False
    await outbox.emit(tx.conn, merchant_id=after.merchant_id, event_id=new_id("evt"),
                      event_type=str(EventType.PAYMENT_RECEIPT_REGISTERED),
                      payment_id=after.id, sequence=after.version,
                      obj=payment_object(after, ctx.checkout_url(after)), now=tx.now)
    return True


async def settle(ctx: FlowContext, merchant_id: str, payment_id: str,
                 raw_items: Any) -> Payment:
    """The closing (settlement) receipt of a prepaid payment, once the goods are delivered:
    its items (default: the payment's, what is left of them after refunds) paid in full from
    the prepayment. Issued once: recorded as sending before the call, and an answer that
    never came leaves it so (a person looks: a second would be a second fiscal document)."""
    async def record(tx: cas.Versioned) -> tuple[Payment, tuple[Item, ...]]:
        payment = await repo.payment(tx.conn, payment_id, merchant_id)
        if payment is None:
            raise NotFound("no such payment")
        if payment.taxation is None:
            raise Conflict("this payment has no receipt")
        if payment.status is not PaymentStatus.SUCCEEDED:
            raise Conflict(f"only a succeeded payment is settled; this one is {payment.status}")
        if payment.settlement_status is not None:
            raise Conflict(f"its closing receipt was sent already "
                           f"({payment.settlement_status})")
        paid = items_from_json(payment.items) or ()
        if not any(item.payment_method in PREPAYMENTS for item in paid):
            raise Conflict("the payment's receipt was for full payment: nothing to settle")
        prepaid = payment.captured_amount - payment.refunded_amount
        if prepaid <= 0:
            raise Conflict("nothing of the prepayment is left to settle")
        if raw_items is not None:
            try:
                items = parse_items(raw_items, prepaid, fiscal_day(tx.now))
            except ReceiptProblems as problems:
                raise InvalidRequest("the closing receipt's items are not valid",
                                     problems.errors) from None
        else:
            part = part_of(paid, prepaid)
            if part is None:
                raise InvalidRequest("say which items are settled", [
                    {"field": "items", "message": "required after a partial refund of items "
                                                  "of more than one unit"}])
            items = settlement_of(part)
        await tx.payment(payment, settlement_status=SETTLEMENT_SENDING)
        return tx.payments[payment_id], items

    payment, items = await cas.write(ctx, "record a closing receipt", record,
                                     payment_id=payment_id)
    async with ctx.db.reader() as conn:
        attempt = await repo.latest_attempt(conn, payment_id)
    assert attempt is not None and attempt.acquirer_ref
    receipt = receipt_of(ctx, payment, items)
    assert receipt is not None
    try:
        fiscal = await (await ctx.driver(attempt)).settle_receipt(
            attempt.acquirer_ref, receipt, Money(sum(i.amount for i in items),
                                                 payment.currency), f"{payment_id}:settle")
    except AcquirerError as err:
        if err.temporary:
            log.error("closing receipt of %s: no answer from the acquirer; left as sent, for "
                      "a person to check: %s", payment_id, err.detail,
                      extra={"payment_id": payment_id})
            raise
        fiscal, refusal = None, err.detail  # refused: nothing issued; may be tried again

    async def finish(tx: cas.Versioned) -> Payment:
        current = await repo.payment(tx.conn, payment_id)
        assert current is not None
        if current.settlement_status != SETTLEMENT_SENDING:
            return current  # the cash register's own word came first
        await tx.payment(current, settlement_status=fiscal.status if fiscal else None)
        return tx.payments[payment_id]
    done = await cas.write(ctx, "note a closing receipt", finish, payment_id=payment_id)
    if fiscal is None:
        raise Conflict(f"the acquirer refused the closing receipt, and issued nothing: "
                       f"{refusal}")
    return done
