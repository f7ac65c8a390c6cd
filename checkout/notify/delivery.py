"""The delivery worker: at least once, same `webhook-id` every time, backing off on failure.

Deliveries are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several
instances share the work and a dead instance's claims return to the pool when the lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import UTC, datetime, timedelta

import httpx

from checkout.metrics import Metrics
from checkout.notify.signing import signed_headers
from checkout.settings import Settings
from checkout.store import webhooks
from checkout.store.db import Database
from checkout.store.webhooks import DueDelivery

log = logging.getLogger("checkout.notify")

BATCH = 50


def backoff_seconds(attempts: int, settings: Settings, rng: random.Random) -> float:
    """Wait before attempt `attempts + 1`: exponential, capped, with ±20 % jitter."""
    base = settings.webhook_retry_base_seconds * 2 ** min(attempts - 1, 30)
    return min(base, settings.webhook_retry_max_seconds) * rng.uniform(0.8, 1.2)


def retry_after_seconds(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


class DeliveryWorker:
    def __init__(self, db: Database, http: httpx.AsyncClient, settings: Settings,
                 metrics: Metrics | None = None) -> None:
        self._metrics = metrics or Metrics()
        self._db = db
        self._http = http
        self._settings = settings
        self._wake = asyncio.Event()
        self._rng = random.Random()  # noqa: S311 - jitter, not secrets
        self._owner = settings.instance_name
        self._claimed: set[int] = set()
        self.stopping = asyncio.Event()

    def wake(self) -> None:
        """Something was written to the outbox: deliver now rather than at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the deliveries in hand, claim no more."""
        self.stopping.set()
        self._wake.set()

    async def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                while await self.deliver_due() == BATCH and not self.stopping.is_set():
                    pass
            except Exception:  # one bad pass must not stop deliveries for good
                log.exception("delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(),
                                       self._settings.delivery_interval_seconds)
            self._wake.clear()

    async def release(self) -> None:
        """Give back deliveries claimed but not finished (a stop cut them short)."""
        if self._claimed:
            async with self._db.transaction() as conn:
                await webhooks.release(conn, sorted(self._claimed), owner=self._owner)
            log.info("released %d claimed deliveries", len(self._claimed))
            self._claimed.clear()

    async def deliver_due(self) -> int:
        now = _utcnow()
        lease = now + timedelta(seconds=2 * self._settings.webhook_timeout_seconds + 5)
        async with self._db.transaction() as conn:
            due = await webhooks.claim_due(conn, now=now, lease_until=lease, limit=BATCH,
                                           owner=self._owner,
                                           skip_locked=not self._db.is_sqlite)
        self._claimed.update(d.id for d in due)
        await asyncio.gather(*(self._attempt(d) for d in due))
        return len(due)

    async def _attempt(self, d: DueDelivery) -> None:
        await self._send(d)
        self._claimed.discard(d.id)

    async def _send(self, d: DueDelivery) -> None:
        sent_at = _utcnow()
        headers = signed_headers(d.secret, d.event_id, d.body, sent_at)
        code: int | None = None
        error = ""
        retry_after = None
        try:
            resp = await self._http.post(d.url, content=d.body.encode(), headers=headers,
                                         timeout=self._settings.webhook_timeout_seconds)
            code = resp.status_code
            retry_after = retry_after_seconds(resp)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        now = _utcnow()
        attempts = d.attempts + 1
        if code is not None and 200 <= code < 300:
            async with self._db.transaction() as conn:
                await webhooks.finish_attempt(conn, d.id, status="succeeded", attempts=attempts,
                                              last_status_code=code, last_error=None,
                                              delivered_at=now, next_attempt_at=None)
                await webhooks.endpoint_health(conn, d.endpoint_id, ok=True, now=now)
            self._metrics.deliveries.labels("delivered").inc()
            self._metrics.delivery_lag.observe((now - d.event_created_at).total_seconds())
            log.info("webhook %s delivered to %s", d.event_id, d.endpoint_id,
                     extra={"event_id": d.event_id})
            return
        error = error or f"HTTP {code}"
        window = timedelta(seconds=self._settings.webhook_retry_window_seconds)
        gave_up = now - d.event_created_at > window
        async with self._db.transaction() as conn:
            if code == 410:
                # The receiver says it is gone for good: stop sending it anything.
                await webhooks.disable_endpoint(conn, d.endpoint_id, "answered 410 Gone", now)
            if gave_up:
                await webhooks.finish_attempt(conn, d.id, status="failed", attempts=attempts,
                                              last_status_code=code, last_error=error,
                                              next_attempt_at=None)
            else:
                wait = backoff_seconds(attempts, self._settings, self._rng)
                if retry_after is not None:
                    wait = min(max(wait, retry_after), self._settings.webhook_retry_max_seconds)
                await webhooks.finish_attempt(conn, d.id, attempts=attempts,
                                              last_status_code=code, last_error=error,
                                              next_attempt_at=now + timedelta(seconds=wait))
            await webhooks.endpoint_health(conn, d.endpoint_id, ok=False, now=now)
            if d.failing_since is not None and now - d.failing_since > window:
                await webhooks.disable_endpoint(
                    conn, d.endpoint_id, f"failing since {d.failing_since.isoformat()}", now)
        self._metrics.deliveries.labels("failed" if gave_up else "retry").inc()
        log.warning("webhook %s to %s failed (%s), attempt %d", d.event_id, d.endpoint_id,
                    error, attempts, extra={"event_id": d.event_id})


def _utcnow() -> datetime:
    return datetime.now(UTC)
