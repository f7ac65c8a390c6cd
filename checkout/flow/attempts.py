"""Attempts: one acquirer session each, started by the buyer (or by the merchant's charge of a
saved method), switched to another device, and asked about when the acquirer is silent.

What the acquirer says about them is applied by `flow.news`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from checkout.acquirers.base import (
    METHOD_UNAVAILABLE,
    START_UNKNOWN,
    Platform,
    SessionState,
    Snapshot,
    StartRequest,
)
from checkout.domain.money import Money
from checkout.domain.states import (
    FINAL_PAYMENT,
    LIVE_ATTEMPT,
    AttemptStatus,
    PaymentStatus,
    Watch,
)
from checkout.errors import AcquirerError, Conflict, NotFound, TryAgain
from checkout.flow import cas, news
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.flow.receipts import needs_contact, receipt_of
from checkout.store import repo
from checkout.store.db import Conn
from checkout.store.records import Attempt, Payment

log = logging.getLogger("checkout.flow")
A, P = AttemptStatus, PaymentStatus
START_UNSENT = news.START_UNSENT


# ---- starting ------------------------------------------------------------------------------

async def start_attempt(ctx: FlowContext, payment_id: str, platform: Platform,
                        language: str = "") -> Attempt:
    """Begin paying: reuse the live attempt if there is one, else open a new session.

    A reload, a back button or a double tap lands here again and gets the same attempt.
    """
    async def begin(tx: cas.Versioned) -> tuple[Attempt, Payment | None]:
        found = await repo.payment_and_latest_attempt(tx.conn, payment_id)
        if found is None:
            raise NotFound("no such payment")
        payment, latest = found
        if latest is not None and (latest.status in LIVE_ATTEMPT or payment.status in
                                   FINAL_PAYMENT or payment.status is P.WAITING_FOR_CAPTURE):
            return latest, None
        if payment.status is not P.PENDING:
            raise Conflict(f"the payment is {payment.status}")
        if payment.pending_operation == "cancel":
            raise Conflict("the merchant is canceling this payment")
        if tx.now >= payment.expires_at:
            raise Conflict("the payment has expired")
        if needs_contact(payment):
            raise Conflict("the receipt needs the buyer's email or phone first")
        await _room_for_another(ctx, tx.conn, payment_id)
        attempt = await repo.insert_attempt(tx.conn, {
            "id": new_id("att"), "payment_id": payment_id, "acquirer": payment.acquirer,
            "acquirer_account_id": payment.acquirer_account_id,
            "status": str(A.STARTING), "platform_type": platform.type, "language": language,
            "platform_os": platform.os, "platform_browser": platform.browser,
            "version": 1, "created_at": tx.now, "updated_at": tx.now,
        })
        await tx.payment(payment)  # the page shows the attempt: its version is the payment's
        return attempt, payment

    attempt, payment = await cas.write(ctx, "start an attempt", begin, payment_id=payment_id)
    if payment is None:
        return attempt
    log.info("attempt started", extra={"payment_id": payment_id, "attempt_id": attempt.id})
    return await call_start(ctx, attempt, payment)


async def _room_for_another(ctx: FlowContext, conn: Conn, payment_id: str) -> None:
    """Each attempt is a session opened (and a switch one canceled) at the acquirer, by
    anyone holding the page: a payment has at most `attempts_per_payment_max` of them."""
    made = await repo.attempt_count(conn, payment_id)
    if made >= ctx.settings.attempts_per_payment_max:
        raise Conflict("this payment has had as many attempts as it may have")


async def switch_device(ctx: FlowContext, payment_id: str, platform: Platform,
                        language: str = "") -> Attempt:
    """Wrong device: pay with the other kind of link (app button ⇄ QR for another phone).

    Where the acquirer fixes the link's kind when the session starts (Bank 131), that is a new
    attempt, and the old session is canceled first: two live links could be paid twice.
    """
    async with ctx.db.reader() as conn:
        latest = await repo.latest_attempt(conn, payment_id)
    if latest is None or latest.status not in LIVE_ATTEMPT or \
            latest.platform_type == platform.type:
        return await start_attempt(ctx, payment_id, platform, language)
    driver = await ctx.driver(latest)
    if not driver.capabilities.link_fixed_at_start:
        return latest  # the same link serves both ways
    if not latest.acquirer_ref:
        raise TryAgain("the payment is still being set up; try again in a moment")
    async with ctx.db.reader() as conn:  # before the cancel: never end a link for nothing
        await _room_for_another(ctx, conn, payment_id)
    snap = await driver.cancel(latest.acquirer_ref, f"{latest.id}:switch")
    ended = await news.apply_snapshot(ctx, latest.id, snap)
    if ended.attempt.status in LIVE_ATTEMPT:
        # The acquirer kept it open: end it here, and keep watching it (a late payment on it
        # is given back).
        ended = await news.apply_snapshot(ctx, latest.id, Snapshot(
            latest.acquirer_ref, SessionState.CANCELED, error_code="device_switched",
            error_message="the buyer switched to another device"), watch=Watch.CANCELED_HERE)
    if ended.attempt.status is not A.CANCELED:
        return ended.attempt  # the buyer paid on the old link meanwhile: nothing to switch
    return await start_attempt(ctx, payment_id, platform, language)


async def call_start(ctx: FlowContext, attempt: Attempt, payment: Payment,
                     repeat: bool = False) -> Attempt:
    """Ask the acquirer for the session. `repeat`: an earlier call may have reached it (its
    answer never came); the same idempotency key makes that safe, and where the acquirer keeps
    no keys the session is looked for first."""
    driver = await ctx.driver(attempt)
    token = ""
    if payment.initiator and payment.payment_method_id:
        async with ctx.db.reader() as conn:
            method = await repo.payment_method(conn, payment.payment_method_id,
                                               payment.merchant_id)
        token = ctx.vault.open(method.token) \
            if method is not None and method.disabled_at is None else ""
        if not token:
            return (await news.apply_snapshot(ctx, attempt.id, Snapshot(
                "", SessionState.FAILED, error_code="payment_method_disabled",
                error_message="the saved payment method was disabled"))).attempt
    request = StartRequest(
        idempotency_key=attempt.id,
        amount=Money(payment.amount, payment.currency),
        platform=Platform(attempt.platform_type, attempt.platform_os, attempt.platform_browser),
        return_url=ctx.checkout_url(payment),
        customer_reference=payment.customer_reference or payment.merchant_id,
        capture=payment.capture,
        save_method=payment.save_payment_method,
        token=token,
        initiator=payment.initiator or "",
        description=payment.description,
        language=attempt.language or "",
        receipt=receipt_of(ctx, payment),
        # Echoed back by the acquirer, and shown in its dashboard next to its own ids.
        metadata={"payment_id": payment.id, "merchant_id": payment.merchant_id,
                  **({"reference": payment.reference} if payment.reference else {})},
    )
    # Every earlier call failed before it left us: nothing to look for.
    repeat = repeat and attempt.error_code != START_UNSENT
    try:
        found = await driver.find_start(request) \
            if repeat and not driver.capabilities.idempotent_start else None
        snap = found or await driver.start(request)
    except AcquirerError as err:
        if err.temporary and not driver.capabilities.idempotent_start:
            await _note_start(ctx, attempt, START_UNSENT if err.unsent and not repeat else None)
        if err.code == START_UNKNOWN:
            # Maybe charged, and the acquirer cannot say: watched until its own news (a
            # callback tied to this attempt in `flow.news`) or a person settles it.
            log.warning("a saved method's charge whose answer was lost: waiting for the "
                        "acquirer's word, not charging again: %s", err.detail,
                        extra={"attempt_id": attempt.id, "payment_id": payment.id})
            return attempt
        if err.temporary:
            log.warning("start failed, will retry: %s", err.detail,
                        extra={"attempt_id": attempt.id})
            return attempt
        if err.code == METHOD_UNAVAILABLE:
            # Every buyer of this merchant meets it until the account is fixed: say so loudly.
            log.error("the merchant's %s account does not take T-Pay: %s", attempt.acquirer,
                      err.detail, extra={"attempt_id": attempt.id,
                                         "merchant_id": payment.merchant_id})
        failed = Snapshot(ref="", state=SessionState.FAILED, error_code=err.code or "rejected",
                          error_message=err.detail)
        return (await news.apply_snapshot(ctx, attempt.id, failed)).attempt
    return (await news.apply_snapshot(ctx, attempt.id, snap)).attempt


async def _note_start(ctx: FlowContext, attempt: Attempt, note: str | None) -> None:
    """Whether the start of an attempt with no answer may have reached an acquirer that keeps
    no keys: `START_UNSENT` while every call failed before it left us."""
    if attempt.error_code == note or attempt.error_code not in (None, START_UNSENT):
        return  # as noted already: a charge waited on is asked about every pass
    async def write(tx: cas.Versioned) -> None:
        current = await repo.attempt(tx.conn, attempt.id)
        if current is not None and current.status is A.STARTING and \
                current.error_code != note and current.error_code in (None, START_UNSENT):
            await tx.attempt(current, error_code=note)
    await cas.write(ctx, "note an unanswered start", write, attempt_id=attempt.id)


# ---- time and silence ------------------------------------------------------------------------

def _charges_saved_method(payment: Payment) -> bool:
    return bool(payment.initiator and payment.payment_method_id)


async def refresh_attempt(ctx: FlowContext, attempt: Attempt) -> None:
    """Ask the acquirer where a live attempt stands; end it if its time is long over."""
    driver = await ctx.driver(attempt)
    if not attempt.acquirer_ref:
        async with ctx.db.transaction() as conn:
            payment = await repo.payment(conn, attempt.payment_id)
            await repo.mark_checked(conn, attempt.id, ctx.now())
        assert payment is not None
        if ctx.now() - attempt.created_at > timedelta(seconds=ctx.settings.attempt_ttl_seconds) \
                and not _charges_saved_method(payment):
            # The acquirer never answered our start: no buyer ever saw a link, so nothing can
            # have been paid. End it, so the buyer can try again and the payment can expire.
            # (A saved method's charge takes money with no buyer and no link: it is never
            # ended so; it is asked again with its key, or looked for, until an answer.)
            await news.apply_snapshot(ctx, attempt.id, Snapshot(
                "", SessionState.FAILED, error_code="acquirer_unreachable",
                error_message="the acquirer did not answer the start of the session"))
            return
        await call_start(ctx, attempt, payment, repeat=True)
        return
    grace = timedelta(seconds=ctx.settings.attempt_grace_seconds)
    overdue = attempt.deadline_at is not None and ctx.now() > attempt.deadline_at + grace
    try:
        snap = await driver.fetch(attempt.acquirer_ref)
    except AcquirerError:
        if not (overdue and attempt.status in LIVE_ATTEMPT):
            raise
        current = attempt  # the acquirer is down, and our deadline is over: end it here
    else:
        async with ctx.db.transaction() as conn:
            await repo.mark_checked(conn, attempt.id, ctx.now())
        current = (await news.apply_snapshot(ctx, attempt.id, snap)).attempt
    if current.status in LIVE_ATTEMPT and overdue:
        # The acquirer should have ended it by now. End it here first (a success that still
        # arrives is accepted: EXPIRED may become SUCCEEDED), then there, best effort: if the
        # cancel fails, the acquirer's own time limit ends the session.
        await news.apply_snapshot(ctx, attempt.id, Snapshot(
            attempt.acquirer_ref, SessionState.EXPIRED, error_code="expired",
            error_message="the buyer did not approve in time"))
        try:
            snap = await driver.cancel(attempt.acquirer_ref, attempt.id)
        except AcquirerError as err:
            log.warning("cancel after the deadline failed: %s", err.detail,
                        extra={"attempt_id": attempt.id})
            return
        await news.apply_snapshot(ctx, attempt.id, snap)
