"""Retention: what is kept only for a while is deleted once it is older than its setting
(README, "Configuration"); 0 keeps it for ever. Run by the reconciler under a claim, so with
several instances one does it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from checkout.flow.context import FlowContext
from checkout.store import retention
from checkout.store.db import Conn

log = logging.getLogger("checkout.retention")

BATCH = 1000
MAX_BATCHES = 50  # per table per pass; what is left waits for the next pass


async def purge(ctx: FlowContext) -> dict[str, int]:
    """One pass over every table with a retention; how many rows each lost."""
    s = ctx.settings
    now = ctx.now()
    ages: list[tuple[str, float, Callable[[Conn, datetime, int], Awaitable[int]]]] = [
        ("acquirer_events", s.acquirer_events_retention_days * 86400,
         retention.applied_acquirer_events),
        ("idempotency_keys", s.idempotency_keys_retention_hours * 3600, retention.idempotency),
        ("deliveries", s.deliveries_retention_days * 86400, retention.finished_deliveries),
    ]
    deleted: dict[str, int] = {}
    for table, seconds, purge_batch in ages:
        if seconds <= 0:
            continue
        before = now - timedelta(seconds=seconds)
        total = 0
        for _ in range(MAX_BATCHES):
            async with ctx.db.transaction() as conn:
                n = await purge_batch(conn, before, BATCH)
            total += n
            if n < BATCH:
                break
        deleted[table] = total
        if total:
            log.info("retention: deleted %d rows of %s older than %s", total, table,
                     before.isoformat(timespec="seconds"))
    # Console sessions past their idle time no longer work: not a retention (nothing keeps
    # them), only their rows cleared.
    async with ctx.db.transaction() as conn:
        ended = await retention.idle_console_sessions(
            conn, now - timedelta(minutes=s.console_idle_minutes), BATCH)
    if ended:
        deleted["console_sessions"] = ended
    return deleted
