"""What a buyer and a merchant do, as plain HTTP steps shared by the tests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from html import unescape
from typing import Any, TypeVar

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Mobile Safari/537.36")
WINDOWS_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/124.0.0.0 Safari/537.36")
TELEGRAM_PREVIEW = "TelegramBot (like TwitterBot)"
TELEGRAM_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A; wv) AppleWebKit/537.36 "
                    "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 "
                    "Telegram-Android/10.12.0 (Google Pixel 8; Android 14; SDK 34; AVERAGE)")

T = TypeVar("T")


@contextmanager
def clients(server: Any) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """The merchant's API client (with the demo key) and a buyer's plain browser client."""
    with httpx.Client(base_url=server.url, timeout=15,
                      headers={"Authorization": "Bearer sk_test_demo"}) as api, \
            httpx.Client(base_url=server.url, timeout=15) as buyer:
        yield api, buyer


def new_payment(api: httpx.Client, server_url: str, **fields: Any) -> dict[str, Any]:
    body = {"amount": 150_00, "currency": "RUB", "description": "Order 42",
            "return_url": f"{server_url}/shop/return", **fields}
    resp = api.post("/api/v1/payments", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def path_of(url: str) -> str:
    return httpx.URL(url).raw_path.decode()


def open_page(client: httpx.Client, checkout_url: str, ua: str = WINDOWS_CHROME) -> str:
    resp = client.get(path_of(checkout_url), headers={"User-Agent": ua})
    assert resp.status_code == 200, resp.text
    return resp.text


def has_start_form(html: str) -> bool:
    return re.search(r'name="ft" value="[0-9a-f]+"', html) is not None


def form_token(html: str) -> str:
    match = re.search(r'name="ft" value="([0-9a-f]+)"', html)
    assert match, "the page has no start form"
    return match.group(1)


def start(client: httpx.Client, checkout_url: str, ua: str = WINDOWS_CHROME) -> str:
    """Open the page and press start the way htmx does; returns the status fragment."""
    page = open_page(client, checkout_url, ua)
    resp = client.post(path_of(checkout_url) + "/attempts", data={"ft": form_token(page)},
                       headers={"User-Agent": ua, "HX-Request": "true",
                                "Sec-Fetch-Site": "same-origin"})
    assert resp.status_code in (200, 286), resp.text
    return resp.text


def state_of(html: str) -> str:
    match = re.search(r'data-state="([a-z_]+)"', html)
    assert match, html[:500]
    return match.group(1)


def pay_link(html: str) -> str | None:
    """Where the page sends the buyer to pay: the T-Pay link, or the acquirer's own page."""
    match = re.search(r'data-pay-url="([^"]+)"', html)
    return unescape(match.group(1)) if match else None


def wait_for(probe: Callable[[], T | None], timeout: float = 15.0, what: str = "") -> T:
    """Poll until `probe` returns something truthy: the events we await are remote."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        time.sleep(0.05)


def wait_for_link(client: httpx.Client, checkout_url: str, ua: str = WINDOWS_CHROME) -> str:
    """The link the page sends the buyer to pay with, once it is there (any acquirer)."""
    return wait_for(lambda: pay_link(open_page(client, checkout_url, ua)),
                    what="the page's pay link")


def checkout_with_link(api: httpx.Client, buyer: httpx.Client, server_url: str,
                       ua: str = WINDOWS_CHROME) -> tuple[dict[str, Any], str]:
    """A new payment whose buyer pressed start and now sees the T-Pay link."""
    payment = new_payment(api, server_url)
    start(buyer, payment["checkout_url"], ua)
    return payment, wait_for_link(buyer, payment["checkout_url"], ua)


def decide(client: httpx.Client, link: str, approve: bool) -> None:
    url = httpx.URL(link)
    resp = client.post(url.path + ("/approve" if approve else "/decline"))
    assert resp.status_code == 303, resp.text


def payment_status(api: httpx.Client, payment_id: str) -> str:
    resp = api.get(f"/api/v1/payments/{payment_id}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["status"])


def wait_for_status(api: httpx.Client, payment_id: str, status: str,
                    timeout: float = 15.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        doc = api.get(f"/api/v1/payments/{payment_id}").json()
        return doc if doc["status"] == status else None
    return wait_for(probe, timeout, what=f"payment {payment_id} to be {status}")


def query(database_url: str, sql: str, **params: Any) -> list[Any]:
    """Read the server's database directly: what is really stored, not what the API says."""
    async def run() -> list[Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(sql), params)).all())
        finally:
            await engine.dispose()
    return _run_alone(run())


def _run_alone(coro: Any) -> Any:
    # In a thread of its own: Playwright's sync API keeps an event loop in the test's thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def execute(database_url: str, sql: str, **params: Any) -> None:
    """Write to the server's database directly (to set up what the API cannot yet)."""
    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql), params)
        finally:
            await engine.dispose()
    _run_alone(run())


def add_merchant(database_url: str, merchant_id: str, api_key: str,
                 return_origins: str = "[]", acquirer: str = "bank131") -> dict[str, str]:
    """A second merchant, written straight to the database; returns its auth header."""
    import hashlib
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(tzinfo=None)
    execute(database_url,
            "INSERT INTO merchants (id, name, return_origins, embed_origins, acquirer, "
            "created_at) VALUES (:id, :id, :origins, '[]', :acquirer, :now)",
            id=merchant_id, origins=return_origins, acquirer=acquirer, now=now)
    execute(database_url,
            "INSERT INTO merchant_keys (id, merchant_id, key_hash, hint, created_at) "
            "VALUES (:kid, :id, :h, '', :now)", kid=f"key_{merchant_id}", id=merchant_id,
            h=hashlib.sha256(api_key.encode()).hexdigest(), now=now)
    return {"Authorization": f"Bearer {api_key}"}


def merchant_cli(server: Any, *args: str) -> Any:
    """`checkout merchant …` as an operator runs it, against the server's database."""
    env = {**os.environ, "DATABASE_URL": server.settings.db_url,
           "CHECKOUT_DATA_DIR": str(server.settings.data_dir)}
    out = subprocess.run([sys.executable, "-m", "checkout.cli", "merchant", *args], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# Merchant webhooks retried fast, for tests that watch them arrive.
FAST_RETRIES = {"webhook_retry_base_seconds": 0.2, "delivery_interval_seconds": 0.1}


def pay(server: Any, approve: bool = True) -> dict[str, Any]:
    with clients(server) as (api, buyer):
        payment, link = checkout_with_link(api, buyer, server.url)
        decide(buyer, link, approve=approve)
        if approve:
            wait_for_status(api, payment["id"], "succeeded")
    return payment


def saved_method(server: Any, api: httpx.Client, buyer: httpx.Client) -> str:
    first = new_payment(api, server.url, save_payment_method=True,
                        customer={"reference": "cust-7"})
    start(buyer, first["checkout_url"])
    decide(buyer, wait_for_link(buyer, first["checkout_url"]), approve=True)
    done = wait_for_status(api, first["id"], "succeeded")
    method = done["payment_method"]
    assert method["type"] == "tpay" and method["saved"] is True
    return str(method["id"])
