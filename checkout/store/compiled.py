"""Statements compiled by SQLAlchemy once, then run by the database's own driver (`sqlite3` on
the event loop, asyncpg over the network): what SQLAlchemy's own execution does for every
statement, done once per statement instead.

SQLAlchemy compiles each statement shape once already (its compiled cache), but finds it again
on every execution by walking the statement for its cache key, and builds a fresh result
metadata for every answer. For the sixty statements of a payment (`bench/payment_cost.py`) that
walk, the wrapping of cursor and connection and the metadata cost more than SQLite spends
running them: a point read by primary key took 65 µs through `Connection.execute` and takes
34 µs here, of which sqlite3 itself is 18.

So a statement object is looked up by identity: the store builds its hot statements once, as
module constants with `bindparam`s (`repo._PAYMENT`…), and those are found with no walk at all.
A statement built per call still works (it is found in SQLAlchemy's cache by its key, as
before), it only does not gain.

What is kept from SQLAlchemy: the SQL for the dialect, `Compiled.construct_params` (run once
a statement, to plan where each argument comes from; on every execution only for expanding
`IN` and binds computed by a function), the dialect's bind and result processors, scalar
Python-side column defaults, expanding `IN` parameters, its `Row`. The answers (`Rows`) have
the methods of a `Result` the store's queries use, so they read them as before. Some of those
pieces are SQLAlchemy internals (`_compile_w_cache`, `_bind_processors`, `_result_columns`,
`_process_parameters_for_postcompile`, `Row`'s constructor and `_key_to_index`):
`requirements.lock` pins the release they were written against (2.1.9), and the suite, on both
databases, is what tells whether an upgrade moved them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.engine.row import Row
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import LRUCache

COMPILED_SHAPES = 1000  # statement shapes kept compiled (SQLAlchemy's own cache)
KNOWN_STATEMENTS = 2000  # statement objects remembered by identity before starting over

Processor = Callable[[Any], Any]


class Rows:
    """A statement's rows (read at once) and how many rows it touched: the part of
    SQLAlchemy's `Result` the store reads (`first`, `one`, `scalar`, `fetchone`…, iteration),
    each row SQLAlchemy's own `Row`.

    A `Result` runs each answer through its general machinery (filters, uniqueness, closing
    the cursor it does not have here): 7 µs for a `first()` that takes 0.4 here, on each of a
    payment's 25 reads. The errors are SQLAlchemy's (`NoResultFound`, `MultipleResultsFound`)."""

    __slots__ = ("_metadata", "_rows", "_at", "rowcount")

    def __init__(self, metadata: SimpleResultMetaData, fetched: Sequence[Sequence[Any]],
                 count: int) -> None:
        self._metadata = metadata
        self._rows = fetched  # values already read back as their types say
        self._at = 0  # rows before it have been handed out (`fetchone`, iteration)
        self.rowcount = count

    def _rest(self) -> Sequence[Sequence[Any]]:
        rest, self._at = self._rows[self._at:], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Row[Any]]:
        return iter(self.fetchall())

    def fetchone(self) -> Row[Any] | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return row(self._metadata, self._rows[self._at - 1])

    def fetchall(self) -> list[Row[Any]]:
        metadata = self._metadata
        return [row(metadata, values) for values in self._rest()]

    all = fetchall

    def first(self) -> Row[Any] | None:
        """The first row left, or None; the rest are discarded (as `Result.first`)."""
        rest = self._rest()
        return row(self._metadata, rest[0]) if rest else None

    def one(self) -> Row[Any]:
        """The one row left; SQLAlchemy's errors if none or more."""
        rest = self._rest()
        if not rest:
            raise NoResultFound("No row was found when one was required")
        if len(rest) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was "
                                       "required")
        return row(self._metadata, rest[0])

    def one_or_none(self) -> Row[Any] | None:
        rest = self._rest()
        if len(rest) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was "
                                       "required")
        return row(self._metadata, rest[0]) if rest else None

    def scalar(self) -> Any:
        """The first column of the first row left, or None."""
        rest = self._rest()
        return rest[0][0] if rest else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        found = self.one_or_none()
        return found[0] if found is not None else None


class _Given:
    """Stands for the caller's parameter `name` while a statement's binds are worked out."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Prepared:
    """One statement object, compiled for a dialect and one set of parameter names: all that
    each execution of it reads instead of working out again."""

    __slots__ = ("statement", "compiled", "extracted", "collected", "sql", "order",
                 "binders", "defaults", "expands", "returns_rows", "metadata", "readers",
                 "plan")

    def __init__(self, statement: Executable, dialect: Dialect, names: list[str],
                 shapes: LRUCache[Any, Any]) -> None:
        found, self.extracted, self.collected, _ = statement._compile_w_cache(  # type: ignore[attr-defined]
            dialect, compiled_cache=shapes, column_keys=names)
        compiled = self.compiled = cast(SQLCompiler, found)
        self.statement = statement  # held, so its id is not another's while it is known
        self.sql: str = compiled.string
        self.order: Sequence[str] = compiled.positiontup or ()
        # (No tuple-valued parameters here: every processor is a plain function.)
        self.binders = cast(Mapping[str, Processor], compiled._bind_processors)
        self.defaults: list[tuple[str, Any]] = []
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            if column.key in names:
                continue
            default = column.default
            if default is None or not getattr(default, "is_scalar", False):
                raise TypeError(f"column {column.key}: only a constant Python-side default "
                                "is supported here; give a server_default or a value")
            self.defaults.append((column.key, getattr(default, "arg", None)))
        self.expands = bool(compiled.literal_execute_params or compiled.post_compile_params)
        self.returns_rows = bool(compiled.returning) or compiled.isplaintext or not (
            compiled.isinsert or compiled.isupdate or compiled.isdelete)
        columns = compiled._result_columns
        # None for textual SQL: its columns are named by the driver's answer.
        self.metadata = SimpleResultMetaData([c.keyname for c in columns]) if columns \
            else None
        readers = [(i, c.type._cached_result_processor(dialect, None))
                   for i, c in enumerate(columns)]
        self.readers: list[tuple[int, Processor]] = [(i, r) for i, r in readers if r]

        self.plan = self._plan(names)

    def _plan(self, names: list[str]) -> list[tuple[str | None, Any, Processor | None]] | None:
        """Where each argument comes from, worked out once: the caller's parameter of that
        name (then its type's processor), or a value fixed in the statement (processed
        already). None where that cannot be fixed: expanding `IN`, a bind whose value is a
        function to call each time."""
        compiled = self.compiled
        if self.expands or any(b.callable is not None for b in compiled.binds.values()):
            return None
        # SQLAlchemy's own account of every bind's value, with a marker where a parameter's
        # goes: the values it fixes, and which parameter feeds which bind.
        values = self._values({name: _Given(name) for name in names})
        plan: list[tuple[str | None, Any, Processor | None]] = []
        for key in self.order:
            value, processor = values[key], self.binders.get(key)
            if isinstance(value, _Given):
                plan.append((value.name, None, processor))
            else:
                plan.append((None, processor(value) if processor else value, None))
        return plan

    def _values(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        values = cast(dict[str, Any], self.compiled.construct_params(
            parameters, escape_names=False, extracted_parameters=self.extracted,
            _collected_params=self.collected))
        for key, value in self.defaults:
            values[key] = value
        return values

    def bind(self, parameters: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL to send and its arguments, in order."""
        plan = self.plan
        if plan is not None:
            return self.sql, [
                fixed if name is None else
                processor(parameters[name]) if processor else parameters[name]
                for name, fixed, processor in plan]
        values = self._values(parameters)
        sql, order, binders = self.sql, self.order, self.binders
        if self.expands:
            expanded = self.compiled._process_parameters_for_postcompile(values)
            sql, order = expanded.statement, expanded.positiontup or ()
            binders = {**binders, **cast(Mapping[str, Processor], expanded.processors)}
            values = cast(dict[str, Any], expanded.parameters)
        return sql, [binders[k](values[k]) if k in binders else values[k] for k in order]

    def rows(self, fetched: Sequence[Sequence[Any]], count: int,
             names: Callable[[], Sequence[str]]) -> Rows:
        """The driver's rows as a result, each column read back as its type says;
        `names` gives the columns' names where the statement did not (textual SQL)."""
        metadata = self.metadata if self.metadata is not None else \
            SimpleResultMetaData(names() if fetched else [])
        if self.readers:
            read = []
            for answer in fetched:
                values = list(answer)
                for i, reader in self.readers:
                    values[i] = reader(values[i])
                read.append(tuple(values))
            return rows(metadata, read, count)
        return rows(metadata, [tuple(answer) for answer in fetched], count)


class Statements:
    """Statements compiled for one dialect, each once per set of parameter names."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._shapes: LRUCache[Any, Any] = LRUCache(COMPILED_SHAPES)
        self._known: dict[tuple[int, tuple[str, ...]], Prepared] = {}

    def prepare(self, statement: Executable, parameters: Mapping[str, Any]) -> Prepared:
        key = (id(statement), tuple(parameters))
        # The entry holds its statement, so no other object has that id while it is here.
        found = self._known.get(key)
        if found is None:
            found = Prepared(statement, self.dialect, sorted(parameters), self._shapes)
            if len(self._known) >= KNOWN_STATEMENTS:
                self._known.clear()  # statements built per call, mostly: the hot few return
            self._known[key] = found
        return found

    def batches(self, statement: Executable, rows: Sequence[Mapping[str, Any]]
                ) -> list[tuple[str, list[list[Any]]]]:
        """Many rows of one statement as SQL and the arguments of each row, rows that name the
        same columns together (the SQL differs by the columns given)."""
        found: dict[str, list[list[Any]]] = {}
        for row in rows:
            sql, args = self.prepare(statement, row).bind(row)
            found.setdefault(sql, []).append(args)
        return list(found.items())


EMPTY = SimpleResultMetaData([])


def rows(metadata: SimpleResultMetaData, fetched: Sequence[Sequence[Any]], count: int) -> Rows:
    return Rows(metadata, fetched, count)


def row(metadata: SimpleResultMetaData, values: Sequence[Any]) -> Row[Any]:
    """One row of values already read back (a part of a joined row, say)."""
    return Row(metadata, None, metadata._key_to_index, values)


def nothing(count: int = 0) -> Rows:
    """The answer of a statement that returns no rows."""
    return rows(EMPTY, (), count)
