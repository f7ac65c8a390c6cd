"""The database handle: one async engine, write transactions that serialise, plain reads.

SQLite ignores `SELECT … FOR UPDATE`; its writes begin with `BEGIN IMMEDIATE` so two writers
never interleave. PostgreSQL relies on compare-and-set updates (`WHERE version = :v`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from checkout.store.sqlite_driver import InlineDBAPI, OneHopDBAPI

BUSY_SECONDS = 30.0  # how long a write waits for another process's write lock
BUSY_RETRY_SECONDS = 0.005


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._writer: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        self._side: AsyncEngine | None = None
        self._write_conn: AsyncConnection | None = None  # SQLite's, see `_begin_write`
        # Told how long each write waited for its turn (SQLite's writer queue; PostgreSQL's
        # writers do not queue here, and its pool's wait would count new connections too):
        # the saturation gauge (`web.plumbing.overload`) listens.
        self.on_wait: Callable[[float], None] = _ignore
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            # Readers: each connection is a thread of aiosqlite's. Past capacity the default
            # pool (5 + 10) was a queue of its own that no gauge saw: 20 + 20 took the
            # saturation rate from 9.3 to 11.6 payments/s (bench/payment_cost.py).
            self.engine: AsyncEngine = create_async_engine(
                url, connect_args={"timeout": 30}, module=OneHopDBAPI(), pool_size=20,
                max_overflow=20)
            _sqlite_pragmas(self.engine, busy_ms=30_000)
            # Writes run on the event loop (see `sqlite_driver`), one at a time (our lock), on
            # one connection, with no busy wait inside SQLite: `transaction` waits instead.
            self.writes = create_async_engine(url, connect_args={"timeout": 0},
                                              module=InlineDBAPI(), pool_size=1,
                                              max_overflow=0)
            _sqlite_pragmas(self.writes, busy_ms=0)
        else:
            self.engine = create_async_engine(url, pool_size=10, max_overflow=10,
                                              pool_pre_ping=True)
            self.writes = self.engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; committed when the block ends without an exception."""
        if self._writer is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        asked = time.perf_counter()
        # SQLite has one writer at a time. Queueing our own writers here, in order, beats
        # letting them collide in BEGIN IMMEDIATE, where SQLite's busy handler sleeps up to
        # 100 ms between tries: under 16 concurrent writers that made p99 seconds, not ms.
        async with self._writer:
            self.on_wait(time.perf_counter() - asked)
            conn = await self._begin_write()
            try:
                yield conn
            except BaseException:
                await self._end_write(conn, commit=False)
                raise
            await self._end_write(conn, commit=True)

    async def _begin_write(self) -> AsyncConnection:
        """BEGIN IMMEDIATE on the one write connection, kept open: writes take turns (our
        lock), and opening and closing a pooled connection for each, as `async with
        engine.begin()` does, runs its close in a task of its own, a trip round the event
        loop with the lock held. While another process (the CLI, say) holds SQLite's write
        lock, BEGIN is tried again after a short sleep, for as long as SQLite itself would
        have waited (30 s), without holding up the event loop meanwhile."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            if self._write_conn is None:
                self._write_conn = await self.writes.connect()
            try:
                await self._write_conn.begin()
                return self._write_conn
            except OperationalError as exc:
                await self._drop_write_conn()
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(BUSY_RETRY_SECONDS)

    async def _end_write(self, conn: AsyncConnection, *, commit: bool) -> None:
        try:
            await (conn.commit() if commit else conn.rollback())
        except BaseException:
            await self._drop_write_conn()  # in a state we cannot vouch for: a fresh one next
            raise

    async def _drop_write_conn(self) -> None:
        conn, self._write_conn = self._write_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
                await conn.close()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            # A plain deferred BEGIN on SQLite: readers never wait for the write lock.
            await conn.execution_options(checkout_read_only=True)
            yield conn

    @asynccontextmanager
    async def side_reader(self) -> AsyncIterator[AsyncConnection]:
        """A read on a connection of its own, outside the shared pool: for the one periodic
        query (the version feed) that must not queue behind a burst of requests, since a
        late feed would itself send those requests to the database."""
        if self._side is None:
            self._side = self._side_engine()
        async with self._side.connect() as conn:
            yield conn

    async def serialize(self, conn: AsyncConnection, name: str) -> None:
        """Hold a lock named `name` until this transaction ends: instances doing the same
        one-off work (seeding, say) take turns. SQLite's write transaction is such a lock."""
        if not self.is_sqlite:
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def engines(self) -> list[AsyncEngine]:
        """Every engine that will be used, so a watcher sees all statements: the side
        reader's (PostgreSQL's version feed) is made here for that."""
        if self.is_sqlite:
            return [self.engine, self.writes]
        if self._side is None:
            self._side = self._side_engine()
        return [self.engine, self._side]

    def _side_engine(self) -> AsyncEngine:
        # No pre-ping: a round trip less; a dropped connection fails one read, and the pool
        # reconnects for the next.
        return create_async_engine(self.url, pool_size=1, max_overflow=0)

    async def close(self) -> None:
        await self._drop_write_conn()
        await self.engine.dispose()
        if self.writes is not self.engine:
            await self.writes.dispose()
        if self._side is not None:
            await self._side.dispose()


async def insert_if_new(conn: AsyncConnection, table: Table, values: dict[str, Any],
                        returning: Column[Any] | None = None) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING`: True (or the `returning` column's value) if the row
    went in, None if a row with the same unique key was there. One statement, where catching
    the IntegrityError needed a savepoint around it (three)."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = insert(table).values(**values).on_conflict_do_nothing()
    if returning is None:
        done = await conn.execute(statement)
        return True if done.rowcount == 1 else None
    row = (await conn.execute(statement.returning(returning))).first()
    return row[0] if row is not None else None


def _ignore(_seconds: float) -> None:
    return None


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file, not the folders above it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(engine: AsyncEngine, busy_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own would be a deferred BEGIN).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get("checkout_read_only")
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
