"""An in-process map of payment id → version, kept right by the flow after every commit.

It lets the buyer's status poll answer "unchanged" without touching the database. With one
instance (SQLite) it is authoritative; with several instances (PostgreSQL) an entry is trusted
only for `recheck_seconds`, so a change made elsewhere shows within one poll interval.
"""

from __future__ import annotations

import time
from collections import OrderedDict


class VersionCache:
    def __init__(self, *, authoritative: bool, recheck_seconds: float = 2.0,
                 max_entries: int = 200_000) -> None:
        self._entries: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._authoritative = authoritative
        self._recheck = recheck_seconds
        self._max = max_entries

    def note(self, payment_id: str, version: int) -> None:
        old = self._entries.get(payment_id)
        if old is not None and old[0] > version:
            return  # a slower commit must not hide a newer one
        self._entries[payment_id] = (version, time.monotonic())
        self._entries.move_to_end(payment_id)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def unchanged(self, payment_id: str, version: int) -> bool:
        """True when we know the payment is still at `version`; False means 'go and look'."""
        entry = self._entries.get(payment_id)
        if entry is None or entry[0] != version:
            return False
        return self._authoritative or time.monotonic() - entry[1] < self._recheck
