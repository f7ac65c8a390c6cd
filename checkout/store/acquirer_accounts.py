"""Queries of merchants' own acquirer accounts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from checkout.store.db import Conn
from checkout.store.tables import acquirer_accounts


@dataclass(frozen=True)
class Account:
    """A merchant's acquirer account as it may be shown: no secret in it."""

    id: str
    merchant_id: str
    acquirer: str
    label: str
    hints: dict[str, str]
    version: int
    created_at: datetime
    updated_at: datetime
    checked_at: datetime | None
    check_problem: str | None

    @classmethod
    def from_row(cls, row: Any) -> Account:
        m = row._mapping
        return cls(**{**{k: m[k] for k in cls.__dataclass_fields__ if k in m},
                      "hints": json.loads(m["hints"])})


_SHOWN = [c for c in acquirer_accounts.c if c.name != "sealed_settings"]


async def insert_account(conn: Conn, *, id: str, merchant_id: str, acquirer: str,
                         label: str, sealed: str, hints: dict[str, str], now: datetime) -> None:
    await conn.execute(insert(acquirer_accounts).values(
        id=id, merchant_id=merchant_id, acquirer=acquirer, label=label,
        sealed_settings=sealed, hints=json.dumps(hints, sort_keys=True), version=1,
        created_at=now, updated_at=now))


async def account(conn: Conn, account_id: str,
                  merchant_id: str | None = None) -> Account | None:
    """One account; with `merchant_id`, only if it is that merchant's."""
    query = select(*_SHOWN).where(acquirer_accounts.c.id == account_id)
    if merchant_id is not None:
        query = query.where(acquirer_accounts.c.merchant_id == merchant_id)
    row = (await conn.execute(query)).first()
    return Account.from_row(row) if row else None


async def accounts_of(conn: Conn, merchant_id: str) -> list[Account]:
    rows = await conn.execute(select(*_SHOWN)
                              .where(acquirer_accounts.c.merchant_id == merchant_id)
                              .order_by(acquirer_accounts.c.created_at, acquirer_accounts.c.id))
    return [Account.from_row(r) for r in rows]


async def sealed_settings(conn: Conn, account_id: str) -> tuple[str, str, int] | None:
    """(acquirer, sealed settings, version) of an account, for building its driver."""
    row = (await conn.execute(
        select(acquirer_accounts.c.acquirer, acquirer_accounts.c.sealed_settings,
               acquirer_accounts.c.version)
        .where(acquirer_accounts.c.id == account_id))).first()
    return (row.acquirer, row.sealed_settings, row.version) if row else None


async def version_of(conn: Conn, account_id: str) -> int | None:
    return (await conn.execute(select(acquirer_accounts.c.version)
                               .where(acquirer_accounts.c.id == account_id))).scalar()


async def replace_settings(conn: Conn, account_id: str, *, label: str, sealed: str,
                           hints: dict[str, str], now: datetime) -> None:
    """New settings: a new version, and the last check no longer says anything about them."""
    await conn.execute(update(acquirer_accounts).where(acquirer_accounts.c.id == account_id)
                       .values(label=label, sealed_settings=sealed,
                               hints=json.dumps(hints, sort_keys=True),
                               version=acquirer_accounts.c.version + 1, updated_at=now,
                               checked_at=None, check_problem=None))


async def record_check(conn: Conn, account_id: str, version: int, *,
                       problem: str | None, now: datetime) -> None:
    """The result of a check of `version`: dropped if the settings changed meanwhile."""
    await conn.execute(update(acquirer_accounts)
                       .where(acquirer_accounts.c.id == account_id,
                              acquirer_accounts.c.version == version)
                       .values(checked_at=now, check_problem=problem))

