"""What every emulator does alike: run its timers once a second, and shut down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger("checkout.sandbox")


class Emulator:
    """Base of the emulators: `expire_overdue` runs their timers (pay terms, holds, refunds);
    `_out` sends their webhooks and `_store` keeps their state, both closed on `stop`."""

    name: str
    _out: Any
    _store: Any
    _sweeper: asyncio.Task[None] | None = None

    async def expire_overdue(self) -> int:
        raise NotImplementedError

    async def start(self) -> None:
        self._out.resume()  # what it owed when it last stopped, or was killed
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self._out.close()
        self._store.close()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.expire_overdue()
            except Exception:  # the sweeper must outlive any one bad row
                log.exception("sandbox %s sweep failed", self.name)
