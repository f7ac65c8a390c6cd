"""`checkout serve` as an operator runs it: proxies trusted only by name, uvicorn's limits
from settings, and production refusing the origins that are only for the sandbox's demo."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from checkout.cli import server_config
from checkout.errors import InvalidRequest
from checkout.flow import merchants as admin
from checkout.settings import Settings
from tests.server import free_port


@contextmanager
def serving(tmp_path: Path, **env: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "checkout.cli", "serve", "--port", str(port), "--no-access-log"],
        env={**os.environ, "CHECKOUT_DATA_DIR": str(tmp_path / str(port)), **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def _guesses_refused(url: str, client: str) -> list[int]:
    return [httpx.get(f"{url}/api/v1/events", headers={
        "Authorization": "Bearer sk_guess", "X-Forwarded-For": client}).status_code
        for _ in range(3)]


def test_forwarded_for_counts_only_from_a_trusted_balancer(tmp_path: Path) -> None:
    limit = {"CHECKOUT_RATE_LIMIT_AUTH_FAILURES": "2/minute"}
    # Untrusted: a client cannot pick its own address by sending X-Forwarded-For, so two
    # "different" clients are one, and share one limit.
    with serving(tmp_path, **limit) as url:
        assert _guesses_refused(url, "203.0.113.1") == [401, 401, 429]
        assert _guesses_refused(url, "203.0.113.2") == [429, 429, 429]
    # Behind a trusted balancer (here on loopback), each real client has its own limit.
    with serving(tmp_path, CHECKOUT_FORWARDED_ALLOW_IPS="127.0.0.1", **limit) as url:
        assert _guesses_refused(url, "203.0.113.1") == [401, 401, 429]
        assert _guesses_refused(url, "203.0.113.2") == [401, 401, 429]


def test_uvicorns_limits_come_from_settings() -> None:
    settings = replace(Settings(), http_limit_concurrency=7, http_keep_alive_seconds=3,
                       http_max_header_bytes=8192, forwarded_allow_ips="10.0.0.1, 10.0.0.2")
    config = server_config(settings, app=None)
    assert (config.limit_concurrency, config.timeout_keep_alive,
            config.h11_max_incomplete_event_size) == (7, 3, 8192)
    assert config.proxy_headers and config.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]
    assert not server_config(Settings(), app=None).proxy_headers


@pytest.mark.parametrize("origin", ["http://shop.example", "https://shop.example:*",
                                    "http://127.0.0.1:*"])
def test_production_refuses_sandbox_only_origins(origin: str) -> None:
    production = replace(Settings(), mode="production")
    with pytest.raises(InvalidRequest):
        admin.check_origin(origin, production)
    assert admin.check_origin(origin, Settings()) == origin  # the sandbox's demo shops
    assert admin.check_origin("https://shop.example:8443", production)
