"""The emulator's own memory: sessions and idempotency records in a small SQLite file.

It outlives a restart of the app, as a real bank's does.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from checkout.sandbox.sqlite_file import open_file


class EmulatorStore:
    def __init__(self, path: Path) -> None:
        self._db = open_file(path)
        self._lock = threading.Lock()
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS sessions (
                id TEXT PRIMARY KEY, tpay_id TEXT UNIQUE, project TEXT NOT NULL,
                deadline REAL, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tokens (
                token TEXT PRIMARY KEY, project TEXT NOT NULL, doc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS idempotency (
                project TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL,
                status INTEGER NOT NULL, answer TEXT NOT NULL, PRIMARY KEY (project, key));
            """
        )

    def save(self, session: dict[str, Any], *, project: str, tpay_id: str | None,
             deadline: float | None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions (id, tpay_id, project, deadline, doc) VALUES (?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET tpay_id=excluded.tpay_id, "
                "deadline=excluded.deadline, doc=excluded.doc",
                (session["id"], tpay_id, project, deadline, json.dumps(session)),
            )

    def get(self, session_id: str) -> tuple[dict[str, Any], str, str | None, float | None] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc, project, tpay_id, deadline FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return (json.loads(row[0]), row[1], row[2], row[3]) if row else None

    def by_tpay_id(self, tpay_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT id FROM sessions WHERE tpay_id = ?",
                                   (tpay_id,)).fetchone()
        return row[0] if row else None

    def overdue(self, now: float) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM sessions WHERE deadline IS NOT NULL AND deadline < ?", (now,)
            ).fetchall()
        return [r[0] for r in rows]

    def save_token(self, project: str, doc: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO tokens VALUES (?,?,?)",
                             (doc["token"], project, json.dumps(doc)))

    def token(self, project: str, token: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM tokens WHERE project=? AND token=?",
                                   (project, token)).fetchone()
        return json.loads(row[0]) if row else None

    def remembered(self, project: str, key: str) -> tuple[str, int, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body_hash, status, answer FROM idempotency WHERE project=? AND key=?",
                (project, key),
            ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def remember(self, project: str, key: str, body_hash: str, status: int, answer: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO idempotency VALUES (?,?,?,?,?)",
                (project, key, body_hash, status, answer),
            )

    def close(self) -> None:
        self._db.close()
