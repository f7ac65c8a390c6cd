"""Every column `checkout.vault` seals, read and re-sealed in batches (`checkout secrets
rotate`). The columns are those marked in `store.tables` (`info=SEALED`): a new sealed column
is re-sealed without an edit here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, and_, select, tuple_, update

from checkout.store.db import Conn
from checkout.store.tables import metadata
from checkout.vault import PREFIX


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    column: Column[Any]
    only_sealed: bool  # the column holds plain values too, which stay plain

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def sealed_columns() -> list[SealedColumn]:
    return [SealedColumn(table, column, column.info["sealed"] == "if_sealed")
            for table in metadata.sorted_tables for column in table.columns
            if column.info.get("sealed")]


Key = tuple[Any, ...]


async def batch_after(conn: Conn, sealed: SealedColumn, after: Key | None, limit: int
                      ) -> list[tuple[Key, str]]:
    """(primary key, stored value) of the rows holding a value, in key order, after `after`."""
    keys = list(sealed.table.primary_key.columns)
    query = select(*keys, sealed.column).where(sealed.column.is_not(None))
    if sealed.only_sealed:
        query = query.where(sealed.column.startswith(PREFIX))
    if after is not None:
        query = query.where(tuple_(*keys) > tuple_(*after))
    rows = await conn.execute(query.order_by(*keys).limit(limit))
    return [(tuple(r[:-1]), r[-1]) for r in rows]


async def replace(conn: Conn, sealed: SealedColumn, key: Sequence[Any], old: str,
                  new: str) -> None:
    """`new` in place of `old`, unless the value changed meanwhile (then it is newer)."""
    keys = list(sealed.table.primary_key.columns)
    await conn.execute(update(sealed.table).where(and_(
        *(k == v for k, v in zip(keys, key, strict=True)), sealed.column == old))
        .values({sealed.column.name: new}))
