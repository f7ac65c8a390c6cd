"""SQLite's writes run on the event loop (`checkout.store.sqlite_driver`): while another
process holds the write lock, a write waits for it without holding up the loop, and lands."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.buyer import clients, path_of
from tests.server import LiveServer

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ORDER = {"amount": 150_00, "currency": "RUB", "description": "Order 42"}


def test_a_write_waits_for_another_process_lock_without_stalling_the_server(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server()
    path = server.settings.db_url.split("///", 1)[1]
    with clients(server) as (api, buyer):
        first = api.post("/api/v1/payments", json={
            **ORDER, "return_url": f"{server.url}/shop/return"}).json()
        other = sqlite3.connect(path, isolation_level=None, timeout=5)
        other.execute("BEGIN IMMEDIATE")  # another process (the CLI, say) is writing
        created: list[httpx.Response] = []
        writer = threading.Thread(target=lambda: created.append(api.post(
            "/api/v1/payments", json={**ORDER, "return_url": f"{server.url}/shop/return"})))
        started = time.monotonic()
        writer.start()
        time.sleep(0.3)
        # Meanwhile the server answers what needs no write, at once: a buyer's page.
        t0 = time.monotonic()
        assert buyer.get("/healthz").status_code == 200
        assert buyer.get(path_of(first["checkout_url"])).status_code == 200
        assert time.monotonic() - t0 < 0.3
        assert not created, "the write went through while the lock was held elsewhere"
        time.sleep(1.0)
        other.execute("COMMIT")
        other.close()
        writer.join(timeout=10)
        assert created and created[0].status_code == 201, created
        assert time.monotonic() - started >= 1.3  # it waited for the lock, then landed
        assert api.get(f"/api/v1/payments/{created[0].json()['id']}").status_code == 200
