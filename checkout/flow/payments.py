"""Creating payments (idempotently) and ending the ones nobody paid."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from checkout.domain.states import PaymentStatus, payment_can_move
from checkout.errors import Conflict, IdempotencyMismatch, InvalidRequest, Unsupported
from checkout.flow.context import FlowContext
from checkout.notify import outbox
from checkout.store import repo
from checkout.store.records import Merchant, Payment

log = logging.getLogger("checkout.flow")


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


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


async def create_payment(
    ctx: FlowContext,
    merchant: Merchant,
    req: PaymentRequest,
    render: Callable[[Payment], str],
    idempotency: tuple[str, str] | None = None,
) -> tuple[int, str]:
    """Store a new payment and return (HTTP status, rendered body).

    With `idempotency = (key, request hash)`, the first answer is stored in the same
    transaction as the payment, and replayed for the same key and body; another body is a 422.
    """
    for _ in range(3):
        try:
            return await _create_once(ctx, merchant, req, render, idempotency)
        except IntegrityError:
            # A concurrent request with the same key won the race: replay its answer.
            if idempotency is None:
                raise
    raise Conflict("the request could not be completed; retry with the same Idempotency-Key")


def _check_capabilities(ctx: FlowContext, merchant: Merchant, req: PaymentRequest) -> None:
    """Refuse here, clearly, what the merchant's acquirer would refuse later, obscurely."""
    driver = ctx.acquirers.get(merchant.acquirer)
    if driver is None:
        raise Unsupported(f"the acquirer {merchant.acquirer!r} of this merchant is not "
                          f"configured on this checkout", status=503)
    refusal = driver.capabilities.refusal(
        req.amount, req.currency, hold=not req.capture,
        recurring=req.save_payment_method or bool(req.payment_method_id),
        reference=req.reference or "")
    if refusal:
        raise Unsupported(refusal[1], [{"field": refusal[0], "message": refusal[1]}])


async def _create_once(ctx: FlowContext, merchant: Merchant, req: PaymentRequest,
                       render: Callable[[Payment], str],
                       idempotency: tuple[str, str] | None) -> tuple[int, str]:
    now = ctx.now()
    async with ctx.db.transaction() as conn:
        if idempotency:
            seen = await repo.idempotent_answer(conn, merchant.id, idempotency[0])
            if seen:
                if seen[0] != idempotency[1]:
                    raise IdempotencyMismatch(
                        "this Idempotency-Key was first used with a different request body")
                return seen[1], seen[2]
        _check_capabilities(ctx, merchant, req)  # after a replay: an answer given stays given
        if req.payment_method_id is not None:
            method = await repo.payment_method(conn, req.payment_method_id, merchant.id)
            if method is None or method.disabled_at is not None:
                raise InvalidRequest("the payment method is unknown or disabled", [
                    {"field": "payment_method_id", "message": "not a saved method of yours"}])
            if method.acquirer != merchant.acquirer:
                raise Unsupported("the payment method was saved with another acquirer and "
                                  "can only be charged there", [
                                      {"field": "payment_method_id",
                                       "message": f"saved with {method.acquirer}"}])
        payment_id = new_id("pay")
        await repo.insert_payment(conn, {
            "id": payment_id, "merchant_id": merchant.id, "acquirer": merchant.acquirer,
            "status": str(PaymentStatus.PENDING), "amount": req.amount,
            "currency": req.currency, "description": req.description,
            "reference": req.reference, "return_url": req.return_url, "capture": req.capture,
            "customer_reference": req.customer_reference,
            "metadata": json.dumps(req.metadata, ensure_ascii=False),
            "captured_amount": 0, "refunded_amount": 0, "version": 1,
            "save_payment_method": req.save_payment_method,
            "payment_method_id": req.payment_method_id, "initiator": req.initiator,
            "created_at": now, "updated_at": now,
            "expires_at": now + timedelta(seconds=ctx.settings.payment_ttl_seconds),
        })
        payment = await repo.payment(conn, payment_id)
        assert payment is not None
        body = render(payment)
        if idempotency:
            await repo.remember_answer(conn, merchant_id=merchant.id, key=idempotency[0],
                                       request_hash=idempotency[1], status_code=201, body=body,
                                       now=now)
    ctx.versions.note(payment.id, payment.version)
    log.info("payment created", extra={"payment_id": payment.id, "merchant_id": merchant.id})
    return 201, body


async def expire_due_payments(ctx: FlowContext) -> int:
    """End pending payments past their expiry that have no live attempt."""
    now = ctx.now()
    async with ctx.db.reader() as conn:
        due = await repo.payments_to_expire(conn, now)
    ended = 0
    for stale in due:
        async with ctx.db.transaction() as conn:
            current = await repo.payment(conn, stale.id)
            if current is None or current.status is not PaymentStatus.PENDING:
                continue
            declined = await repo.attempt_failed_before(conn, current.id)
            target = PaymentStatus.FAILED if declined else PaymentStatus.EXPIRED
            if not (payment_can_move(current.status, target)
                    and await repo.update_payment(conn, current, now, status=target)):
                continue
            after = await repo.payment(conn, current.id)
            assert after is not None
            await outbox.payment_changed(conn, current, after, ctx.checkout_url(after),
                                         new_id("evt"), now)
        ended += 1
        ctx.versions.note(after.id, after.version)
        ctx.outbox_written()
        log.info("payment %s", target, extra={"payment_id": current.id})
    return ended
