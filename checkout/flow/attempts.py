"""Attempts: one acquirer session each, started by the buyer and moved by what the acquirer says.

Every change is one transaction that re-reads the attempt and its payment and writes both with
a version check; a miss means someone else moved them first, so we read again and re-decide.
Late, duplicated and out-of-order news is recorded and ignored, never applied backwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from checkout.acquirers.base import (
    REDACTED,
    Notice,
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
    attempt_can_move,
    payment_can_move,
)
from checkout.errors import AcquirerError, Conflict, NotFound
from checkout.flow import refunds as refund_flow
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.notify import outbox
from checkout.store import repo
from checkout.store.records import Attempt, Payment

log = logging.getLogger("checkout.flow")
A, P = AttemptStatus, PaymentStatus

# What an acquirer's session state means for our attempt.
ATTEMPT_STATUS_FOR: dict[SessionState, AttemptStatus] = {
    SessionState.PROCESSING: A.PROCESSING,
    SessionState.NEEDS_CONFIRM: A.PROCESSING,
    SessionState.AWAITING_BUYER: A.AWAITING_BUYER,
    SessionState.AUTHORIZED: A.AUTHORIZED,
    SessionState.SUCCEEDED: A.SUCCEEDED,
    SessionState.FAILED: A.FAILED,
    SessionState.CANCELED: A.CANCELED,
    SessionState.EXPIRED: A.EXPIRED,
}

_RETRIES = 8

# Debts an attempt can carry when the buyer paid on it after its payment was settled elsewhere
# (e.g. approved a link we had given up on, while a newer attempt also succeeded).
REFUND_DUE = "refund_due"
RELEASE_DUE = "release_due"
DOUBLE_PAYMENT_CODES = frozenset({REFUND_DUE, RELEASE_DUE, "refunded_double_payment",
                                  "released_double_payment"})


@dataclass(frozen=True)
class Applied:
    outcome: str  # "applied", "unchanged", "stale"
    attempt: Attempt
    payment: Payment


# ---- starting ------------------------------------------------------------------------------

async def start_attempt(ctx: FlowContext, payment_id: str, platform: Platform,
                        language: str = "") -> Attempt:
    """Begin paying: reuse the live attempt if there is one, else open a new session.

    A reload, a back button or a double tap lands here again and gets the same attempt.
    """
    now = ctx.now()
    async with ctx.db.transaction() as conn:
        payment = await repo.payment(conn, payment_id)
        if payment is None:
            raise NotFound("no such payment")
        latest = await repo.latest_attempt(conn, payment_id)
        if latest is not None and (latest.status in LIVE_ATTEMPT or payment.status in
                                   FINAL_PAYMENT or payment.status is P.WAITING_FOR_CAPTURE):
            return latest
        if payment.status is not P.PENDING:
            raise Conflict(f"the payment is {payment.status}")
        if payment.pending_operation == "cancel":
            raise Conflict("the merchant is canceling this payment")
        if now >= payment.expires_at:
            raise Conflict("the payment has expired")
        attempt_id = new_id("att")
        await repo.insert_attempt(conn, {
            "id": attempt_id, "payment_id": payment_id, "acquirer": payment.acquirer,
            "status": str(A.STARTING), "platform_type": platform.type, "language": language,
            "platform_os": platform.os, "platform_browser": platform.browser,
            "version": 1, "created_at": now, "updated_at": now,
        })
        # The page shows the attempt: its version is the payment's too.
        if not await repo.update_payment(conn, payment, now):
            raise Conflict("the payment changed; try again")
        attempt = await repo.attempt(conn, attempt_id)
        assert attempt is not None
    ctx.versions.note(payment.id, payment.version + 1)
    log.info("attempt started", extra={"payment_id": payment_id, "attempt_id": attempt_id})
    return await call_start(ctx, attempt, payment)


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
    driver = ctx.acquirer(latest.acquirer)
    if not driver.capabilities.link_fixed_at_start:
        return latest  # the same link serves both ways
    if not latest.acquirer_ref:
        raise Conflict("the payment is still being set up; try again in a moment")
    snap = await driver.cancel(latest.acquirer_ref, f"{latest.id}:switch")
    ended = await apply_snapshot(ctx, latest.id, snap)
    if ended.attempt.status in LIVE_ATTEMPT:
        # The acquirer kept it open: end it here, and keep watching it (a late payment on it
        # is given back).
        ended = await apply_snapshot(ctx, latest.id, Snapshot(
            latest.acquirer_ref, SessionState.CANCELED, error_code=repo.CANCELED_HERE,
            error_message="the buyer switched to another device"))
    if ended.attempt.status is not A.CANCELED:
        return ended.attempt  # the buyer paid on the old link meanwhile: nothing to switch
    return await start_attempt(ctx, payment_id, platform, language)


async def call_start(ctx: FlowContext, attempt: Attempt, payment: Payment) -> Attempt:
    """Ask the acquirer for the session; safe to repeat (same idempotency key)."""
    driver = ctx.acquirer(attempt.acquirer)
    token = ""
    if payment.initiator and payment.payment_method_id:
        async with ctx.db.reader() as conn:
            method = await repo.payment_method(conn, payment.payment_method_id,
                                               payment.merchant_id)
        token = ctx.vault.open(method.token) \
            if method is not None and method.disabled_at is None else ""
        if not token:
            return (await apply_snapshot(ctx, attempt.id, Snapshot(
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
        # Echoed back by the acquirer, and shown in its dashboard next to its own ids.
        metadata={"payment_id": payment.id, "merchant_id": payment.merchant_id,
                  **({"reference": payment.reference} if payment.reference else {})},
    )
    try:
        snap = await driver.start(request)
    except AcquirerError as err:
        if err.temporary:
            log.warning("start failed, will retry: %s", err.detail,
                        extra={"attempt_id": attempt.id})
            return attempt
        failed = Snapshot(ref="", state=SessionState.FAILED, error_code=err.code or "rejected",
                          error_message=err.detail)
        return (await apply_snapshot(ctx, attempt.id, failed)).attempt
    return (await apply_snapshot(ctx, attempt.id, snap)).attempt


# ---- applying what the acquirer says ---------------------------------------------------------

async def apply_snapshot(ctx: FlowContext, attempt_id: str, snap: Snapshot) -> Applied:
    """Move the attempt (and its payment) to what the acquirer's session says, if allowed."""
    for _ in range(_RETRIES):
        try:
            result = await _apply_once(ctx, attempt_id, snap)
            break
        except _Moved:
            continue
    else:
        raise Conflict("the attempt kept changing under us")
    if snap.refunds:
        await refund_flow.apply_states(ctx, result.attempt, snap.refunds)
    if result.attempt.error_code in (REFUND_DUE, RELEASE_DUE):
        await give_back(ctx, result.attempt, snap)
        return result
    if result.outcome == "applied" and result.payment.pending_operation and \
            result.attempt.status is A.AUTHORIZED:
        from checkout.flow import operations  # it builds on this module

        return await operations.perform_pending(ctx, result.payment.id) or result
    if result.outcome != "stale" and snap.state is SessionState.NEEDS_CONFIRM and \
            result.attempt.status is A.PROCESSING and result.attempt.acquirer_ref:
        # We confirm automatically: the buyer already chose to pay when they started.
        driver = ctx.acquirer(result.attempt.acquirer)
        try:
            confirmed = await driver.confirm(result.attempt.acquirer_ref, result.attempt.id)
        except AcquirerError as err:
            log.warning("confirm failed: %s", err.detail, extra={"attempt_id": attempt_id})
            return result
        if confirmed.state is not SessionState.NEEDS_CONFIRM:
            return await apply_snapshot(ctx, attempt_id, confirmed)
    return result


class _Moved(Exception):
    """A compare-and-set missed: roll back, read again, decide again."""


async def _apply_once(ctx: FlowContext, attempt_id: str, snap: Snapshot) -> Applied:
    now = ctx.now()
    async with ctx.db.transaction() as conn:
        attempt = await repo.attempt(conn, attempt_id)
        if attempt is None:
            raise NotFound("no such attempt")
        payment = await repo.payment(conn, attempt.payment_id)
        assert payment is not None
        target = ATTEMPT_STATUS_FOR[snap.state]
        changes: dict[str, object] = {}
        if snap.ref and not attempt.acquirer_ref:
            changes["acquirer_ref"] = snap.ref
        if target is not attempt.status:
            if not attempt_can_move(attempt.status, target):
                log.info("stale acquirer news ignored: %s -> %s", attempt.status, target,
                         extra={"attempt_id": attempt.id})
                return Applied("stale", attempt, payment)
            changes["status"] = target
            if snap.error_code and attempt.error_code not in DOUBLE_PAYMENT_CODES:
                changes["error_code"] = snap.error_code[:64]
                changes["error_message"] = snap.error_message[:500]
        if target is A.AWAITING_BUYER and snap.action_url and not attempt.action_url:
            changes["action_url"] = snap.action_url
            changes["deadline_at"] = now + timedelta(seconds=ctx.settings.attempt_ttl_seconds)
        if not changes:
            return Applied("unchanged", attempt, payment)
        pay_changes = _payment_effect(payment, attempt, target, snap, now)
        if "status" in changes and target is A.SUCCEEDED and "status" not in pay_changes:
            changes["error_code"] = REFUND_DUE  # paid, but the payment was settled already
        elif "status" in changes and target is A.AUTHORIZED and \
                payment.status is not P.PENDING:
            changes["error_code"] = RELEASE_DUE  # held, but the payment was settled already
        if not await repo.update_attempt(conn, attempt, now, **changes):
            raise _Moved
        if target is A.SUCCEEDED and payment.save_payment_method and snap.recurrent_token \
                and payment.payment_method_id is None and "status" in pay_changes:
            method_id = new_id("pm")
            await repo.insert_payment_method(conn, {
                "id": method_id, "merchant_id": payment.merchant_id,
                "acquirer": attempt.acquirer, "token": ctx.vault.seal(snap.recurrent_token),
                "customer_reference": payment.customer_reference,
                "source_payment_id": payment.id, "created_at": now})
            pay_changes["payment_method_id"] = method_id
        if not await repo.update_payment(conn, payment, now, **pay_changes):
            raise _Moved
        before = payment
        attempt = await repo.attempt(conn, attempt_id)
        payment = await repo.payment(conn, before.id)  # type: ignore[assignment]
        assert attempt is not None and payment is not None
        told = await outbox.payment_changed(conn, before, payment, ctx.checkout_url(payment),
                                            new_id("evt"), now)
    ctx.versions.note(payment.id, payment.version)
    if told:
        ctx.outbox_written()
    log.info("attempt %s, payment %s", attempt.status, payment.status,
             extra={"attempt_id": attempt.id, "payment_id": payment.id})
    return Applied("applied", attempt, payment)


def _payment_effect(payment: Payment, attempt: Attempt, target: AttemptStatus,
                    snap: Snapshot, now: datetime) -> dict[str, object]:
    """What an attempt's new status does to its payment (always at least a version bump)."""
    if target is A.SUCCEEDED:
        if payment_can_move(payment.status, P.SUCCEEDED):
            captured = snap.captured_amount if snap.captured_amount is not None else \
                payment.amount
            return {"status": P.SUCCEEDED, "captured_amount": min(captured, payment.amount),
                    "last_error_code": None, "pending_operation": None,
                    "pending_amount": None}
        # Money taken for a payment that is already paid (or over): it goes back, see
        # `give_back`; the attempt row carries the debt until then.
        log.error("a second success for one payment: refunding it",
                  extra={"payment_id": payment.id, "attempt_id": attempt.id})
        return {}
    if target is A.AUTHORIZED and payment.capture and payment.status is P.PENDING:
        # The acquirer holds every payment of this project; this one asked for no hold, so we
        # owe the acquirer a full capture: recorded here, performed right after the commit.
        return {"pending_operation": "capture", "pending_amount": payment.amount,
                "authorized_at": now}
    if target is A.AUTHORIZED and payment_can_move(payment.status, P.WAITING_FOR_CAPTURE):
        return {"status": P.WAITING_FOR_CAPTURE, "authorized_at": now}
    if target is A.CANCELED and (payment.status is P.WAITING_FOR_CAPTURE or
                                 payment.pending_operation == "cancel"):
        # A hold released (by the merchant, or lapsed), or a cancel the merchant asked for.
        return {"status": P.CANCELED, "pending_operation": None, "pending_amount": None}
    if target in (A.FAILED, A.EXPIRED):
        # Our own vocabulary for the merchant; the acquirer's code stays on the attempt.
        return {"last_error_code": "declined" if target is A.FAILED else "expired"}
    return {}


async def give_back(ctx: FlowContext, attempt: Attempt, snap: Snapshot | None = None) -> None:
    """Return money the buyer should not have paid: refund a capture, release a hold.

    Idempotent (the keys derive from the attempt); the reconciler calls it again until done.
    """
    assert attempt.acquirer_ref
    driver = ctx.acquirer(attempt.acquirer)
    async with ctx.db.reader() as conn:
        payment = await repo.payment(conn, attempt.payment_id)
    assert payment is not None
    try:
        if attempt.error_code == REFUND_DUE:
            amount = snap.captured_amount if snap and snap.captured_amount else payment.amount
            # An acquirer that forgets keys (TBC) is asked first whether it already did it.
            done = not driver.capabilities.idempotent_refunds and \
                ((await driver.fetch(attempt.acquirer_ref)).refunded_amount or 0) >= amount
            if not done:
                await driver.refund(attempt.acquirer_ref, Money(amount, payment.currency),
                                    f"{attempt.id}:give-back")
            settled = "refunded_double_payment"  # in DOUBLE_PAYMENT_CODES
        else:
            await driver.cancel(attempt.acquirer_ref, f"{attempt.id}:give-back")
            settled = "released_double_payment"
    except AcquirerError as err:
        log.warning("giving money back failed, will retry: %s", err.detail,
                    extra={"attempt_id": attempt.id})
        return
    async with ctx.db.transaction() as conn:
        current = await repo.attempt(conn, attempt.id)
        if current is not None and current.error_code == attempt.error_code:
            await repo.update_attempt(conn, current, ctx.now(), error_code=settled)
    log.warning("money of a second payment given back (%s)", settled,
                extra={"attempt_id": attempt.id, "payment_id": attempt.payment_id})


# ---- inbound webhooks ------------------------------------------------------------------------

async def receive_notice(ctx: FlowContext, acquirer: str, notice: Notice, body: bytes) -> str:
    """Record a verified webhook, then apply it. Returns what happened, for the log.

    An unsigned hint ("look at this payment", anyone can send one) costs us a read at the
    acquirer, so per payment and per `unsigned_hint_window_seconds` the first is acted on at
    once and all the others become one deferred hint, which the reconciler reads a little
    later (so news that came in a burst is not lost). Only the first `unsigned_body_bytes` of
    a hint are kept."""
    now = ctx.now()
    dedup_key = notice.dedup_key
    # The stored body is for the record: a token in it would be a usable secret in clear.
    body = notice.record or body
    if notice.snapshot is not None and notice.snapshot.recurrent_token:
        body = body.replace(notice.snapshot.recurrent_token.encode(), REDACTED.encode())
    if notice.snapshot is None:
        window = max(ctx.settings.unsigned_hint_window_seconds, 0.001)
        dedup_key = f"{dedup_key}:{int(now.timestamp() // window)}"
        body = body[:ctx.settings.unsigned_body_bytes]
    async with ctx.db.transaction() as conn:
        attempt = await repo.attempt_by_ref(conn, acquirer, notice.ref)
        if attempt is None and notice.attempt_hint and notice.snapshot is not None:
            # News that overtook our start call: the signed metadata names our attempt.
            hinted = await repo.attempt(conn, notice.attempt_hint)
            if hinted and hinted.acquirer == acquirer and hinted.acquirer_ref is None:
                attempt = hinted
        if attempt is None:
            raise NotFound(f"no attempt for {acquirer} session {notice.ref}")
        event_id = await repo.record_event(conn, acquirer=acquirer, dedup_key=dedup_key,
                                           ref=notice.ref, event_type=notice.event_type,
                                           body=body, now=now)
        if event_id is None and notice.snapshot is None:
            later = await repo.record_event(conn, acquirer=acquirer,
                                            dedup_key=f"{dedup_key}:later", ref=notice.ref,
                                            event_type=notice.event_type, body=body, now=now)
            if later is not None:
                return "deferred"  # left unapplied: `jobs.reconcile_once` replays it
    if event_id is None:
        return "duplicate"
    snap = notice.snapshot or await ctx.acquirer(acquirer).fetch(notice.ref)
    result = await apply_snapshot(ctx, attempt.id, snap)
    async with ctx.db.transaction() as conn:
        await repo.mark_event(conn, event_id, result.outcome, ctx.now())
    return result.outcome


# ---- time and silence ------------------------------------------------------------------------

async def refresh_attempt(ctx: FlowContext, attempt: Attempt) -> None:
    """Ask the acquirer where a live attempt stands; end it if its time is long over."""
    driver = ctx.acquirer(attempt.acquirer)
    if not attempt.acquirer_ref:
        if ctx.now() - attempt.created_at > timedelta(seconds=ctx.settings.attempt_ttl_seconds):
            # The acquirer never answered our start: no buyer ever saw a link, so nothing can
            # have been paid. End it, so the buyer can try again and the payment can expire.
            await apply_snapshot(ctx, attempt.id, Snapshot(
                "", SessionState.FAILED, error_code="acquirer_unreachable",
                error_message="the acquirer did not answer the start of the session"))
            return
        async with ctx.db.transaction() as conn:
            payment = await repo.payment(conn, attempt.payment_id)
            await repo.mark_checked(conn, attempt.id, ctx.now())
        assert payment is not None
        await call_start(ctx, attempt, payment)
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
        current = (await apply_snapshot(ctx, attempt.id, snap)).attempt
    if current.status in LIVE_ATTEMPT and overdue:
        # The acquirer should have ended it by now. End it here first (a success that still
        # arrives is accepted: EXPIRED may become SUCCEEDED), then there, best effort: if the
        # cancel fails, the acquirer's own time limit ends the session.
        await apply_snapshot(ctx, attempt.id, Snapshot(
            attempt.acquirer_ref, SessionState.EXPIRED, error_code="expired",
            error_message="the buyer did not approve in time"))
        try:
            snap = await driver.cancel(attempt.acquirer_ref, attempt.id)
        except AcquirerError as err:
            log.warning("cancel after the deadline failed: %s", err.detail,
                        extra={"attempt_id": attempt.id})
            return
        await apply_snapshot(ctx, attempt.id, snap)
