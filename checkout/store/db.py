"""The database handle: reads, write transactions that serialise, and reads that may scan.

Every query in the store runs on a `Conn`, whichever database is behind it:

- **SQLite** is a library in our own process, so its statements run right on the event loop,
  by `sqlite3` itself, each compiled once by SQLAlchemy (`checkout.store.sqlite_inline`; no
  thread, no greenlet): a point read costs tens of microseconds there, where each trip to a
  worker thread and back cost several hundred. Writes begin with `BEGIN IMMEDIATE` and
  take turns on an asyncio lock; reads are a deferred `BEGIN`, a snapshot that never waits
  for a writer (WAL). A read that may walk many rows (`long_reader`: the console's lists,
  exports) runs on a thread instead (`sqlite_driver`), so it cannot hold up every buyer's
  page meanwhile.
- **PostgreSQL** is reached over the network, through asyncpg and its pool directly, each
  statement compiled by SQLAlchemy (`checkout.store.postgres`). Reads run without a
  transaction of their own (READ COMMITTED gives each statement its own snapshot anyway).
  SQLite ignores `SELECT … FOR UPDATE`; PostgreSQL's writers rely on compare-and-set updates
  (`WHERE version = :v`) instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, PoolProxiedConnection
from sqlalchemy.sql.base import Executable
from sqlalchemy.util.typing import TupleAny

from checkout.store import postgres, sqlite_inline
from checkout.store.compiled import Rows as CompiledRows
from checkout.store.compiled import Statements
from checkout.store.sqlite_driver import OneHopDBAPI

BUSY_SECONDS = 30.0  # how long a write waits for another process's write lock
BUSY_RETRY_SECONDS = 0.005
# A read on SQLite waits for a lock only while a crashed process's journal is recovered, or
# while another process holds the database exclusively (VACUUM): rare, and short.
READ_BUSY_MS = 1_000
IDLE_READERS = 8  # SQLite read connections kept open between reads
PG_CONNECTIONS = 20  # per instance, at most: the default of CHECKOUT_DB_CONNECTIONS

Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
Rows = CursorResult[*TupleAny] | CompiledRows


class Counts:
    """Statements and transactions sent, for `/metrics` (what a payment costs in round
    trips): counted here rather than through SQLAlchemy's events, whose dispatch on every
    statement cost more than the counting."""

    __slots__ = ("statements", "transactions", "redone")

    def __init__(self) -> None:
        self.statements = 0
        self.transactions = 0
        # Write transactions run again because a row they read had moved meanwhile (the
        # flow's versioned writes): contention, and part of what a payment costs.
        self.redone = 0


class Conn:
    """One read or write transaction, as the store's queries see it: `execute` a statement,
    get its result (SQLAlchemy's), whichever database and however it is reached."""

    dialect: Dialect

    async def execute(self, statement: Executable, parameters: Parameters = None
                      ) -> Rows:
        raise NotImplementedError

    def begin_nested(self) -> AbstractAsyncContextManager[object]:
        """A savepoint: the block's statements are undone alone if it raises."""
        raise NotImplementedError


class _OnLoop(Conn):
    """A SQLite connection of our own, its statements run in place by `sqlite3`
    (`checkout.store.sqlite_inline`)."""

    __slots__ = ("dbapi", "raw", "statements", "dialect", "counts")

    def __init__(self, dbapi: PoolProxiedConnection, statements: Statements,
                 counts: Counts) -> None:
        self.dbapi = dbapi  # SQLAlchemy's hold on it, which closes it
        raw = dbapi.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        self.raw = raw
        self.statements = statements
        self.dialect = statements.dialect
        self.counts = counts

    async def execute(self, statement: Executable, parameters: Parameters = None
                      ) -> Rows:
        self.counts.statements += 1
        return sqlite_inline.run(self.raw, self.statements, statement, parameters)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[object]:
        self.raw.execute("SAVEPOINT nested")
        try:
            yield self
        except BaseException:
            self.raw.execute("ROLLBACK TO SAVEPOINT nested")
            self.raw.execute("RELEASE SAVEPOINT nested")
            raise
        self.raw.execute("RELEASE SAVEPOINT nested")


class _Awaited(Conn):
    """An async connection (PostgreSQL's; SQLite's on a worker thread)."""

    __slots__ = ("conn", "dialect", "counts")

    def __init__(self, conn: AsyncConnection, counts: Counts) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.counts = counts
        counts.transactions += 1

    async def execute(self, statement: Executable, parameters: Parameters = None
                      ) -> Rows:
        self.counts.statements += 1
        return await self.conn.execute(statement, parameters)  # type: ignore[arg-type]

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[object]:
        async with self.conn.begin_nested() as savepoint:
            yield savepoint


class _Remote(Conn):
    """A PostgreSQL connection, its statements run by asyncpg (`checkout.store.postgres`)."""

    __slots__ = ("connection", "statements", "dialect", "counts")

    def __init__(self, connection: Any, statements: Statements,
                 counts: Counts) -> None:
        self.connection = connection
        self.statements = statements
        self.dialect = statements.dialect
        self.counts = counts
        counts.transactions += 1

    async def execute(self, statement: Executable, parameters: Parameters = None
                      ) -> Rows:
        self.counts.statements += 1
        return await postgres.run(self.connection, self.statements, statement, parameters)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[object]:
        async with self.connection.transaction() as savepoint:
            yield savepoint


class Database:
    def __init__(self, url: str, *, connections: int = PG_CONNECTIONS) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.counts = Counts()
        # Told how long each write waited for its turn (SQLite's writer queue), or each use of
        # PostgreSQL for a pooled connection: the saturation gauge (`web.plumbing.overload`)
        # listens, and takes the least of each interval (a burst of new connections being
        # opened is not a standing queue).
        self.on_wait: Callable[[float], None] = _ignore
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            self._writer = asyncio.Lock()
            self._write_conn: _OnLoop | None = None
            self._idle: list[_OnLoop] = []
            # Our own connections, each kept open: no pool between us and sqlite3.
            self.inline: Engine = create_engine(_sync_sqlite_url(url), poolclass=NullPool,
                                                connect_args={"check_same_thread": False})
            _sqlite_pragmas(self.inline)
            self._inline_statements: Statements | None = None
            # Reads that may scan, on aiosqlite's threads, one hop a statement.
            self.engine: AsyncEngine = create_async_engine(
                url, connect_args={"timeout": 30}, module=OneHopDBAPI(), pool_size=4,
                max_overflow=8)
            _sqlite_pragmas(self.engine.sync_engine, busy_ms=30_000)
        else:
            # Only for its dialect (what SQL to write, how values bind and read back), made
            # ready by one connection (`_statements`); asyncpg's pools do the work.
            self.engine = create_async_engine(url, poolclass=NullPool)
            self._pool = postgres.Pool(url, size=connections,
                                       on_wait=lambda seconds: self.on_wait(seconds))
            self._side_pool = postgres.Pool(url, size=1)
            self._compiled: Statements | None = None

    # ---- writes ----------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A write transaction; committed when the block ends without an exception."""
        if not self.is_sqlite:
            statements = self._compiled or await self._statements()
            async with self._pool.connection() as connection, connection.transaction():
                yield _Remote(connection, statements, self.counts)
            return
        asked = time.perf_counter()
        # SQLite has one writer at a time. Queueing our own writers here, in order, beats
        # letting them collide in BEGIN IMMEDIATE, where SQLite's busy handler sleeps up to
        # 100 ms between tries: under 16 concurrent writers that made p99 seconds, not ms.
        async with self._writer:
            self.on_wait(time.perf_counter() - asked)
            conn = await self._begin_write()
            self.counts.transactions += 1
            try:
                yield conn
            except BaseException:
                self._end_write(conn, commit=False)
                raise
            self._end_write(conn, commit=True)

    async def _begin_write(self) -> _OnLoop:
        """BEGIN IMMEDIATE on the one write connection, kept open. While another process (the
        CLI, say) holds SQLite's write lock, BEGIN is tried again after a short sleep, for as
        long as SQLite itself would have waited (30 s), without holding up the event loop
        meanwhile: this connection has no busy timeout of its own."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            if self._write_conn is None:
                self._write_conn = self._open(busy_ms=0)
            try:
                self._write_conn.raw.execute("BEGIN IMMEDIATE")
                return self._write_conn
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    self._drop_write_conn()
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            await asyncio.sleep(BUSY_RETRY_SECONDS)

    def _end_write(self, conn: _OnLoop, *, commit: bool) -> None:
        try:
            _finish(conn, commit=commit)
        except BaseException:
            self._drop_write_conn()  # in a state we cannot vouch for: a fresh one next
            raise

    def _drop_write_conn(self) -> None:
        conn, self._write_conn = self._write_conn, None
        if conn is not None:
            _close(conn)

    # ---- reads -----------------------------------------------------------------------------

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Conn]:
        """A read: point lookups and short lists, a consistent snapshot on SQLite (a deferred
        BEGIN: it never waits for a writer)."""
        if not self.is_sqlite:
            statements = self._compiled or await self._statements()
            async with self._pool.connection() as connection:
                yield _Remote(connection, statements, self.counts)
            return
        conn = self._idle.pop() if self._idle else self._open(busy_ms=READ_BUSY_MS)
        self.counts.transactions += 1
        try:
            conn.raw.execute("BEGIN")
            yield conn
        except BaseException:
            with _dropped_on_error(conn):
                _finish(conn, commit=False)
            raise
        with _dropped_on_error(conn):
            _finish(conn, commit=False)
        if len(self._idle) < IDLE_READERS:
            self._idle.append(conn)
        else:
            _close(conn)

    @asynccontextmanager
    async def long_reader(self) -> AsyncIterator[Conn]:
        """A read that may walk many rows (a console's filtered list, an export): on SQLite it
        runs on a worker thread, so the event loop serves everyone else meanwhile."""
        if not self.is_sqlite:
            async with self.reader() as remote:
                yield remote
            return
        async with self.engine.connect() as conn:
            yield _Awaited(conn, self.counts)

    @asynccontextmanager
    async def side_reader(self) -> AsyncIterator[Conn]:
        """A read on a connection of its own, outside the shared pool: for the one periodic
        query (the version feed) that must not queue behind a burst of requests, since a
        late feed would itself send those requests to the database."""
        if self.is_sqlite:
            async with self.reader() as conn:
                yield conn
            return
        statements = self._compiled or await self._statements()
        async with self._side_pool.connection() as connection:
            yield _Remote(connection, statements, self.counts)

    async def _statements(self) -> Statements:
        """PostgreSQL's dialect, as SQLAlchemy learns it on connecting (the server's version
        and settings): what every statement is compiled for."""
        if self._compiled is None:
            async with self.engine.connect():
                pass
            self._compiled = Statements(self.engine.dialect)
        return self._compiled

    def _open(self, busy_ms: int) -> _OnLoop:
        dbapi = self.inline.raw_connection()  # (the first one teaches the dialect SQLite's)
        if self._inline_statements is None:
            self._inline_statements = Statements(self.inline.dialect)
        conn = _OnLoop(dbapi, self._inline_statements, self.counts)
        conn.raw.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        return conn

    # ---- the rest --------------------------------------------------------------------------

    async def serialize(self, conn: Conn, name: str) -> None:
        """Hold a lock named `name` until this transaction ends: instances doing the same
        one-off work (seeding, say) take turns. SQLite's write transaction is such a lock."""
        if not self.is_sqlite:
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def close(self) -> None:
        if self.is_sqlite:
            self._drop_write_conn()
            while self._idle:
                _close(self._idle.pop())
            self.inline.dispose()
        else:
            await self._pool.close()
            await self._side_pool.close()
        await self.engine.dispose()


def _finish(conn: _OnLoop, *, commit: bool) -> None:
    """End the transaction we began (our BEGIN)."""
    raw = conn.raw
    if raw.in_transaction:
        raw.commit() if commit else raw.rollback()


@contextlib.contextmanager
def _dropped_on_error(conn: _OnLoop) -> Iterator[None]:
    try:
        yield
    except BaseException:
        _close(conn)
        raise


def _close(conn: _OnLoop) -> None:
    with contextlib.suppress(Exception):
        conn.dbapi.invalidate()


async def insert_if_new(conn: Conn, table: Table, values: dict[str, Any],
                        returning: Column[Any] | None = None) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING`: True (or the `returning` column's value) if the row
    went in, None if a row with the same unique key was there. One statement, where catching
    the IntegrityError needed a savepoint around it (three)."""
    key = (conn.dialect.name, table.name, returning.name if returning is not None else "")
    statement = _INSERTS_IF_NEW.get(key)
    if statement is None:
        insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
        statement = insert(table).on_conflict_do_nothing()
        if returning is not None:
            statement = statement.returning(returning)
        _INSERTS_IF_NEW[key] = statement
    done = await conn.execute(statement, values)
    if returning is None:
        return True if done.rowcount == 1 else None
    row = done.first()
    return row[0] if row is not None else None


# Built once each (a statement's construction costs more than SQLite's running it).
_INSERTS_IF_NEW: dict[tuple[str, str, str], Executable] = {}


def _ignore(_seconds: float) -> None:
    return None


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file, not the folders above it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sync_sqlite_url(url: str) -> str:
    """`sqlite+aiosqlite:///…` (what DATABASE_URL says) as the standard library's driver."""
    scheme, rest = url.split(":", 1)
    return "sqlite:" + rest if scheme.startswith("sqlite") else url


def _sqlite_pragmas(engine: Engine, busy_ms: int | None = None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (pysqlite's own would be a deferred BEGIN before writes).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        if busy_ms is not None:
            cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    if busy_ms is not None:
        # The threaded readers: SQLAlchemy begins their transactions, a plain deferred BEGIN
        # (a reader never waits for the write lock).
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")
