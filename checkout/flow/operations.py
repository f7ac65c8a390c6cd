"""What a merchant does to a payment after the buyer: capture a hold, cancel.

An operation is recorded on the payment (`pending_operation`) before the acquirer is called
and cleared by applying the acquirer's answer, so a crash or timeout in between is finished by
the reconciler with the same idempotency key: never lost, never done twice.
"""

from __future__ import annotations

import logging

from checkout.acquirers.base import SessionState, Snapshot
from checkout.domain.money import Money
from checkout.domain.states import LIVE_ATTEMPT, AttemptStatus, PaymentStatus
from checkout.errors import AcquirerError, Conflict, InvalidRequest, NotFound, Unsupported
from checkout.flow import attempts as attempt_flow
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.notify import outbox
from checkout.store import repo
from checkout.store.records import Payment

log = logging.getLogger("checkout.flow")
A, P = AttemptStatus, PaymentStatus
# Why a payment was canceled, as `last_error.code` (the buyer's page words it).
CANCELED_BY_MERCHANT = "canceled_by_merchant"
HOLD_EXPIRED = "hold_expired"


async def capture(ctx: FlowContext, merchant_id: str, payment_id: str,
                  amount: int | None, *, again: bool = False) -> Payment:
    """Capture a hold. `again`: the merchant's request carries an Idempotency-Key, so it may
    be the retry of a capture whose answer was lost (a crash, a timeout that the reconciler
    then finished): if that very capture is already done, say so instead of refusing."""
    async with ctx.db.transaction() as conn:
        payment = await _owned(conn, merchant_id, payment_id)
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
                not ctx.acquirer(payment.acquirer).capabilities.partial_capture:
            raise Unsupported("this payment's acquirer captures only the whole held amount",
                              [{"field": "amount", "message": f"must be {payment.amount}"}])
        if payment.pending_operation and (payment.pending_operation, payment.pending_amount) \
                != ("capture", wanted):
            raise Conflict(f"a {payment.pending_operation} of this payment is in progress")
        if not await repo.update_payment(conn, payment, ctx.now(),
                                         pending_operation="capture", pending_amount=wanted):
            raise Conflict("the payment changed; try again")
    await perform_pending(ctx, payment_id, raise_errors=True)
    return await _reload(ctx, payment_id)


async def cancel(ctx: FlowContext, merchant_id: str, payment_id: str, *,
                 again: bool = False) -> Payment:
    """Release a hold, or stop a payment nobody has paid yet. `again` as for `capture`."""
    now = ctx.now()
    async with ctx.db.transaction() as conn:
        payment = await _owned(conn, merchant_id, payment_id)
        if again and payment.status is P.CANCELED and \
                payment.last_error_code == CANCELED_BY_MERCHANT:
            return payment
        if payment.status not in (P.PENDING, P.WAITING_FOR_CAPTURE):
            raise Conflict(f"a {payment.status} payment cannot be canceled"
                           + ("; refund it instead" if payment.status is P.SUCCEEDED else ""))
        if payment.pending_operation not in (None, "cancel"):
            raise Conflict(f"a {payment.pending_operation} of this payment is in progress")
        latest = await repo.latest_attempt(conn, payment_id)
        at_acquirer = latest is not None and latest.acquirer_ref is not None and (
            latest.status in LIVE_ATTEMPT or latest.status is A.AUTHORIZED)
        # The reason the buyer's page and the merchant's API give, should the cancel succeed.
        reason = {"last_error_code": CANCELED_BY_MERCHANT}
        if at_acquirer:
            ok = await repo.update_payment(conn, payment, now, pending_operation="cancel",
                                           **reason)
        else:
            # Nothing at the acquirer can still take money: cancel here and now.
            ok = await repo.update_payment(conn, payment, now, status=P.CANCELED,
                                           pending_operation=None, **reason)
            if ok and latest is not None and latest.status in LIVE_ATTEMPT:
                await repo.update_attempt(conn, latest, now, status=A.CANCELED)
            after = await repo.payment(conn, payment_id)
            assert after is not None
            if ok:
                await outbox.payment_changed(conn, payment, after, ctx.checkout_url(after),
                                             new_id("evt"), now)
        if not ok:
            raise Conflict("the payment changed; try again")
    if at_acquirer:
        await perform_pending(ctx, payment_id, raise_errors=True)
    else:
        ctx.versions.note(payment_id, payment.version + 1)
        ctx.outbox_written()
    return await _reload(ctx, payment_id)


async def perform_pending(ctx: FlowContext, payment_id: str, raise_errors: bool = False
                          ) -> attempt_flow.Applied | None:
    """Call the acquirer for the operation recorded on the payment, and apply its answer."""
    async with ctx.db.reader() as conn:
        payment = await repo.payment(conn, payment_id)
        attempt = await repo.latest_attempt(conn, payment_id)
    if payment is None or not payment.pending_operation or attempt is None or \
            not attempt.acquirer_ref:
        return None
    driver = ctx.acquirer(attempt.acquirer)
    key = f"{attempt.id}:{payment.pending_operation}"
    try:
        if payment.pending_operation == "capture":
            assert payment.pending_amount is not None
            snap = await driver.capture(attempt.acquirer_ref,
                                        Money(payment.pending_amount, payment.currency), key)
        else:
            snap = await driver.cancel(attempt.acquirer_ref, key)
    except AcquirerError as err:
        log.warning("%s failed: %s", payment.pending_operation, err.detail,
                    extra={"payment_id": payment_id})
        if err.temporary:
            if raise_errors:
                raise
            return None
        # The acquirer refuses: learn where the session really is, and forget the operation.
        snap = await driver.fetch(attempt.acquirer_ref)
        await _forget_operation(ctx, payment_id)
        result = await attempt_flow.apply_snapshot(ctx, attempt.id, snap)
        if raise_errors:
            raise Conflict(f"the acquirer refused the {payment.pending_operation}: "
                           f"{err.detail}") from err
        return result
    if payment.pending_operation == "cancel" and snap.state in (
            SessionState.AWAITING_BUYER, SessionState.PROCESSING, SessionState.NEEDS_CONFIRM):
        # Acquirers with their own page cannot cancel what nobody has paid yet: there it just
        # runs out. It ends here; the attempt stays watched, and a late payment is given back.
        snap = Snapshot(snap.ref, SessionState.CANCELED, error_code=repo.CANCELED_HERE,
                        error_message="canceled by the merchant before the buyer paid")
    if snap.state is SessionState.SUCCEEDED and payment.pending_operation == "cancel":
        # The buyer approved before our cancel landed: the money is taken; say so.
        await _forget_operation(ctx, payment_id)
    return await attempt_flow.apply_snapshot(ctx, attempt.id, snap)


async def release_lapsed_hold(ctx: FlowContext, payment_id: str) -> None:
    """A hold past the acquirer's hold period: release it rather than let it lapse unseen."""
    async with ctx.db.transaction() as conn:
        payment = await repo.payment(conn, payment_id)
        if payment is None or payment.status is not P.WAITING_FOR_CAPTURE or \
                payment.pending_operation:
            return
        if not await repo.update_payment(conn, payment, ctx.now(), pending_operation="cancel",
                                         last_error_code=HOLD_EXPIRED):
            return
    await perform_pending(ctx, payment_id)


async def _forget_operation(ctx: FlowContext, payment_id: str) -> None:
    for _ in range(5):
        async with ctx.db.transaction() as conn:
            payment = await repo.payment(conn, payment_id)
            if payment is None or payment.pending_operation is None:
                return
            if await repo.update_payment(conn, payment, ctx.now(), pending_operation=None,
                                         pending_amount=None):
                ctx.versions.note(payment_id, payment.version + 1)
                return


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

