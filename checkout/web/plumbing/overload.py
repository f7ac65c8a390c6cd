"""Past capacity, finish what is under way: new payments are refused while the instance is
saturated, and waiting pages are told to poll less.

Saturation shows as a queue that does not drain. Two are watched, both measured as delay:
- the event loop: a timer due every `TICK` fires late by the work queued ahead of it (one
  core flat out, whatever the work);
- the database: on SQLite, how long a write transaction waits for the single writer's turn;
  on PostgreSQL, how long any use waits for a pooled connection. Measured at 2× capacity,
  this is the one that grew: the loop was never more than 10 ms late while payments took
  20 s (SQLite, before writes ran on the loop), or 26 s (PostgreSQL, its server sharing the
  machine's cores, before its pool's wait was watched: 12 % of capacity completed).
A burst makes a queue that drains; a standing one means more work arrives than is done. So, as
CoDel does for packets, what counts is the *least* delay seen over a window: if even the
luckiest writer of the last `TICK` waited, everyone did, and only a delay that held in every
one of the last `overload_window_seconds / TICK` intervals is standing. One late interval is
not load: a fresh instance's start-up work (templates compiled, the first connections, the
first migrations checked) or a moment of timer jitter makes one, and counting it refused a cold
instance's first payments (3 starts in 15). A blocked loop is one late interval however long it
blocks, so a full window of late ones takes sustained work the instance carries. The delay is
that windowed minimum, smoothed. Past `overload_delay_ms` a share of new payments is refused at
the door with a cheap 503 and Retry-After, before any database work, growing with the delay
until at twice the threshold every one is (as RED drops packets: early and in proportion, not
all at once). The CPU and the database are left to the payments already started, so their
buyers see their link and their "paid" in time, and the share taken settles where the instance
keeps up. Refusing all or nothing instead swung between the two and, at twice capacity, took
only about 80 % of what the instance could finish (`bench/payment_cost.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from checkout.errors import Overloaded
from checkout.settings import Settings

TICK = 0.1  # seconds: one interval, one look at the loop
SMOOTHING = 0.3  # weight of the newest interval in the running average
log = logging.getLogger("checkout.web")


class LoadGauge:
    def __init__(self, settings: Settings) -> None:
        self.threshold = settings.overload_delay_ms / 1000
        self.retry_after = settings.overload_retry_after_seconds
        self.delay = 0.0  # seconds: standing delay, smoothed
        # each interval's delay, the newest last; until it is full nothing is standing yet
        self._window: deque[float] = deque(
            maxlen=max(1, round(settings.overload_window_seconds / TICK)))
        self.loop_lag = 0.0  # the last interval's, for the metrics
        self.db_wait = 0.0
        self._least_wait: float | None = None  # this interval's least write wait so far
        self._credit = 0.0  # shares of a new payment accrued: one is taken at each whole
        self._task: asyncio.Task[None] | None = None

    def write_waited(self, seconds: float) -> None:
        """A use of the database had its turn after waiting `seconds` (`Database.on_wait`:
        on SQLite a write for the writer's turn, on PostgreSQL any use for a connection)."""
        if self._least_wait is None or seconds < self._least_wait:
            self._least_wait = seconds

    @property
    def overloaded(self) -> bool:
        return self.threshold > 0 and self.delay > self.threshold

    @property
    def share_taken(self) -> float:
        """The share of new payments taken now: all up to the threshold, then fewer in
        proportion to the delay, none from twice the threshold."""
        if not self.overloaded:
            return 1.0
        return max(0.0, 2.0 - self.delay / self.threshold)

    def admit_new_payment(self) -> None:
        """Raise `Overloaded` (503, Retry-After) for the share of new payments refused while
        the instance is saturated. Which ones: every n-th is taken, not a random draw, so
        the share holds even over a few requests."""
        share = self.share_taken
        if share >= 1.0:
            return
        self._credit = min(1.0, self._credit + share)
        if self._credit >= 1.0:
            self._credit -= 1.0
            return
        raise Overloaded("this checkout is at capacity; try again shortly",
                         retry_after=self.retry_after)

    def poll_factor(self, moved_lately: bool) -> float:
        """How much slower a waiting page should poll: 1 until saturated, then in proportion
        to the delay (4× over the threshold asks for 4× the interval), at most 8×. A page
        whose payment `moved_lately` is a buyer in the middle of paying (the link just shown,
        the app about to say yes): it keeps its pace, so that "paid" shows at once. The
        pages that poll less are those left waiting, which at a flash sale are most."""
        if not self.overloaded or moved_lately:
            return 1.0
        return float(min(8, math.ceil(self.delay / self.threshold)))

    def start(self) -> None:
        if self.threshold > 0 and self._task is None:
            self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def collect(self) -> Iterator[Metric]:
        """For Prometheus (registered in the app's metrics registry)."""
        yield GaugeMetricFamily("checkout_event_loop_lag_seconds",
                                "How late the event loop ran in the last interval",
                                value=self.loop_lag)
        yield GaugeMetricFamily("checkout_db_write_wait_seconds",
                                "The least wait for the database in the last interval (SQLite: a "
                                "write for its turn; PostgreSQL: a pooled connection)",
                                value=self.db_wait)
        yield GaugeMetricFamily("checkout_standing_delay_seconds",
                                "Standing delay, smoothed: past the threshold new payments "
                                "are refused", value=self.delay)
        yield GaugeMetricFamily("checkout_overloaded",
                                "1 while new payments are refused as past capacity",
                                value=1.0 if self.overloaded else 0.0)
        yield GaugeMetricFamily("checkout_new_payments_taken_ratio",
                                "The share of new payments taken (1 below capacity)",
                                value=self.share_taken)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            self.observe(max(0.0, loop.time() - due))

    def observe(self, loop_lag: float) -> None:
        """The end of an interval: fold its delays into the running one."""
        self.loop_lag, self.db_wait = loop_lag, self._least_wait or 0.0
        self._least_wait = None
        was = self.overloaded
        self._window.append(max(self.loop_lag, self.db_wait))
        standing = min(self._window) if len(self._window) == self._window.maxlen else 0.0
        self.delay += SMOOTHING * (standing - self.delay)
        if self.overloaded != was:  # once per change, not once per refused request
            log.warning("at capacity (a standing delay of %.0f ms): some new payments are "
                        "refused with 503" if not was else
                        "below capacity again (%.0f ms): new payments are taken",
                        self.delay * 1000)
