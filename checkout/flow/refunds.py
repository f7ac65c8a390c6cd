"""Refunds: several partial ones allowed, their sum never above what was captured.

A refund row is written (and the payment's version bumped, which serialises concurrent
refunds of one payment) before the acquirer is called with the refund's id as idempotency key.
Its outcome comes back in the session's refund list: from the call's answer, a webhook, or the
reconciler's status poll.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from checkout.acquirers.base import RefundState, RefundStatus
from checkout.domain.money import Money
from checkout.domain.receipts import items_from_json, items_json
from checkout.domain.states import EVENT_FOR_REFUND, AttemptStatus, PaymentStatus
from checkout.errors import (
    AcquirerError,
    Conflict,
    InvalidRequest,
    NotFound,
    TryAgain,
    Unsupported,
)
from checkout.flow import cas
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.flow.receipts import items_of_part, receipt_of
from checkout.notify import outbox
from checkout.representations.refunds import refund_object
from checkout.store import repo
from checkout.store.records import Attempt, Payment, Refund

log = logging.getLogger("checkout.flow")
# `refunds.review`: the acquirer's returned total moved by an amount the refund in flight does
# not explain (`_resume_by_total`).
UNEXPLAINED_TOTAL = "returned_total_unexplained"


async def create(ctx: FlowContext, merchant_id: str, payment_id: str,
                 amount: int | None, request_key: str | None = None,
                 items: Any = None) -> tuple[Refund, str]:
    """Reserve and send a refund; returns it with the payment's currency. `items`: the refund
    receipt's, where the payment has a receipt (default: the payment's, in proportion).

    With the merchant's `request_key`, asking again is safe even when the first answer was
    lost: the refund made under that key is sent again (its id is the acquirer's key too) and
    returned, never a second one made. Where the acquirer keeps no keys (TBC), it is not sent
    again from here: the first call may have been carried out (its instance died before the
    answer), and only the reconciler, reading the acquirer's total, may decide."""
    refund, attempt, payment, fresh = await cas.write(
        ctx, "reserve a refund",
        lambda tx: _reserve(tx, ctx, merchant_id, payment_id, amount, request_key, items),
        payment_id=payment_id)
    if refund.status != "pending" or \
            (not fresh and not ctx.capabilities(payment.acquirer).idempotent_refunds):
        return refund, payment.currency
    await send(ctx, refund, attempt, payment)
    return await _reload(ctx, refund.id, payment_id), payment.currency


async def _reserve(tx: cas.Versioned, ctx: FlowContext, merchant_id: str, payment_id: str,
                   amount: int | None, request_key: str | None, items: Any = None
                   ) -> tuple[Refund, Attempt, Payment, bool]:
    """The refund, its attempt and payment, and whether it was made just now (not found under
    the merchant's `request_key`)."""
    conn, now = tx.conn, tx.now
    payment = await repo.payment(conn, payment_id, merchant_id)
    if payment is None:
        raise NotFound("no such payment")
    if request_key is not None:
        earlier = await repo.refund_by_request_key(conn, payment_id, request_key)
        if earlier is not None:
            attempt = await repo.attempt(conn, earlier.attempt_id)
            assert attempt is not None
            return earlier, attempt, payment, False
    if payment.status is not PaymentStatus.SUCCEEDED:
        raise Conflict(f"only a succeeded payment can be refunded; this one is "
                       f"{payment.status}")
    existing = await repo.refunds_of(conn, payment_id)
    reserved = sum(r.amount for r in existing if r.status != "failed")
    left = payment.captured_amount - reserved
    if left <= 0:
        raise Conflict("nothing is left to refund on this payment")
    wanted = left if amount is None else amount
    if not 0 < wanted <= left:
        raise InvalidRequest("the refund amount must be more than 0 and at most what "
                             "is left to refund", [{"field": "amount",
                                                    "message": f"1 to {left}"}])
    attempt = await repo.latest_attempt(conn, payment_id)
    assert attempt is not None and attempt.status is AttemptStatus.SUCCEEDED
    _check_in_flight(ctx, payment, existing)
    _check_partial(ctx, payment, attempt, existing, wanted, left, now)
    part = items_json(items_of_part(payment, wanted, items, "refund"))
    refund_id = new_id("rf")
    await repo.insert_refund(conn, {
        "id": refund_id, "payment_id": payment_id, "attempt_id": attempt.id,
        "amount": wanted, "status": "pending", "created_at": now, "updated_at": now,
        "request_key": request_key, "items": part})
    # The bump serialises refunds of one payment: if another refund (or news) changed it
    # since we read it, this starts over, and the sum is checked against what is reserved.
    await tx.payment(payment)
    return (Refund(refund_id, payment_id, attempt.id, wanted, "pending", None, now, now,
                   items=part), attempt, payment, True)


def _check_in_flight(ctx: FlowContext, payment: Payment, existing: list[Refund]) -> None:
    """Where the acquirer keeps no refund of ours by key, only a running total (TBC), two
    refunds in flight at once cannot be told apart when an answer is lost: the total moved,
    but by whose? One at a time, decided in the transaction that reserves it."""
    if ctx.capabilities(payment.acquirer).idempotent_refunds:
        return
    if any(r.status == "pending" for r in existing):
        # It passes: never kept as the answer of the merchant's Idempotency-Key, so the same
        # request again, once the first has finished, makes the refund.
        raise TryAgain("a refund of this payment is still in flight, and its acquirer cannot "
                       "tell two apart: try again once it has finished")


def _check_partial(ctx: FlowContext, payment: Payment, attempt: Attempt,
                   existing: list[Refund], wanted: int, left: int, now: datetime) -> None:
    caps = ctx.capabilities(payment.acquirer)
    if wanted == left:
        return  # whatever is left, in one go: every acquirer takes that
    must = [{"field": "amount", "message": f"must be {left}"}]
    if not caps.partial_refund:
        raise Unsupported("this payment's acquirer refunds only what is left, in one go", must)
    partial = [r for r in existing
               if r.status != "failed" and r.amount < payment.captured_amount]
    if caps.partial_refund_limit is not None and len(partial) >= caps.partial_refund_limit:
        raise Unsupported(f"this payment's acquirer takes at most {caps.partial_refund_limit} "
                          f"partial refund(s) per payment; refund what is left in one go", must)
    first_day = caps.local_day(attempt.created_at)
    if caps.partial_refunds_first_day is not None and caps.local_day(now) == first_day and \
            sum(1 for r in partial if caps.local_day(r.created_at) == first_day) \
            >= caps.partial_refunds_first_day:
        raise Unsupported(f"on the payment's own day its acquirer takes "
                          f"{caps.partial_refunds_first_day} partial refund(s); refund what is "
                          f"left in one go, or part of it from tomorrow "
                          f"(UTC{caps.local_utc_offset_hours:+d})", must)


async def send(ctx: FlowContext, refund: Refund, attempt: Attempt, payment: Payment) -> None:
    """Ask the acquirer for the refund; safe to repeat (the refund id is the key)."""
    assert attempt.acquirer_ref
    part = items_from_json(refund.items)
    try:
        snap = await (await ctx.driver(attempt)).refund(
            attempt.acquirer_ref, Money(refund.amount, payment.currency), refund.id,
            receipt_of(ctx, payment, part) if part else None)
    except AcquirerError as err:
        if err.temporary:
            log.warning("refund call failed, will retry: %s", err.detail,
                        extra={"payment_id": refund.payment_id})
            return
        await _finish(ctx, refund, RefundStatus.FAILED, acquirer_ref=None)
        return
    await apply_states(ctx, attempt, snap.refunds)


async def apply_states(ctx: FlowContext, attempt: Attempt,
                       states: tuple[RefundState, ...]) -> None:
    """Bring our refunds of `attempt` in line with the acquirer's list of them."""
    async with ctx.db.reader() as conn:
        ours = await repo.refunds_of(conn, attempt.payment_id)
    await _tie_refunds(ctx, ours, states)
    async with ctx.db.reader() as conn:
        ours = await repo.refunds_of(conn, attempt.payment_id)
    by_ref = {r.acquirer_ref: r for r in ours if r.acquirer_ref}
    for state in states:
        refund = by_ref.get(state.ref)
        if refund is not None and refund.status == "pending" and \
                state.status is not RefundStatus.PENDING:
            await _finish(ctx, refund, state.status, acquirer_ref=state.ref)


async def _tie_refunds(ctx: FlowContext, ours: list[Refund],
                        states: tuple[RefundState, ...]) -> None:
    """Tie each of our refunds to one of the acquirer's.

    Refund requests carry no reference of ours, so we match by amount: our untied refunds of
    an amount, oldest first, take the acquirer's unclaimed refunds of that amount in its order.
    Refunds of one amount are interchangeable for the money; a unique index keeps every tie
    one-to-one when two of ours reach for the same one at once. A refund the acquirer refused
    (failed, never tied) made nothing there: tied to a later one of the same amount, it would
    leave that later refund pending for ever, and the money it moved unseen.
    """
    claimed = {r.acquirer_ref for r in ours if r.acquirer_ref}
    open_ = [r for r in ours if r.acquirer_ref is None and r.status == "pending"]
    for amount in {r.amount for r in open_}:
        untied = [r for r in open_ if r.amount == amount]
        free = [st.ref for st in states if st.amount == amount and st.ref not in claimed]
        for refund, ref in zip(untied, free, strict=False):
            async with ctx.db.transaction() as conn:
                await repo.link_refund(conn, refund.id, ref, ctx.now())


async def _finish(ctx: FlowContext, refund: Refund, status: RefundStatus,
                  acquirer_ref: str | None) -> None:
    """pending → succeeded/failed, with the payment's refunded amount and the event, at once."""
    async def finish(tx: cas.Versioned) -> bool:
        payment = await repo.payment(tx.conn, refund.payment_id)
        assert payment is not None
        changes: dict[str, object] = {"status": str(status)}
        if acquirer_ref:
            changes["acquirer_ref"] = acquirer_ref
        if not await repo.update_refund(tx.conn, refund, tx.now, **changes):
            return False  # someone else finished it
        refunded = payment.refunded_amount + (
            refund.amount if status is RefundStatus.SUCCEEDED else 0)
        await tx.payment(payment, refunded_amount=refunded)
        done = Refund(refund.id, refund.payment_id, refund.attempt_id, refund.amount,
                      str(status), acquirer_ref or refund.acquirer_ref, refund.created_at,
                      tx.now)
        await outbox.emit(tx.conn, merchant_id=payment.merchant_id, event_id=new_id("evt"),
                          event_type=str(EVENT_FOR_REFUND[status]), payment_id=payment.id,
                          sequence=payment.version + 1,
                          obj=refund_object(done, payment.currency), now=tx.now)
        tx.told = True
        return True

    if await cas.write(ctx, "finish a refund", finish, payment_id=refund.payment_id):
        log.info("refund %s", status, extra={"payment_id": refund.payment_id})


async def resume(ctx: FlowContext, refund: Refund) -> None:
    """The reconciler's turn for a refund still pending: ask again, or read the session."""
    async with ctx.db.reader() as conn:
        attempt = await repo.attempt(conn, refund.attempt_id)
        payment = await repo.payment(conn, refund.payment_id)
    assert attempt is not None and payment is not None and attempt.acquirer_ref
    driver = await ctx.driver(attempt)
    if not driver.capabilities.idempotent_refunds:
        await _resume_by_total(ctx, refund, attempt, payment)
        return
    snap = await driver.fetch(attempt.acquirer_ref)
    await apply_states(ctx, attempt, snap.refunds)
    current = await _reload(ctx, refund.id, refund.payment_id)
    listed = {state.ref for state in snap.refunds}
    if current.status == "pending" and current.acquirer_ref not in listed:
        # The session lists no refund for it: maybe our call never arrived, or the acquirer
        # keeps no list and was still processing it (T-Bank's REFUNDING). Asking again with
        # the same key is safe: a call it already took is answered from its memory, with the
        # state as it is now.
        await send(ctx, current, attempt, payment)


async def _resume_by_total(ctx: FlowContext, refund: Refund, attempt: Attempt,
                           payment: Payment) -> None:
    """For an acquirer that forgets keys and keeps only a returned total (TBC).

    Asking again could refund twice, so first wait until our own call must have ended and
    the acquirer has finished any cancel it is running, then compare its total with ours. One
    refund is in flight per payment (`_check_in_flight`): what the total gained beyond the
    payment's baseline and the refunds we know settled is this refund's amount (our lost call
    went through) or nothing (it never arrived: send it again). Anything else no single
    refund explains: it is parked for a person, never sent again, never guessed settled.
    """
    if refund.updated_at > ctx.now() - timedelta(seconds=2 * ctx.settings.acquirer_timeout_seconds):
        return  # our call may still be on its way
    assert attempt.acquirer_ref
    snap = await (await ctx.driver(attempt)).fetch(attempt.acquirer_ref)
    if snap.settling or snap.refunded_amount is None:
        return  # a cancel or a completion is still running there: its total is not settled
    gained = snap.refunded_amount - (attempt.returned_baseline or 0) - payment.refunded_amount
    if gained == refund.amount:
        await _finish(ctx, refund, RefundStatus.SUCCEEDED, acquirer_ref=refund.id)
        return
    if gained != 0:
        async with ctx.db.transaction() as conn:
            parked = await repo.park_refund(conn, refund, UNEXPLAINED_TOTAL, ctx.now())
        if parked:
            log.error("refund parked for review: the acquirer's returned total moved by %d, "
                      "and the refund in flight is %d", gained, refund.amount,
                      extra={"payment_id": refund.payment_id, "refund_id": refund.id})
        return
    async with ctx.db.transaction() as conn:
        claimed = await repo.claim_refund_retry(conn, refund, ctx.now())
    if claimed:  # one try per wait, by one instance
        await send(ctx, refund, attempt, payment)


async def list_for(ctx: FlowContext, merchant_id: str, payment_id: str
                   ) -> tuple[list[Refund], str]:
    async with ctx.db.reader() as conn:
        payment = await repo.payment(conn, payment_id, merchant_id)
        if payment is None:
            raise NotFound("no such payment")
        return await repo.refunds_of(conn, payment_id), payment.currency


async def _reload(ctx: FlowContext, refund_id: str, payment_id: str) -> Refund:
    async with ctx.db.reader() as conn:
        found = [r for r in await repo.refunds_of(conn, payment_id) if r.id == refund_id]
    return found[0]
