"""The SQLite file an emulated acquirer keeps its state in (sessions, idempotency keys, the
webhooks it still owes).

WAL with `synchronous=NORMAL`, as the checkout's own database: a commit is in the file before
it returns, so a bank process that is killed (the survival tests kill it) loses nothing; only
the machine itself failing could. With SQLite's default (`FULL`) every commit waited for an
fsync on the event loop, three or four per webhook: at twice the checkout's capacity the
emulator spent two thirds of its time there and sent its webhooks seconds late, which the
benchmarks then counted as the checkout's (approval → paid).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_file(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db
