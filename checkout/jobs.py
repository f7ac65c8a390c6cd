"""Background work: notice what webhooks did not tell us, and end what ran out of time.

Every step is safe to repeat and safe to run beside another instance doing the same: each
change goes through the flow's compare-and-set transitions.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from checkout.acquirers.base import Acquirer
from checkout.errors import CheckoutError
from checkout.flow import attempts as attempt_flow
from checkout.flow import operations
from checkout.flow import payments as payment_flow
from checkout.flow import refunds as refund_flow
from checkout.flow.context import FlowContext
from checkout.store import repo

log = logging.getLogger("checkout.jobs")


async def reconcile_once(ctx: FlowContext) -> None:
    """One pass: replay unapplied webhooks, poll quiet live attempts, expire payments."""
    now = ctx.now()
    settle = now - timedelta(seconds=ctx.settings.reconcile_interval_seconds)
    quiet = now - timedelta(seconds=ctx.settings.acquirer_poll_seconds)
    async with ctx.db.reader() as conn:
        events = await repo.unapplied_events(conn, received_before=settle)
        quiet_attempts = await repo.attempts_to_check(
            conn, quiet_since=quiet, unstarted_since=settle,
            overdue_before=now - timedelta(seconds=ctx.settings.attempt_grace_seconds),
            watch_since={name: now - timedelta(seconds=_watch_seconds(ctx, driver))
                         for name, driver in ctx.acquirers.items()})
    for event_id, acquirer, ref in events:
        # A webhook stored but not applied (we crashed in between): fetch and apply now.
        async with ctx.db.reader() as conn:
            attempt = await repo.attempt_by_ref(conn, acquirer, ref)
        if attempt is not None:
            await _guarded(attempt_flow.refresh_attempt(ctx, attempt), attempt.id)
        async with ctx.db.transaction() as conn:
            await repo.mark_event(conn, event_id, "replayed", ctx.now())
    for attempt in quiet_attempts:
        await _guarded(attempt_flow.refresh_attempt(ctx, attempt), attempt.id)
    await payment_flow.expire_due_payments(ctx)
    async with ctx.db.reader() as conn:
        owed = await repo.payments_with_pending_operation(conn, before=settle)
        lapsed = await repo.holds_to_release(
            conn, authorized_before=now - timedelta(seconds=ctx.settings.hold_seconds))
        refunds = await repo.pending_refunds(conn, before=settle)
        owing = await repo.attempts_owing_money(
            conn, (attempt_flow.REFUND_DUE, attempt_flow.RELEASE_DUE))
    for payment_id in owed:
        # A capture or cancel we recorded but could not finish (crash, timeout): finish it.
        await _guarded(operations.perform_pending(ctx, payment_id), payment_id)
    for payment_id in lapsed:
        await _guarded(operations.release_lapsed_hold(ctx, payment_id), payment_id)
    for refund in refunds:
        await _guarded(refund_flow.resume(ctx, refund), refund.id)
    for attempt in owing:
        # A buyer who paid twice for one payment gets the second payment back.
        await _guarded(attempt_flow.give_back(ctx, attempt), attempt.id)


def _watch_seconds(ctx: FlowContext, driver: Acquirer) -> int:
    """How long an attempt we ended stays watched: twice our own attempt time, and at least as
    long as its acquirer still lets a buyer pay."""
    return max(2 * ctx.settings.attempt_ttl_seconds, driver.capabilities.pay_seconds)


async def _guarded(work: object, subject: str) -> None:
    try:
        await work  # type: ignore[misc]
    except CheckoutError as err:
        log.warning("reconcile of %s failed: %s", subject, err.detail)


async def run_forever(ctx: FlowContext) -> None:
    while True:
        try:
            await reconcile_once(ctx)
        except Exception:  # one bad pass must not stop the loop
            log.exception("reconcile pass failed")
        await asyncio.sleep(ctx.settings.reconcile_interval_seconds)
