"""An emulator's memory: JSON documents by kind and id, timers, idempotency, in SQLite.

It outlives a restart of the app, as a real acquirer's does.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from checkout.sandbox.sqlite_file import open_file


class DocStore:
    def __init__(self, path: Path) -> None:
        self._db = open_file(path)
        self._lock = threading.Lock()
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS docs (
                kind TEXT NOT NULL, id TEXT NOT NULL, alias TEXT, deadline REAL,
                doc TEXT NOT NULL, PRIMARY KEY (kind, id));
            CREATE INDEX IF NOT EXISTS ix_docs_alias ON docs (kind, alias);
            CREATE INDEX IF NOT EXISTS ix_docs_deadline ON docs (deadline);
            CREATE TABLE IF NOT EXISTS idempotency (
                scope TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL,
                status INTEGER NOT NULL, answer TEXT NOT NULL, PRIMARY KEY (scope, key));
            """
        )

    def put(self, kind: str, doc: dict[str, Any], *, alias: str | None = None,
            deadline: float | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO docs (kind, id, alias, deadline, doc) VALUES (?,?,?,?,?) "
                "ON CONFLICT(kind, id) DO UPDATE SET alias=COALESCE(excluded.alias, alias), "
                "deadline=excluded.deadline, doc=excluded.doc",
                (kind, doc["id"], alias, deadline, json.dumps(doc)))

    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM docs WHERE kind=? AND id=?",
                                   (kind, doc_id)).fetchone()
        return json.loads(row[0]) if row else None

    def by_alias(self, kind: str, alias: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM docs WHERE kind=? AND alias=?",
                                   (kind, alias)).fetchone()
        return json.loads(row[0]) if row else None

    def deadline(self, kind: str, doc_id: str) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT deadline FROM docs WHERE kind=? AND id=?",
                                   (kind, doc_id)).fetchone()
        return row[0] if row else None

    def all_by_alias(self, kind: str, alias: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM docs WHERE kind=? AND alias=? ORDER BY rowid",
                                    (kind, alias)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def overdue(self, now: float) -> list[tuple[str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, id FROM docs WHERE deadline IS NOT NULL AND deadline < ?",
                (now,)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def remembered(self, scope: str, key: str) -> tuple[str, int, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body_hash, status, answer FROM idempotency WHERE scope=? AND key=?",
                (scope, key)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def remember(self, scope: str, key: str, body_hash: str, status: int, answer: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO idempotency VALUES (?,?,?,?,?)",
                             (scope, key, body_hash, status, answer))

    def close(self) -> None:
        self._db.close()
