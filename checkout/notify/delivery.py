"""The delivery worker: at least once, same `webhook-id` every time, backing off on failure.

Deliveries are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several
instances share the work and a dead instance's claims return to the pool when the lease ends.
A pool of `webhook_workers` sends them, each under one overall deadline; the dispatcher takes
from the queue in due order, merchants in turn, no endpoint or merchant over its in-flight cap
(`checkout.store.webhooks.claim_due`). So one merchant's slow, hanging or flooding endpoint
ties up at most its own share, never everyone's deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import UTC, datetime, timedelta

import httpx

from checkout.metrics import Metrics
from checkout.notify import sender
from checkout.notify.addresses import Resolver, UnsafeAddress, resolve
from checkout.notify.signing import signed_headers
from checkout.settings import Settings
from checkout.store import webhooks
from checkout.store.db import Database
from checkout.store.webhooks import DueDelivery
from checkout.vault import vault_for

log = logging.getLogger("checkout.notify")

# Only the status code matters: this much of an answer is read, the rest never is.
MAX_ANSWER_BYTES = 4096


def backoff_seconds(attempts: int, settings: Settings, rng: random.Random) -> float:
    """Wait before attempt `attempts + 1`: exponential, capped, with ±20 % jitter."""
    base = settings.webhook_retry_base_seconds * 2 ** min(attempts - 1, 30)
    return min(base, settings.webhook_retry_max_seconds) * rng.uniform(0.8, 1.2)


class DeliveryWorker:
    def __init__(self, db: Database, http: httpx.AsyncClient, settings: Settings,
                 metrics: Metrics | None = None) -> None:
        self._metrics = metrics or Metrics()
        self._db = db
        self._http = http
        self._settings = settings
        # Production checks every send's address; the sandbox's demo shop is on loopback.
        self._resolver: Resolver | None = None if settings.sandbox else resolve
        self._wake = asyncio.Event()
        self._rng = random.Random()  # noqa: S311 - jitter, not secrets
        self._owner = settings.instance_name
        self._sending: dict[int, asyncio.Task[None]] = {}
        # Due deliveries were left at the last look (no free worker, or an endpoint's cap):
        # a worker that comes free looks again at once rather than at the next tick.
        self._left_some = False
        self.stopping = asyncio.Event()

    def wake(self) -> None:
        """Something was written to the outbox (or a worker came free): look at the queue now
        rather than at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the deliveries in hand, claim no more."""
        self.stopping.set()
        self._wake.set()

    async def run_forever(self) -> None:
        try:
            while not self.stopping.is_set():
                self._wake.clear()
                try:
                    await self.dispatch()
                except Exception:  # one bad pass must not stop deliveries for good
                    log.exception("delivery pass failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(),
                                           self._settings.delivery_interval_seconds)
            if self._sending:  # a graceful stop: let the sends in hand finish
                await asyncio.wait(list(self._sending.values()))
        finally:
            for task in self._sending.values():  # cancelled: `release` gives them back
                task.cancel()

    async def release(self) -> None:
        """Give back deliveries claimed but not finished (a stop cut them short)."""
        if self._sending:
            ids = sorted(self._sending)
            async with self._db.transaction() as conn:
                await webhooks.release(conn, ids, owner=self._owner)
            log.info("released %d claimed deliveries", len(ids))
            self._sending.clear()

    async def dispatch(self) -> int:
        """Claim as many due deliveries as there are free workers and start sending them."""
        free = self._settings.webhook_workers - len(self._sending)
        if free <= 0:
            return 0
        now = _utcnow()
        # The send itself is bounded by its deadline: the margin covers recording the outcome.
        # A dead holder's deliveries (and its share of the endpoint's cap) return after this.
        lease = now + timedelta(seconds=self._settings.webhook_timeout_seconds + 10)
        async with self._db.transaction() as conn:
            claimed = await webhooks.claim_due(
                conn, now=now, lease_until=lease, limit=free, owner=self._owner,
                per_endpoint=self._settings.webhook_endpoint_concurrency,
                per_merchant=self._settings.webhook_merchant_concurrency,
                skip_locked=not self._db.is_sqlite)
        self._left_some = claimed.more
        for d in claimed.deliveries:
            self._sending[d.id] = asyncio.create_task(self._attempt(d))
        return len(claimed.deliveries)

    async def _attempt(self, d: DueDelivery) -> None:
        try:
            await self._send(d)
        except Exception:  # the database failed us: the lease lapses and another try comes
            log.exception("delivery %d could not be recorded", d.id)
        self._sending.pop(d.id, None)
        if self._left_some:
            self._wake.set()  # a worker is free for what was left

    def _keys(self, d: DueDelivery, at: datetime) -> list[str]:
        """The endpoint's secret, and during a rotation's overlap the previous one too."""
        vault = vault_for(self._settings.secret_keys)
        keys = [vault.open(d.secret)]
        if d.previous_secret and d.previous_secret_until and at < d.previous_secret_until:
            keys.append(vault.open(d.previous_secret))
        return keys

    async def _send(self, d: DueDelivery) -> None:
        sent_at = _utcnow()
        started = asyncio.get_running_loop().time()
        headers = signed_headers(self._keys(d, sent_at), d.event_id, d.body, sent_at)
        code: int | None = None
        error = ""
        retry_after = None
        try:
            code, retry_after = await sender.post(
                self._http, d.url, d.body.encode(), headers,
                deadline=self._settings.webhook_timeout_seconds,
                max_answer_bytes=MAX_ANSWER_BYTES, resolver=self._resolver)
        except TimeoutError:
            error = f"no answer within {self._settings.webhook_timeout_seconds:g} s"
        except UnsafeAddress as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        now = _utcnow()
        attempts = d.attempts + 1
        took_ms = int((asyncio.get_running_loop().time() - started) * 1000)
        if code is not None and 200 <= code < 300:
            async with self._db.transaction() as conn:
                await webhooks.record_try(conn, d.id, at=sent_at, status_code=code, error=None,
                                          duration_ms=took_ms)
                await webhooks.finish_attempt(conn, d.id, status="succeeded", attempts=attempts,
                                              last_status_code=code, last_error=None,
                                              delivered_at=now, next_attempt_at=None)
                if d.failing_since is not None:
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
            await webhooks.record_try(conn, d.id, at=sent_at, status_code=code, error=error,
                                      duration_ms=took_ms)
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
