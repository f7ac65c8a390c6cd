"""Keyset paging over newest-first lists (by `created_at`, then `id`), shared by every list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, or_


def older_than(table: Table, before: tuple[datetime, str],
               created: ColumnElement[datetime] | None = None) -> ColumnElement[bool]:
    """The rows that come after `before` in newest-first order (of `created`, by default the
    table's `created_at`, then `id`)."""
    created = table.c.created_at if created is None else created
    row_id = table.c.id
    return or_(created < before[0], and_(created == before[0], row_id < before[1]))
