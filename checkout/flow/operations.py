"""What a merchant does to a payment after the buyer: capture a hold, cancel.

An operation is recorded on the payment (`pending_operation`) before the acquirer is called
and cleared by applying the acquirer's answer, so a crash or timeout in between is finished by
the reconciler with the same idempotency key: never lost, never done twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from checkout import drivers
from checkout.domain.receipts import items_json
from checkout.domain.states import LIVE_ATTEMPT, AttemptStatus, PaymentStatus
from checkout.errors import Conflict, InvalidRequest, NotFound, Unsupported
from checkout.flow import cas, news
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.flow.receipts import items_of_part
from checkout.notify import outbox
from checkout.store import repo
from checkout.store.db import Conn
from checkout.store.records import Payment

log = logging.getLogger("checkout.flow")
A, P = AttemptStatus, PaymentStatus
# Why a payment was canceled, as `last_error.code` (the buyer's page words it).
CANCELED_BY_MERCHANT = news.CANCELED_BY_MERCHANT
HOLD_EXPIRED = news.HOLD_EXPIRED


async def capture(ctx: FlowContext, merchant_id: str, payment_id: str,
                  amount: int | None, *, again: bool = False, items: Any = None) -> Payment:
    """Capture a hold. `again`: the merchant's request carries an Idempotency-Key, so it may
    be the retry of a capture whose answer was lost (a crash, a timeout that the reconciler
    then finished): if that very capture is already done, say so instead of refusing.
    `items`: the merchant's receipt items of a partial capture (default: in proportion)."""
    async def record(tx: cas.Versioned) -> Payment | None:
        payment = await _owned(tx.conn, merchant_id, payment_id)
        if again and payment.status is P.SUCCEEDED and not payment.capture \
                and payment.captured_amount == (payment.amount if amount is None else amount):
            return payment
        if payment.status is not P.WAITING_FOR_CAPTURE:
            raise Conflict(f"only a payment waiting for capture can be captured; this one is "
                           f"{payment.status}")
        wanted = payment.amount if amount is None else amount
        if not 0 < wanted <= payment.amount:
            raise InvalidRequest("the capture amount must be more than 0 and at most the held "
                                 "amount", [{"field": "amount",
                                             "message": f"1 to {payment.amount}"}])
        if wanted < payment.amount and \
                not ctx.capabilities(payment.acquirer).partial_capture:
            raise Unsupported("this payment's acquirer captures only the whole held amount",
                              [{"field": "amount", "message": f"must be {payment.amount}"}])
        if payment.pending_operation and (payment.pending_operation, payment.pending_amount) \
                != ("capture", wanted):
            raise Conflict(f"a {payment.pending_operation} of this payment is in progress")
        part = items_of_part(payment, wanted, items, "capture") \
            if wanted < payment.amount or items is not None else None
        await tx.payment(payment, pending_operation="capture", pending_amount=wanted,
                         pending_items=items_json(part))
        return None

    done = await cas.write(ctx, "record a capture", record, payment_id=payment_id)
    if done is not None:
        return done
    await news.perform_pending(ctx, payment_id, raise_errors=True)
    return await _reload(ctx, payment_id)


async def cancel(ctx: FlowContext, merchant_id: str, payment_id: str, *,
                 again: bool = False) -> Payment:
    """Release a hold, or stop a payment nobody has paid yet. `again` as for `capture`."""
    async def record(tx: cas.Versioned) -> bool:
        """True when the acquirer must now be asked to cancel."""
        payment = await _owned(tx.conn, merchant_id, payment_id)
        if again and payment.status is P.CANCELED and \
                payment.last_error_code == CANCELED_BY_MERCHANT:
            return False
        if payment.status not in (P.PENDING, P.WAITING_FOR_CAPTURE):
            raise Conflict(f"a {payment.status} payment cannot be canceled"
                           + ("; refund it instead" if payment.status is P.SUCCEEDED else ""))
        if payment.pending_operation not in (None, "cancel"):
            raise Conflict(f"a {payment.pending_operation} of this payment is in progress")
        latest = await repo.latest_attempt(tx.conn, payment_id)
        at_acquirer = latest is not None and latest.acquirer_ref is not None and (
            latest.status in LIVE_ATTEMPT or latest.status is A.AUTHORIZED)
        # The reason the buyer's page and the merchant's API give, should the cancel succeed.
        reason = {"last_error_code": CANCELED_BY_MERCHANT}
        if at_acquirer:
            await tx.payment(payment, pending_operation="cancel", **reason)
            return True
        # Nothing at the acquirer can still take money: cancel here and now.
        await tx.payment(payment, status=P.CANCELED, pending_operation=None, **reason)
        if latest is not None and latest.status in LIVE_ATTEMPT:
            await tx.attempt(latest, status=A.CANCELED)
        after = await repo.payment(tx.conn, payment_id)
        assert after is not None
        tx.told = await outbox.payment_changed(tx.conn, payment, after,
                                               ctx.checkout_url(after), new_id("evt"), tx.now)
        return False

    if await cas.write(ctx, "record a cancel", record, payment_id=payment_id):
        await news.perform_pending(ctx, payment_id, raise_errors=True)
    return await _reload(ctx, payment_id)


def hold_due_at(ctx: FlowContext, acquirer: str, authorized_at: datetime) -> datetime:
    """When we release a hold rather than let it lapse: a margin before its acquirer's own
    window ends, or after `hold_seconds` if that is set and sooner."""
    due = ctx.capabilities(acquirer).hold_ends(authorized_at) - \
        timedelta(seconds=ctx.settings.hold_margin_seconds)
    if ctx.settings.hold_seconds:
        due = min(due, authorized_at + timedelta(seconds=ctx.settings.hold_seconds))
    return due


async def holds_due(ctx: FlowContext, conn: Conn, now: datetime) -> list[str]:
    """Payments whose hold is due for release now.

    Per acquirer: another's younger-than-due holds (TBC keeps them 30 days) must never fill
    the page and hide this one's due ones. Within one acquirer a hold's end only grows with
    its authorization, so, oldest first, the due ones come before the rest."""
    due = []
    for name in drivers.NAMES:
        # No hold here can be due before it is this old: the candidates.
        least = ctx.capabilities(name).hold_shortest() - \
            timedelta(seconds=ctx.settings.hold_margin_seconds)
        if ctx.settings.hold_seconds:
            least = min(least, timedelta(seconds=ctx.settings.hold_seconds))
        held = await repo.holds_to_release(conn, name, now - max(least, timedelta(0)))
        due += [payment_id for payment_id, authorized_at in held
                if hold_due_at(ctx, name, authorized_at) <= now]
    return due


async def release_lapsed_hold(ctx: FlowContext, payment_id: str) -> None:
    """A hold past the acquirer's hold period: release it rather than let it lapse unseen."""
    async def record(tx: cas.Versioned) -> bool:
        payment = await repo.payment(tx.conn, payment_id)
        if payment is None or payment.status is not P.WAITING_FOR_CAPTURE or \
                payment.pending_operation:
            return False
        await tx.payment(payment, pending_operation="cancel", last_error_code=HOLD_EXPIRED)
        return True

    if await cas.write(ctx, "release a lapsed hold", record, payment_id=payment_id):
        await news.perform_pending(ctx, payment_id)


async def _owned(conn: object, merchant_id: str, payment_id: str) -> Payment:
    payment = await repo.payment(conn, payment_id, merchant_id)  # type: ignore[arg-type]
    if payment is None:
        raise NotFound("no such payment")
    return payment


async def _reload(ctx: FlowContext, payment_id: str) -> Payment:
    async with ctx.db.reader() as conn:
        payment = await repo.payment(conn, payment_id)
    assert payment is not None
    return payment

