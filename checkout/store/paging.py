"""Keyset paging over newest-first lists (by `created_at`, then `id`), shared by every list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, or_


def older_than(table: Table, before: tuple[datetime, str]) -> ColumnElement[bool]:
    """The rows that come after `before` in newest-first order."""
    created, row_id = table.c.created_at, table.c.id
    return or_(created < before[0], and_(created == before[0], row_id < before[1]))
