"""Compare-and-set, written once: read, decide, write with a version check; on a miss, again.

Every versioned change of a payment or an attempt is one `write`: a transaction whose step
reads the rows, decides, and writes them through `Versioned`, each write checked against the
version it read. A miss (someone else moved the row first) rolls the step back and runs it
again on fresh rows. After the commit, the new payment versions go into the version map (the
buyer's poll reads it) and the delivery worker is woken if events were written.

When the rows keep moving for `RETRIES` tries, `write` logs it and raises `RanOut`, a 409 for
a merchant who asked (never kept under their Idempotency-Key: their retry runs again); the work
is left where the reconciler finds it again (a pending operation, a pending refund, an
unapplied event), never dropped in silence.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from checkout.errors import TryAgain
from checkout.flow.context import FlowContext
from checkout.store import repo
from checkout.store.db import Conn
from checkout.store.records import Attempt, Payment

log = logging.getLogger("checkout.flow")
RETRIES = 8
T = TypeVar("T")


class Moved(Exception):
    """A compare-and-set missed: roll back, read again, decide again."""


class RanOut(TryAgain):
    """The rows kept changing under us; the reconciler carries on."""


class Versioned:
    """One transaction's versioned writes, and what the commit must tell."""

    def __init__(self, conn: Conn, ctx: FlowContext) -> None:
        self.conn = conn
        self.now = ctx.now()
        self.versions: dict[str, int] = {}  # payment id -> its version after this commit
        self.told = False  # events were written: wake the delivery worker
        # The rows as this transaction wrote them, by id: no need to read them again.
        self.payments: dict[str, Payment] = {}
        self.attempts: dict[str, Attempt] = {}

    async def payment(self, current: Payment, **changes: Any) -> int:
        """Write `changes` (at least a version bump) if `current` is still the payment's
        version; returns the new version."""
        written = await repo.update_payment(self.conn, current, self.now, **changes)
        if written is None:
            raise Moved
        self.payments[written.id] = written
        self.versions[current.id] = written.version
        return written.version

    async def attempt(self, current: Attempt, **changes: Any) -> int:
        written = await repo.update_attempt(self.conn, current, self.now, **changes)
        if written is None:
            raise Moved
        self.attempts[written.id] = written
        return written.version


async def write(ctx: FlowContext, what: str, step: Callable[[Versioned], Awaitable[T]],
                **ids: str) -> T:
    """Run `step` in a transaction until its versioned writes land; `ids` name the rows in
    the log."""
    for _ in range(RETRIES):
        try:
            async with ctx.db.transaction() as conn:
                tx = Versioned(conn, ctx)
                result = await step(tx)
        except Moved:
            ctx.db.counts.redone += 1
            continue
        for payment_id, version in tx.versions.items():
            ctx.versions.note(payment_id, version)
        if tx.told:
            ctx.outbox_written()
        return result
    log.warning("%s: the rows kept changing under us for %d tries; left for the reconciler",
                what, RETRIES, extra=ids)
    raise RanOut(f"could not {what}: the payment kept changing; try again")
