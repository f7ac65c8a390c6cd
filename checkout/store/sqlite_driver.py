"""aiosqlite with one thread hop per statement instead of four: for reads that may scan.

SQLAlchemy's aiosqlite adapter makes a cursor, executes, fetches and closes, each a round trip
to aiosqlite's thread and back to the event loop (a queue put, a thread wake-up, a self-pipe
write): a whole payment's ~120 statements made ~2,000 context switches and a sixth of its CPU.
Here the four happen in one call on that thread, which returns the rows, the description and
the counts together. Only reads that may walk many rows take this road (`Database.long_reader`:
a console's filtered list, an export), so they run beside the event loop, not on it; every
other statement runs on the loop itself (`checkout.store.db`). Errors are sqlite3's.
"""

from __future__ import annotations

import collections
import sqlite3
from threading import Thread
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool
         ) -> tuple[Any, list[Any], int, int | None]:
    """On aiosqlite's thread: the whole statement, its rows read before the cursor closes."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: Any) -> None:
        # No aiosqlite cursor is made (that alone was a hop): `_run` makes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _call(self, operation: Any, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            found = await self._connection._execute(
                _run, self._connection._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = found
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._call(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._call(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        return None  # nothing is open: the rows are here already

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give `create_async_engine(…, module=…)` for `sqlite+aiosqlite`."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    _connection_cls: type[_OneHopConnection] = _OneHopConnection

    def connect(self, *arg: Any, **kw: Any) -> _OneHopConnection:  # type: ignore[override]
        connection = self.aiosqlite.connect(*arg, **kw)
        # As SQLAlchemy's own: its thread never keeps the process alive.
        thread = connection if isinstance(connection, Thread) else connection._thread
        thread.daemon = True
        return self._connection_cls(self, await_(connection))
