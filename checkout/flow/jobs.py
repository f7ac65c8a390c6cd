"""Background work: notice what webhooks did not tell us, and end what ran out of time.

Every instance runs this loop; each piece of work (an attempt to ask about, a capture to
finish, a refund to resume, one expiry pass) is done only under its claim in `job_claims`, so
with N instances it is done once, by whichever claimed it, and a dead instance's work returns
to the others when its claim lapses. Every change still goes through the flow's compare-and-set
transitions, so even a lapsed claim whose holder wakes up late cannot apply anything twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from checkout import drivers
from checkout.errors import CheckoutError
from checkout.flow import attempts as attempt_flow
from checkout.flow import news, operations, retention
from checkout.flow import payments as payment_flow
from checkout.flow import refunds as refund_flow
from checkout.flow.context import FlowContext
from checkout.store import claims, repo
from checkout.store import idempotency as idempotency_keys
from checkout.store import webhooks as webhook_store
from checkout.store.db import Database

log = logging.getLogger("checkout.jobs")


async def take_back_own_work(db: Database, instance: str) -> None:
    """A process restarted after a kill -9 is the same instance (same host and port): the jobs,
    deliveries and merchants' requests its predecessor held are free now, not when their
    leases run out."""
    async with db.transaction() as conn:
        await claims.release_all_of(conn, owner=instance)
        await webhook_store.release_all_of(conn, owner=instance)
        await idempotency_keys.release_all_of(conn, owner=instance)


class Claimer:
    """Runs work under claims held by this instance; gives back unfinished ones on stop."""

    def __init__(self, ctx: FlowContext) -> None:
        self._ctx = ctx
        self._owner = ctx.settings.instance_name
        self._working: set[str] = set()
        self.stopping = asyncio.Event()
        self._lease = ctx.work_lease  # a holder that hangs longer loses the claim
        self._cooldown = timedelta(seconds=ctx.settings.reconcile_interval_seconds)
        self._retention_at: datetime | None = None

    def retention_due(self, now: datetime) -> bool:
        """Retention runs once per `retention_interval_seconds` here (and, under its claim,
        once per pass over all instances)."""
        if self._retention_at is not None and now < self._retention_at:
            return False
        self._retention_at = now + timedelta(seconds=self._ctx.settings.retention_interval_seconds)
        return True

    async def run(self, subject: str, work: Callable[[], Awaitable[object]]) -> bool:
        """Do `work` if this instance can claim `subject`; False if another holds it."""
        if self.stopping.is_set():
            return False
        ctx = self._ctx
        now = ctx.now()
        async with ctx.db.transaction() as conn:
            if not await claims.claim(conn, subject, owner=self._owner, now=now,
                                      until=now + self._lease):
                return False
        self._working.add(subject)
        try:
            await work()
        except CheckoutError as err:
            log.warning("%s failed: %s", subject, err.detail)
        except asyncio.CancelledError:
            raise  # stays in _working: `release` gives it back
        except Exception:
            log.exception("%s failed", subject)
        self._working.discard(subject)
        async with ctx.db.transaction() as conn:
            await claims.hold_until(conn, subject, owner=self._owner,
                                    until=ctx.now() + self._cooldown)
        return True

    async def release(self) -> None:
        """Give back claims on work this instance began and will not finish (shutdown)."""
        if self._working:
            async with self._ctx.db.transaction() as conn:
                await claims.release(conn, sorted(self._working), owner=self._owner)
            log.info("released %d claimed jobs", len(self._working))
            self._working.clear()


async def reconcile_once(ctx: FlowContext, claimer: Claimer | None = None) -> None:
    """One pass: replay unapplied webhooks, poll quiet live attempts, expire payments."""
    claimer = claimer or Claimer(ctx)
    run = claimer.run
    now = ctx.now()
    settle = now - timedelta(seconds=ctx.settings.reconcile_interval_seconds)
    quiet = now - timedelta(seconds=ctx.settings.acquirer_poll_seconds)
    # These walk indexes of every attempt and event: beside the event loop, not on it.
    async with ctx.db.long_reader() as conn:
        events = await repo.unapplied_events(conn, received_before=settle)
        quiet_attempts = await repo.attempts_to_check(
            conn, quiet_since=quiet, unstarted_since=settle,
            overdue_before=now - timedelta(seconds=ctx.settings.attempt_grace_seconds),
            watch_since={name: now - timedelta(seconds=_watch_seconds(ctx, name))
                         for name in drivers.NAMES})
    for event_id, acquirer, ref in events:
        # A webhook stored but not applied (we crashed in between): fetch and apply now.
        await run(f"event:{event_id}", partial(_replay, ctx, event_id, acquirer, ref))
    for attempt in quiet_attempts:
        await run(f"attempt:{attempt.id}",
                  partial(attempt_flow.refresh_attempt, ctx, attempt))
    await run("pass:expire", partial(payment_flow.expire_due_payments, ctx))
    async with ctx.db.long_reader() as conn:
        owed = await repo.payments_with_pending_operation(conn, before=settle)
        lapsed = await operations.holds_due(ctx, conn, now)
        refunds = await repo.pending_refunds(conn, before=settle)
        owing = await repo.attempts_owing_money(conn)
    for payment_id in owed:
        # A capture or cancel we recorded but could not finish (crash, timeout): finish it.
        await run(f"operation:{payment_id}",
                  partial(news.perform_pending, ctx, payment_id))
    for payment_id in lapsed:
        await run(f"hold:{payment_id}",
                  partial(operations.release_lapsed_hold, ctx, payment_id))
    for refund in refunds:
        await run(f"refund:{refund.id}",
                  partial(refund_flow.resume, ctx, refund))
    for attempt in owing:
        # A buyer who paid twice for one payment gets the second payment back.
        await run(f"give-back:{attempt.id}",
                  partial(news.give_back, ctx, attempt))
    await run("pass:forget-claims", partial(_forget_claims, ctx))
    if claimer.retention_due(now):
        await run("pass:retention", partial(retention.purge, ctx))


async def _replay(ctx: FlowContext, event_id: int, acquirer: str, ref: str) -> None:
    async with ctx.db.reader() as conn:
        attempt = await repo.attempt_by_ref(conn, acquirer, ref)
    if attempt is not None:
        await attempt_flow.refresh_attempt(ctx, attempt)
    async with ctx.db.transaction() as conn:
        await repo.mark_event(conn, event_id, "replayed", ctx.now())


async def _forget_claims(ctx: FlowContext) -> None:
    async with ctx.db.transaction() as conn:
        await claims.forget_lapsed(conn, before=ctx.now() - timedelta(hours=1))


def _watch_seconds(ctx: FlowContext, acquirer: str) -> int:
    """How long an attempt we ended stays watched: twice our own attempt time, and at least as
    long as its acquirer still lets a buyer pay."""
    return max(2 * ctx.settings.attempt_ttl_seconds, ctx.capabilities(acquirer).pay_seconds)


async def run_forever(ctx: FlowContext, claimer: Claimer) -> None:
    """Until `claimer.stopping` is set: a stopping instance finishes the job in hand and no
    more (the shutdown then releases what is left)."""
    while not claimer.stopping.is_set():
        try:
            await reconcile_once(ctx, claimer)
        except Exception:  # one bad pass must not stop the loop
            log.exception("reconcile pass failed")
        try:
            await asyncio.wait_for(claimer.stopping.wait(),
                                   ctx.settings.reconcile_interval_seconds)
        except TimeoutError:
            pass
