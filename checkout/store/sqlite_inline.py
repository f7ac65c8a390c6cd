"""SQLite statements run on the event loop, by `sqlite3` itself: SQLAlchemy compiles each
statement once (`checkout.store.compiled`), and nothing of its execution (connection,
cursor wrapper, result metadata, cache-key walk) sits between us and the library.

Errors are SQLAlchemy's (`IntegrityError`, `OperationalError`, `DatabaseError`), as they were
when SQLAlchemy ran the statements, so the store catches the same ones on either database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.sql.base import Executable

from checkout.store.compiled import Rows, Statements, nothing


def run(connection: sqlite3.Connection, statements: Statements, statement: Executable,
        parameters: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> Rows:
    """Run one statement (or one per parameter set, given a list) and read its rows."""
    sql: str = ""
    try:
        if isinstance(parameters, Sequence):  # many rows at once: no rows come back
            if not parameters:
                return nothing()
            count = 0
            for sql, rows in statements.batches(statement, parameters):
                count += connection.executemany(sql, rows).rowcount
            return nothing(count)
        parameters = parameters or {}
        prepared = statements.prepare(statement, parameters)
        sql, args = prepared.bind(parameters)
        cursor = connection.execute(sql, args)
        if cursor.description is None:
            return nothing(cursor.rowcount)
        fetched = cursor.fetchall()
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc
    except sqlite3.OperationalError as exc:
        raise OperationalError(sql, None, exc) from exc
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(sql, None, exc) from exc
    description = cursor.description
    return prepared.rows(fetched, len(fetched), lambda: [d[0] for d in description])
