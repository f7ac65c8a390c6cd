"""PostgreSQL through asyncpg directly: SQLAlchemy compiles each statement (once: its SQL, how
its parameters bind, how its columns read back) and asyncpg runs it on a connection of its
own pool.

SQLAlchemy's async layer (a greenlet switch around every statement, an adapted cursor, its
pool and its pre-ping) cost about 100 µs of our CPU a statement on top of asyncpg's 70, for
the sixty statements of a payment (`bench/payment_cost.py`). What SQLAlchemy does here is
what it does for its own execution: `Compiled.construct_params`, the dialect's bind and
result processors, Python-side column defaults, expanding `IN` parameters. The answers are
SQLAlchemy `Result`s, so the store's queries read them as before.

Some of those pieces are SQLAlchemy's internals (`_compile_w_cache`, `_bind_processors`,
`_result_columns`): `requirements.lock` pins the release they were written against (2.1.9),
and the PostgreSQL half of the suite, every query run through here, is what tells whether an
upgrade moved them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import LRUCache
from sqlalchemy.util.typing import TupleAny

# A connection idle longer than this is checked before use: a database restarted meanwhile
# has dropped it (one in steady use proves itself alive by its last statement).
PING_IDLE_SECONDS = 1.0
STATEMENT_CACHE = 512  # prepared statements asyncpg keeps per connection


class Rows(IteratorResult[*TupleAny]):
    """A statement's rows (read at once) and how many rows it touched."""

    rowcount: int


class Statements:
    """Statements compiled for one dialect, each once per set of parameter names."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._compiled: LRUCache[Any, Any] = LRUCache(1000)
        # Keyed by the compiled statement itself, not its id: one evicted from the cache above
        # and collected could leave its id to another.
        self._reading: dict[SQLCompiler,
                            tuple[Sequence[str], list[Callable[[Any], Any] | None]]] = {}

    def bind(self, statement: Executable, parameters: Mapping[str, Any]
             ) -> tuple[SQLCompiler, str, list[Any]]:
        """The statement's SQL for this dialect, and its arguments in order."""
        found, extracted, collected, _ = statement._compile_w_cache(  # type: ignore[attr-defined]
            self.dialect, compiled_cache=self._compiled, column_keys=sorted(parameters))
        compiled = cast(SQLCompiler, found)
        values = cast(dict[str, Any], compiled.construct_params(
            parameters, escape_names=False, extracted_parameters=extracted,
            _collected_params=collected))
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            if column.key not in parameters:  # a Python-side default: a constant here
                values[column.key] = getattr(column.default, "arg", None)
        sql, order = compiled.string, cast(Sequence[str] | None, compiled.positiontup)
        # (No tuple-valued parameters here: every processor is a plain function.)
        processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
        if compiled.literal_execute_params or compiled.post_compile_params:
            expanded = compiled._process_parameters_for_postcompile(values)
            sql, order = expanded.statement, expanded.positiontup
            processors = {**processors, **cast(Mapping[str, Callable[[Any], Any]],
                                               expanded.processors)}
            values = cast(dict[str, Any], expanded.parameters)
        args = [processors[k](values[k]) if k in processors else values[k]
                for k in order or ()]
        return compiled, sql, args

    def reading(self, compiled: SQLCompiler
                ) -> tuple[Sequence[str], list[Callable[[Any], Any] | None]]:
        """The names of a statement's result columns, and how each is read back."""
        found = self._reading.get(compiled)
        if found is None:
            columns = compiled._result_columns
            found = ([c.keyname for c in columns],
                     [c.type._cached_result_processor(self.dialect, None) for c in columns])
            if len(self._reading) > 2000:
                self._reading.clear()
            self._reading[compiled] = found
        return found


async def run(connection: asyncpg.Connection, statements: Statements, statement: Executable,
              parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Rows:
    """Run one statement (or one per parameter set, given a list) and read its rows."""
    try:
        if isinstance(parameters, Sequence):  # many rows at once: no rows come back
            if not parameters:
                return _rows([], [], 0)
            # One SQL for all: the rows of one call carry the same columns.
            bound = [statements.bind(statement, p) for p in parameters]
            await connection.executemany(bound[0][1], [args for _, _, args in bound])
            return _rows([], [], len(parameters))
        compiled, sql, args = statements.bind(statement, parameters or {})
        if not compiled.returning and not compiled.isplaintext and (
                compiled.isinsert or compiled.isupdate or compiled.isdelete):
            status = await connection.execute(sql, *args)
            return _rows([], [], int(status.rsplit(" ", 1)[-1] or 0))
        records = await connection.fetch(sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(str(statement), None, exc) from exc
    except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
        raise OperationalError(str(statement), None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DatabaseError(str(statement), None, exc) from exc
    keys, processors = statements.reading(compiled)
    if not keys and records:
        keys = list(records[0].keys())
        processors = [None] * len(keys)
    if any(processors):
        rows = [tuple(p(v) if p else v for p, v in zip(processors, r, strict=True))
                for r in records]
    else:
        rows = [tuple(r) for r in records]
    return _rows(keys, rows, len(rows))


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """On release, asyncpg rolls back a transaction left open; its default reset also sends
    `RESET ALL`, `UNLISTEN *`, `CLOSE ALL` and an advisory unlock: a round trip for every
    use, for state we never set (our advisory locks are the transaction's)."""


def _rows(keys: Sequence[str], rows: list[tuple[Any, ...]], count: int) -> Rows:
    found = Rows(SimpleResultMetaData(keys), iter(rows))
    found.rowcount = count
    return found


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
