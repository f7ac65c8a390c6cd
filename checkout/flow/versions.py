"""An in-process map of payment id → version, kept right by the flow after every commit.

It lets the buyer's status poll answer "unchanged" without touching the database.

- One instance (SQLite): the map is authoritative, every change goes through this process.
- Several instances (PostgreSQL): changes made elsewhere reach the map through a feed, one
  query per instance every second or so for every payment changed lately (`follow_feed`),
  however many buyers poll. While the feed is fresh, the map is trusted. When it is not (the
  database is away), an entry is trusted only for `recheck_seconds` after it was read, and the
  poll reads the version itself. Either way a change made elsewhere shows within one poll
  interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

log = logging.getLogger("checkout.versions")

# A change committed this long after its `updated_at` was stamped could be missed by the feed:
# far longer than any of our transactions, and than clock skew between NTP-synced hosts.
FEED_OVERLAP = timedelta(seconds=10)

Feed = Callable[[datetime], Awaitable[list[tuple[str, int]]]]


class VersionCache:
    def __init__(self, *, authoritative: bool, recheck_seconds: float = 2.0,
                 max_entries: int = 200_000) -> None:
        # payment id -> (version, when it was last read or told, when it last moved)
        self._entries: OrderedDict[str, tuple[int, float, float]] = OrderedDict()
        self._authoritative = authoritative
        self._recheck = recheck_seconds
        self._max = max_entries
        self._feed_fresh_until = 0.0

    def note(self, payment_id: str, version: int) -> None:
        old = self._entries.get(payment_id)
        if old is not None and old[0] > version:
            return  # a slower commit must not hide a newer one
        now = time.monotonic()
        moved = old[2] if old is not None and old[0] == version else now
        self._entries[payment_id] = (version, now, moved)
        self._entries.move_to_end(payment_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def unchanged(self, payment_id: str, version: int) -> bool:
        """True when we know the payment is still at `version`; False means 'go and look'."""
        entry = self._entries.get(payment_id)
        if entry is None or entry[0] != version:
            return False
        now = time.monotonic()
        return self._authoritative or now < self._feed_fresh_until or \
            now - entry[1] < self._recheck

    def moved_within(self, payment_id: str, seconds: float) -> bool:
        """Whether the payment changed in the last `seconds`, as far as this process saw:
        its buyer is in the middle of paying."""
        entry = self._entries.get(payment_id)
        return entry is not None and time.monotonic() - entry[2] < seconds

    async def follow_feed(self, changed_since: Feed, now: Callable[[], datetime],
                          interval: float) -> None:
        """Forever: read what changed since the last read (with an overlap), note it, and
        trust the map until the next read is due."""
        since = now() - FEED_OVERLAP
        while True:
            started, began = now(), time.monotonic()
            try:
                for payment_id, version in await changed_since(since):
                    if payment_id in self._entries:
                        self.note(payment_id, version)
                since = started - FEED_OVERLAP
                # Everything committed before this read began is in the map. Reads come
                # every `interval` (half a poll interval), so a change made elsewhere shows
                # within one poll interval. The map stays trusted for two, so that one read
                # delayed by a saturated event loop does not tip every poll onto the database,
                # which would saturate it further.
                self._feed_fresh_until = began + 2 * self._recheck
            except Exception:  # the database is away: polls read versions themselves
                self._feed_fresh_until = 0.0
                log.warning("version feed failed; polls read the database", exc_info=True)
            await asyncio.sleep(interval)
