"""Creating payments (idempotently) and ending the ones nobody paid."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from checkout.acquirers.base import Platform
from checkout.domain.receipts import Item, Receipt, items_json
from checkout.domain.states import PaymentStatus, payment_can_move
from checkout.errors import CheckoutError, InvalidRequest, Unsupported
from checkout.flow import cas
from checkout.flow.attempts import start_attempt
from checkout.flow.context import FlowContext
from checkout.flow.idempotency import Claim
from checkout.flow.ids import new_id
from checkout.flow.receipts import check_mode, seal_contact
from checkout.notify import outbox
from checkout.representations.payments import payment_object
from checkout.store import repo
from checkout.store.db import Conn
from checkout.store.records import Merchant, Payment

log = logging.getLogger("checkout.flow")
# The attempt of a charge nobody is present for: no device to describe.
MERCHANT_INITIATED = Platform(type="server", os="", browser="")


@dataclass(frozen=True)
class PaymentRequest:
    """A merchant's validated request to create a payment."""

    amount: int
    currency: str
    description: str
    return_url: str
    reference: str | None = None
    capture: bool = True
    customer_reference: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    save_payment_method: bool = False
    payment_method_id: str | None = None  # charge this saved method …
    initiator: str | None = None  # … with the buyer ("client") or without ("merchant")
    payment_link_id: str | None = None  # made by a buyer at this payment link
    items: tuple[Item, ...] | None = None  # line items, summing to `amount`
    receipt: Receipt | None = None  # a 54-FZ receipt of `items` (its contact may be empty)


# Run in the payment's own transaction before it is stored: raises to refuse it, or names a
# payment already there to answer with instead (a payment link's live one).
Guard = Callable[[Conn], Awaitable[str | None]]


async def create_payment(ctx: FlowContext, merchant: Merchant, req: PaymentRequest,
                         claim: Claim | None = None, guard: Guard | None = None) -> Payment:
    """Store a new payment; a charge of a saved method with no buyer is made at once.

    Under an Idempotency-Key (`claim`), the answer is kept in the payment's own transaction:
    a retry finds the payment, never makes a second one."""
    payment = await _insert(ctx, merchant, req, claim, guard)
    if req.initiator == "merchant":
        return await _charge_saved_method(ctx, payment)
    return payment


async def _charge_saved_method(ctx: FlowContext, payment: Payment) -> Payment:
    """No buyer: charge at once; the payment then shows where the charge stands (often
    final)."""
    try:
        await start_attempt(ctx, payment.id, MERCHANT_INITIATED)
    except CheckoutError:
        pass  # the payment says how it stands; the reconciler carries on
    async with ctx.db.reader() as conn:
        charged = await repo.payment(conn, payment.id)
    assert charged is not None
    return charged


async def _check_capabilities(ctx: FlowContext, merchant: Merchant,
                              req: PaymentRequest) -> None:
    """Refuse here, clearly, what the merchant's acquirer would refuse later, obscurely."""
    driver = await ctx.drivers.get(merchant.acquirer, merchant.acquirer_account_id)
    refusal = driver.capabilities.refusal(
        req.amount, req.currency, hold=not req.capture,
        recurring=req.save_payment_method or bool(req.payment_method_id),
        reference=req.reference or "")
    if refusal:
        raise Unsupported(refusal[1], [{"field": refusal[0], "message": refusal[1]}])
    await check_mode(driver, merchant.acquirer, req.receipt is not None, "payment")
    if req.receipt is not None and not req.receipt.has_contact and req.initiator == "merchant":
        raise InvalidRequest("nobody is on the page to give an email or phone", [
            {"field": "receipt", "message": "needs the buyer's email or phone"}])


async def _insert(ctx: FlowContext, merchant: Merchant, req: PaymentRequest,
                  claim: Claim | None, guard: Guard | None = None) -> Payment:
    now = ctx.now()
    await _check_capabilities(ctx, merchant, req)
    async with ctx.db.transaction() as conn:
        existing = await guard(conn) if guard is not None else None
        if existing is not None:
            found = await repo.payment(conn, existing)
            assert found is not None
            return found
        if req.payment_method_id is not None:
            method = await repo.payment_method(conn, req.payment_method_id, merchant.id)
            if method is None or method.disabled_at is not None:
                raise InvalidRequest("the payment method is unknown or disabled", [
                    {"field": "payment_method_id", "message": "not a saved method of yours"}])
            if method.acquirer != merchant.acquirer or \
                    method.acquirer_account_id != merchant.acquirer_account_id:
                raise Unsupported("the payment method was saved with another acquirer "
                                  "account and can only be charged there", [
                                      {"field": "payment_method_id",
                                       "message": f"saved with {method.acquirer}"}])
        payment = await repo.insert_payment(conn, {
            "id": new_id("pay"), "merchant_id": merchant.id, "acquirer": merchant.acquirer,
            "acquirer_account_id": merchant.acquirer_account_id,
            "status": str(PaymentStatus.PENDING), "amount": req.amount,
            "currency": req.currency, "description": req.description,
            "reference": req.reference, "return_url": req.return_url, "capture": req.capture,
            "customer_reference": req.customer_reference,
            "metadata": json.dumps(req.metadata, ensure_ascii=False),
            "captured_amount": 0, "refunded_amount": 0, "version": 1,
            "save_payment_method": req.save_payment_method,
            "payment_method_id": req.payment_method_id, "initiator": req.initiator,
            "payment_link_id": req.payment_link_id,
            "items": items_json(req.items),
            "taxation": req.receipt.taxation if req.receipt else None,
            "receipt_contact": seal_contact(ctx, req.receipt),
            "receipt_status": None,
            "created_at": now, "updated_at": now,
            "expires_at": now + timedelta(seconds=ctx.settings.payment_ttl_seconds),
        })
        if claim is not None:
            await claim.keep(conn, 201, payment_object(payment, ctx.checkout_url(payment)))
    ctx.versions.note(payment.id, payment.version)
    log.info("payment created", extra={"payment_id": payment.id, "merchant_id": merchant.id})
    return payment


async def expire_due_payments(ctx: FlowContext) -> int:
    """End pending payments past their expiry that have no live attempt."""
    now = ctx.now()
    async with ctx.db.reader() as conn:
        due = await repo.payments_to_expire(conn, now)
    ended = 0
    for stale in due:
        async def end(tx: cas.Versioned, payment_id: str = stale.id) -> PaymentStatus | None:
            current = await repo.payment(tx.conn, payment_id)
            if current is None or current.status is not PaymentStatus.PENDING:
                return None
            declined = await repo.attempt_failed_before(tx.conn, current.id)
            target = PaymentStatus.FAILED if declined else PaymentStatus.EXPIRED
            if not payment_can_move(current.status, target):
                return None
            await tx.payment(current, status=target)
            after = await repo.payment(tx.conn, current.id)
            assert after is not None
            tx.told = await outbox.payment_changed(tx.conn, current, after,
                                                   ctx.checkout_url(after), new_id("evt"),
                                                   tx.now)
            return target

        target = await cas.write(ctx, "end a payment nobody paid", end, payment_id=stale.id)
        if target is not None:
            ended += 1
            log.info("payment %s", target, extra={"payment_id": stale.id})
    return ended
