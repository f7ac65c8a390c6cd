"""Statements compiled once and found again by the statement object (`checkout.store.compiled`):
each execution still carries its own values, on SQLite (run by `sqlite3` on the loop) and on
PostgreSQL (by asyncpg)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound

from checkout.store import compiled
from checkout.store.db import Conn, Database
from checkout.store.tables import UTCDateTime

things = Table(
    "things", MetaData(),
    Column("id", Text, primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("at", UTCDateTime(), nullable=True),
)
AT = datetime(2026, 12, 6, 12, 30, 15, 250_000, tzinfo=UTC)
_THING = select(things).where(things.c.id == bindparam("id"))
_AMOUNTS = select(things.c.id, things.c.amount) \
    .where(things.c.id.in_(bindparam("ids", expanding=True))).order_by(things.c.id)
_SET = update(things).where(things.c.id == bindparam("thing")).returning(things.c.amount)
_ALL = select(things).order_by(things.c.id)
# A time written into the statement: its value bound (and converted for the database) once.
_AT_TIME = select(things.c.id).where(things.c.at == AT, things.c.amount >= bindparam("least"))


def _with_things(database_url: str, body: Callable[[Database], Awaitable[None]]) -> None:
    async def run() -> None:
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                await conn.execute(text(
                    "CREATE TABLE things (id TEXT PRIMARY KEY, amount BIGINT NOT NULL, "
                    "version INTEGER NOT NULL, at TEXT)" if db.is_sqlite else
                    "CREATE TABLE things (id TEXT PRIMARY KEY, amount BIGINT NOT NULL, "
                    "version INTEGER NOT NULL, at TIMESTAMPTZ)"))
                await conn.execute(insert(things), [
                    {"id": "a", "amount": 100, "at": AT}, {"id": "b", "amount": 200},
                    {"id": "c", "amount": 300}])
            await body(db)
        finally:
            await db.close()
    asyncio.run(run())


async def _amount(conn: Conn, thing: str) -> int:
    return int((await conn.execute(_THING, {"id": thing})).one().amount)


def test_one_statement_object_binds_each_execution_its_own_values(database_url: str) -> None:
    async def body(db: Database) -> None:
        async with db.reader() as conn:
            assert [await _amount(conn, t) for t in "abc"] == [100, 200, 300]
            row = (await conn.execute(_THING, {"id": "a"})).one()
            assert (row.version, row.at) == (1, AT)  # the default, and a time read back
            assert (await conn.execute(_THING, {"id": "zz"})).first() is None
            assert [tuple(r) for r in await conn.execute(_AMOUNTS, {"ids": ["c", "a"]})] == \
                [("a", 100), ("c", 300)]
            assert [r.id for r in await conn.execute(_AMOUNTS, {"ids": ["b"]})] == ["b"]
        async with db.transaction() as conn:
            done = await conn.execute(_SET, {"thing": "b", "amount": 250})
            assert done.scalar_one() == 250
            assert (await conn.execute(_SET, {"thing": "none", "amount": 1})).first() is None
        async with db.reader() as conn:
            assert await _amount(conn, "b") == 250
    _with_things(database_url, body)


def test_statements_built_per_call_keep_their_own_literal_values(database_url: str) -> None:
    """Two statements of one shape, each with its value written in: SQLAlchemy compiles the
    shape once; each must still be run with the value it was built with."""
    async def body(db: Database) -> None:
        async with db.reader() as conn:
            for thing, amount in (("a", 100), ("b", 200), ("c", 300), ("a", 100)):
                q = select(things.c.amount).where(things.c.id == thing)
                assert (await conn.execute(q)).scalar_one() == amount
        async with db.transaction() as conn:
            for thing in "abc":
                await conn.execute(update(things).where(things.c.id == thing)
                                   .values(amount=things.c.amount + 1))
        async with db.reader() as conn:
            assert [await _amount(conn, t) for t in "abc"] == [101, 201, 301]
    _with_things(database_url, body)


def test_statements_known_past_the_limit_start_over_and_still_answer(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "KNOWN_STATEMENTS", 3)

    async def body(db: Database) -> None:
        async with db.reader() as conn:
            for round_ in range(4):
                for thing, amount in (("a", 100), ("b", 200), ("c", 300)):
                    q = select(things.c.amount).where(things.c.id == thing)
                    assert (await conn.execute(q)).scalar_one() == amount, round_
                    assert await _amount(conn, thing) == amount
    _with_things(database_url, body)


def test_a_duplicate_is_sqlalchemys_integrity_error_and_a_savepoint_undoes_only_its_block(
        database_url: str) -> None:
    async def body(db: Database) -> None:
        async with db.transaction() as conn:
            await conn.execute(insert(things), {"id": "d", "amount": 400})
            with pytest.raises(IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(_SET, {"thing": "d", "amount": 450})
                    await conn.execute(insert(things), {"id": "a", "amount": 1})
            assert await _amount(conn, "d") == 400  # the block's update undone with it
        async with db.reader() as conn:
            assert (await _amount(conn, "d"), await _amount(conn, "a")) == (400, 100)
    _with_things(database_url, body)


def test_textual_sql_reads_back_by_the_names_the_database_gave(database_url: str) -> None:
    async def body(db: Database) -> None:
        async with db.reader() as conn:
            rows = await conn.execute(text(
                "SELECT id AS thing, amount * 2 AS doubled FROM things WHERE amount > :least "
                "ORDER BY id"), {"least": 150})
            assert [(r.thing, r.doubled) for r in rows] == [("b", 400), ("c", 600)]
            assert (await conn.execute(text("SELECT id FROM things WHERE id = 'zz'"))) \
                .first() is None
    _with_things(database_url, body)


def test_answers_read_as_sqlalchemys_results_do(database_url: str) -> None:
    """The store reads answers with `Result`'s methods; the compiled path keeps their
    meaning: what is left after `fetchone`, SQLAlchemy's errors for none or too many."""
    async def body(db: Database) -> None:
        async with db.reader() as conn:
            with pytest.raises(MultipleResultsFound):
                (await conn.execute(_ALL)).one()
            with pytest.raises(MultipleResultsFound):
                (await conn.execute(_ALL)).one_or_none()
            with pytest.raises(NoResultFound):
                (await conn.execute(_THING, {"id": "zz"})).one()
            with pytest.raises(NoResultFound):
                (await conn.execute(_THING, {"id": "zz"})).scalar_one()
            assert (await conn.execute(_THING, {"id": "zz"})).one_or_none() is None
            assert (await conn.execute(_THING, {"id": "zz"})).scalar() is None
            assert (await conn.execute(_ALL)).scalar() == "a"
            answer = await conn.execute(_ALL)
            first = answer.fetchone()
            assert first is not None and first.id == "a"
            assert [r.id for r in answer] == ["b", "c"]  # the rest, once
            assert answer.fetchone() is None and answer.fetchall() == []
            row = (await conn.execute(_THING, {"id": "a"})).one()
            assert (row[1], row._mapping["amount"], row._asdict()["id"]) == (100, 100, "a")
            assert tuple(row) == ("a", 100, 1, AT)
    _with_things(database_url, body)


def test_values_written_in_a_statement_and_values_computed_per_execution(
        database_url: str) -> None:
    """A statement's own values are bound once (a time, converted for the database) beside
    the caller's; a bind whose value is a function is called again for each execution."""
    least = iter([150, 250, 350])
    rising = select(things.c.id).where(
        things.c.amount > bindparam("least", callable_=lambda: next(least))) \
        .order_by(things.c.id)

    async def body(db: Database) -> None:
        async with db.reader() as conn:
            for floor, found in ((0, ["a"]), (100, ["a"]), (101, []), (0, ["a"])):
                answer = await conn.execute(_AT_TIME, {"least": floor})
                assert [r.id for r in answer] == found, floor
            assert [[r.id for r in await conn.execute(rising)] for _ in range(3)] == \
                [["b", "c"], ["c"], []]
    _with_things(database_url, body)
