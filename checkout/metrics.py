"""Prometheus metrics: requests, latencies, payments by status, merchant-webhook delivery lag
and failures, acquirer calls and their errors.

Each app owns a registry (tests run several apps in one process). Counters are per instance,
as Prometheus expects; the database-wide numbers (payments by status, the delivery backlog)
are read at scrape time, at most every few seconds, so every instance reports the same.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import func, select

from checkout.http_pool import LeanTransport
from checkout.store import webhooks
from checkout.store.db import Counts, Database
from checkout.store.tables import deliveries, payments

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
LAG_BUCKETS = (.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600)
DB_READ_EVERY_SECONDS = 5.0


class RequestStats:
    """Request counts and latencies, kept in plain dicts and handed to Prometheus at scrape.

    Every request passes here, the buyer's poll thousands of times a second: prometheus_client's
    labelled children (a lock and a label lookup each, twice per request) cost about a fifth
    of the poll's whole time, this costs a dict update and a bisect.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        # route -> [count per bucket …, +Inf], sum
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def add(self, route: str, method: str, status: str, seconds: float) -> None:
        key = (route, method, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        counts = self.buckets.get(route)
        if counts is None:
            counts = self.buckets[route] = [0] * (len(LATENCY_BUCKETS) + 1)
            self.sums[route] = 0.0
        counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.sums[route] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("checkout_http_requests", "HTTP requests answered",
                                       labels=["route", "method", "status"])
        for (route, method, status), count in sorted(self.counts.items()):
            requests.add_metric([route, method, status], count)
        yield requests
        latency = HistogramMetricFamily("checkout_http_request_duration_seconds",
                                        "Time to answer an HTTP request", labels=["route"])
        for route, counts in sorted(self.buckets.items()):
            cumulative = list(itertools.accumulate(counts))
            bounds = [str(b) for b in LATENCY_BUCKETS] + ["+Inf"]
            latency.add_metric([route], list(zip(bounds, cumulative, strict=True)),
                               self.sums[route])
        yield latency


class DatabaseStats:
    """Statements and transactions this instance sent to the database: the cost of a payment
    in round trips (`bench/payment_cost.py` divides them by payments), as the database handle
    counts them."""

    def __init__(self) -> None:
        self.counts = Counts()

    def watch(self, db: Database) -> None:
        self.counts = db.counts

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("checkout_db_statements", "SQL statements sent",
                                  value=self.counts.statements)
        yield CounterMetricFamily("checkout_db_transactions", "Database transactions begun",
                                  value=self.counts.transactions)
        yield CounterMetricFamily("checkout_db_transactions_redone",
                                  "Write transactions run again because a row they read had "
                                  "moved meanwhile", value=self.counts.redone)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=False)
        self.http = RequestStats()
        r.register(self.http)  # type: ignore[arg-type]
        self.database = DatabaseStats()
        r.register(self.database)  # type: ignore[arg-type]
        self.payments = Gauge("checkout_payments", "Stored payments by status", ["status"],
                              registry=r)
        self.deliveries = Counter("checkout_webhook_deliveries",
                                  "Merchant webhook delivery attempts by outcome "
                                  "(delivered, retry, failed)", ["outcome"], registry=r)
        self.delivery_lag = Histogram("checkout_webhook_delivery_lag_seconds",
                                      "From a merchant event to its successful delivery",
                                      buckets=LAG_BUCKETS, registry=r)
        self.backlog = Gauge("checkout_webhook_backlog", "Merchant webhook deliveries pending",
                             registry=r)
        self.backlog_age = Gauge("checkout_webhook_backlog_oldest_seconds",
                                 "Age of the oldest pending delivery's event", registry=r)
        self.acquirer_calls = Counter("checkout_acquirer_calls",
                                      "Calls to acquirers by outcome (ok, refused = 4xx, "
                                      "error = 5xx, timeout, network)",
                                      ["acquirer", "outcome"], registry=r)
        self.acquirer_latency = Histogram("checkout_acquirer_call_duration_seconds",
                                          "Time an acquirer took to answer", ["acquirer"],
                                          buckets=LATENCY_BUCKETS, registry=r)
        self._read_at = 0.0

    async def read_database(self, db: Database, now: Any) -> None:
        """The gauges counted in the database: every `DB_READ_EVERY_SECONDS`, or less often
        while a count takes long (it reads every stored payment): at most 1 % of the time."""
        if time.monotonic() < self._read_at:
            return
        began = time.monotonic()
        self._read_at = began + DB_READ_EVERY_SECONDS
        async with db.long_reader() as conn:  # counts every payment
            by_status = await conn.execute(
                select(payments.c.status, func.count()).group_by(payments.c.status))
            pending = (await conn.execute(
                select(func.count(), func.min(deliveries.c.created_at))
                .where(webhooks.PENDING))).one()
        self.payments.clear()
        for status, count in by_status:
            self.payments.labels(status).set(count)
        self.backlog.set(pending[0])
        oldest = pending[1]
        if oldest is not None and oldest.tzinfo is None:
            from datetime import UTC
            oldest = oldest.replace(tzinfo=UTC)
        self.backlog_age.set((now - oldest).total_seconds() if oldest else 0)
        self._read_at = max(self._read_at, began + 100 * (time.monotonic() - began))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware: count and time every request under its route's template (never its
    concrete path, which would carry ids and tokens)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.http.add(route, scope["method"], str(status),
                                  time.perf_counter() - started)


class MeteredTransport(httpx.AsyncBaseTransport):
    """The acquirers' HTTP client's transport: every call counted by acquirer and outcome."""

    def __init__(self, metrics: Metrics, bases: dict[str, str]) -> None:
        # Acquirer calls are bounded by the requests that make them; a generous pool keeps
        # them from queueing.
        self._inner = LeanTransport(max_connections=500, max_idle_per_origin=100)
        self._metrics = metrics
        self.bases = bases  # acquirer name -> its base URL

    def _acquirer(self, url: str) -> str:
        for name, base in self.bases.items():
            if url.startswith(base):
                return name
        return "other"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        acquirer = self._acquirer(str(request.url))
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            self._metrics.acquirer_calls.labels(acquirer, "timeout").inc()
            raise
        except httpx.TransportError:
            self._metrics.acquirer_calls.labels(acquirer, "network").inc()
            raise
        finally:
            self._metrics.acquirer_latency.labels(acquirer).observe(
                time.perf_counter() - started)
        code = response.status_code
        outcome = "ok" if code < 400 else "refused" if code < 500 else "error"
        self._metrics.acquirer_calls.labels(acquirer, outcome).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
