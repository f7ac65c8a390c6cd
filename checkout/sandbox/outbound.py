"""How an emulated acquirer sends its webhooks: retried like a real one, faults applied."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from checkout.sandbox.faults import WEBHOOK_KINDS, FaultBook
from checkout.sandbox.sqlite_file import open_file

log = logging.getLogger("checkout.sandbox")

REORDER_WAIT = 5.0  # a held-back webhook goes out by itself after this long


@dataclass
class _Held:
    send: Callable[[], Awaitable[None]]
    task: asyncio.Task[None]

SENDING_AT_ONCE = 16


class _Journal:
    """The webhooks not yet answered, on disk: a bank that restarts (or is killed) still owes
    them, and sends them when it is back, as a real one does."""

    def __init__(self, path: Path) -> None:
        self._db = open_file(path)
        self._lock = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS owed (id TEXT PRIMARY KEY, url TEXT "
                         "NOT NULL, body BLOB NOT NULL, headers TEXT NOT NULL, since REAL "
                         "NOT NULL)")

    def add(self, url: str, body: bytes, headers: dict[str, str]) -> str:
        owed_id = secrets.token_hex(8)
        with self._lock:
            self._db.execute("INSERT INTO owed VALUES (?,?,?,?,?)",
                             (owed_id, url, body, json.dumps(headers), time.time()))
        return owed_id

    def done(self, owed_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM owed WHERE id = ?", (owed_id,))

    def owed(self) -> list[tuple[str, str, bytes, dict[str, str], float]]:
        with self._lock:
            rows = self._db.execute("SELECT id, url, body, headers, since FROM owed "
                                    "ORDER BY since").fetchall()
        return [(r[0], r[1], bytes(r[2]), json.loads(r[3]), r[4]) for r in rows]

    def close(self) -> None:
        self._db.close()


class Outbound:
    """`attempts`: how many tries a webhook gets (None: until answered 200, within `window`
    seconds), at intervals growing from `first_delay` to at most `max_delay` seconds.
    `expect_body`: what the answer must say besides 200 to count (T-Bank: `OK`).
    `journal`: where the webhooks not yet answered are kept, to be sent after a restart
    (`resume`); without one they live only in memory."""

    def __init__(self, acquirer: str, client: httpx.AsyncClient, faults: FaultBook,
                 attempts: int | None = 6, *, first_delay: float = 0.5,
                 max_delay: float = 60.0, window: float = 24 * 3600,
                 expect_body: bytes | None = None, journal: Path | None = None) -> None:
        self._journal = _Journal(journal) if journal is not None else None
        self._expect_body = expect_body
        self._acquirer = acquirer
        self._client = client
        self._faults = faults
        self._attempts = attempts
        self._first_delay, self._max_delay, self._window = first_delay, max_delay, window
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[str, _Held] = {}
        # Per subject, the first try of the webhook sent last: the next about that subject
        # waits for it. A bank tells one payment's news in the order it happened (the faults
        # above reorder on purpose); sent at once, two webhooks a few ms apart raced.
        self._last_tried: dict[str, asyncio.Event] = {}
        # A bank sends a bounded number of webhooks at once; an unbounded burst would also
        # queue inside httpx's pool, whose bookkeeping grows with the square of the queue.
        self._sending = asyncio.Semaphore(SENDING_AT_ONCE)

    def send(self, url: str, body: bytes, headers: dict[str, str], *, event: str,
             subject: str, meta: dict[str, Any]) -> None:
        """Queue one webhook about `subject` (a payment or session id); never blocks."""
        fault = self._faults.take(WEBHOOK_KINDS, self._acquirer, event, meta)
        dropped = fault is not None and fault.kind == "drop"
        owed = self._journal.add(url, body, headers) if self._journal and not dropped else None

        async def deliver() -> None:
            before, tried = self._last_tried.get(subject), asyncio.Event()
            self._last_tried[subject] = tried
            try:
                if before is not None:
                    await before.wait()
                await self._owe(owed, url, body, headers, time.time(), tried)
            finally:
                tried.set()  # given up or cancelled too: it holds up nothing after it
                if self._last_tried.get(subject) is tried:
                    del self._last_tried[subject]

        held = self._held.pop(subject, None)
        if dropped:
            log.info("sandbox %s: webhook %s dropped (fault)", self._acquirer, event)
        elif fault is not None and fault.kind == "reorder":
            self._held[subject] = _Held(deliver, self._spawn(self._release(subject)))
        elif fault is not None and fault.kind == "delay":
            self._spawn(self._later(fault.seconds, deliver))
        else:
            self._spawn(deliver())
            if fault is not None and fault.kind == "duplicate":
                self._spawn(deliver())
        if held is not None:
            # The held-back one goes out after this newer one: reordered.
            held.task.cancel()
            self._spawn(self._later(0.2, held.send))

    async def _release(self, subject: str) -> None:
        await asyncio.sleep(REORDER_WAIT)
        held = self._held.pop(subject, None)
        if held is not None:
            await held.send()

    @staticmethod
    async def _later(seconds: float, send: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(seconds)
        await send()

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def resume(self) -> int:
        """Send again what was owed when the emulator last stopped (or was killed)."""
        if self._journal is None:
            return 0
        owed = self._journal.owed()
        for owed_id, url, body, headers, since in owed:
            self._spawn(self._owe(owed_id, url, body, headers, since))
        return len(owed)

    async def _owe(self, owed_id: str | None, url: str, body: bytes, headers: dict[str, str],
                   since: float, tried: asyncio.Event | None = None) -> None:
        await self._deliver(url, body, headers, give_up=since + self._window, tried=tried)
        if owed_id is not None and self._journal is not None:
            self._journal.done(owed_id)  # answered, or given up on: owed no more

    async def _deliver(self, url: str, body: bytes, headers: dict[str, str], *,
                       give_up: float, tried: asyncio.Event | None = None) -> None:
        """`tried` is set once the first try has its answer (or its failure): the retries
        that may follow hold up no later webhook."""
        delay = self._first_delay
        tries = 0
        while (self._attempts is None or tries < self._attempts) and time.time() < give_up:
            tries += 1
            try:
                async with self._sending:
                    resp = await self._client.post(url, content=body, headers=headers,
                                                   timeout=10)
                if resp.status_code == 200 and (self._expect_body is None or
                                                resp.content.strip() == self._expect_body):
                    return
                log.info("sandbox %s webhook answered %s", self._acquirer, resp.status_code)
            except httpx.HTTPError as exc:
                log.info("sandbox %s webhook failed: %s", self._acquirer, type(exc).__name__)
            finally:
                if tried is not None:
                    tried.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_delay)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._journal is not None:
            self._journal.close()
