"""PostgreSQL through asyncpg directly: SQLAlchemy compiles each statement once
(`checkout.store.compiled`) and asyncpg runs it on a connection of its own pool.

SQLAlchemy's async layer (a greenlet switch around every statement, an adapted cursor, its
pool and its pre-ping) cost about 100 µs of our CPU a statement on top of asyncpg's 70, for
the sixty statements of a payment (`bench/payment_cost.py`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.sql.base import Executable

from checkout.store.compiled import Rows, Statements, nothing

# A connection idle longer than this is checked before use: a database restarted meanwhile
# has dropped it (one in steady use proves itself alive by its last statement).
PING_IDLE_SECONDS = 1.0
STATEMENT_CACHE = 512  # prepared statements asyncpg keeps per connection


async def run(connection: asyncpg.Connection, statements: Statements, statement: Executable,
              parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Rows:
    """Run one statement (or one per parameter set, given a list) and read its rows."""
    try:
        if isinstance(parameters, Sequence):  # many rows at once: no rows come back
            if not parameters:
                return nothing()
            for sql, rows in statements.batches(statement, parameters):
                await connection.executemany(sql, rows)
            return nothing(len(parameters))
        parameters = parameters or {}
        prepared = statements.prepare(statement, parameters)
        sql, args = prepared.bind(parameters)
        if not prepared.returns_rows:
            status = await connection.execute(sql, *args)
            return nothing(int(status.rsplit(" ", 1)[-1] or 0))
        records = await connection.fetch(sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(str(statement), None, exc) from exc
    except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
        raise OperationalError(str(statement), None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseError(str(statement), None, exc) from exc
    return prepared.rows(records, len(records), lambda: list(records[0].keys()))


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """On release, asyncpg rolls back a transaction left open; its default reset also sends
    `RESET ALL`, `UNLISTEN *`, `CLOSE ALL` and an advisory unlock: a round trip for every
    use, for state we never set (our advisory locks are the transaction's)."""


class Turns:
    """At most `size` holders at once, the rest served in the order they asked.

    asyncpg's pool (an `asyncio.Queue` of connections) lets a newcomer take a connection
    freed a moment before the waiter it was meant for runs: measured at twice capacity, half
    the uses got one at once while a few waited 20 s, so neither the buyers nor the gauge
    watching the wait (the least of each interval) saw the queue that was there."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def take(self) -> None:
        if self._free and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back()  # handed a turn it will not use: the next one's
            raise

    def give_back(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():  # (a waiter cancelled meanwhile is skipped)
                turn.set_result(None)
                return
        self._free += 1


class Pool:
    """asyncpg's pool, whose connections are checked before use after sitting idle, telling
    `on_wait` how long each use waited for its connection: past capacity, that wait (the
    database or its connections being the bottleneck) is where requests queue."""

    def __init__(self, url: str, *, size: int,
                 on_wait: Callable[[float], None] | None = None) -> None:
        self._on_wait = on_wait
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._idle_since: dict[int, float] = {}  # by the server's process id
        self._turns = Turns(size)

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=self._size,
                    statement_cache_size=STATEMENT_CACHE, reset=_keep_session)
        return self._pool

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool or await self._open()
        asked = time.perf_counter()
        await self._turns.take()
        try:
            connection, pid = await self._usable(pool)
            if self._on_wait is not None:
                self._on_wait(time.perf_counter() - asked)
            try:
                yield connection
            finally:
                if len(self._idle_since) > 4 * self._size:  # ids of connections long closed
                    self._idle_since.clear()
                self._idle_since[pid] = time.monotonic()
                await pool.release(connection)
        finally:
            self._turns.give_back()

    async def _usable(self, pool: asyncpg.Pool) -> tuple[asyncpg.Connection, int]:
        for tries_left in (2, 1, 0):
            connection = await pool.acquire()
            pid = connection.get_server_pid()
            since = self._idle_since.pop(pid, None)
            if since is None or time.monotonic() - since <= PING_IDLE_SECONDS:
                break
            try:
                await connection.fetchval("SELECT 1")
                break
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                connection.terminate()  # dead: the pool opens a fresh one in its place
                await pool.release(connection)
                if not tries_left:
                    raise
        return connection, pid

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
