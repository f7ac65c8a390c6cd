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
from checkout.settings import ConfigError, Settings
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
    forwarded = {"X-Forwarded-For": client} if client else {}
    return [httpx.get(f"{url}/api/v1/events", headers={
        "Authorization": "Bearer sk_guess", **forwarded}).status_code for _ in range(3)]


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


def test_a_valid_key_is_never_refused_for_its_addresss_failures(tmp_path: Path) -> None:
    """Behind a balancer nobody named, every merchant shares the balancer's address: a guesser
    there locked every merchant's valid key out with 429. A valid key is taken whatever its
    address has failed; the guesser is still slowed."""
    with serving(tmp_path, CHECKOUT_RATE_LIMIT_AUTH_FAILURES="2/minute") as url:
        assert _guesses_refused(url, "") == [401, 401, 429]
        good = httpx.get(f"{url}/api/v1/events", headers={"Authorization": "Bearer sk_test_demo"})
        assert good.status_code == 200, good.text
        assert _guesses_refused(url, "") == [429, 429, 429]


def test_behind_a_named_balancer_a_client_cannot_name_its_own_address(tmp_path: Path) -> None:
    """A client that writes its own X-Forwarded-For gets the balancer's entry appended after
    it: only the rightmost address not of a named balancer counts, so a new made-up address
    on every guess does not make a new client."""
    limit = {"CHECKOUT_RATE_LIMIT_AUTH_FAILURES": "2/minute"}
    with serving(tmp_path, CHECKOUT_FORWARDED_ALLOW_IPS="127.0.0.1", **limit) as url:
        statuses = [httpx.get(f"{url}/api/v1/events", headers={
            "Authorization": "Bearer sk_guess",
            "X-Forwarded-For": f"198.51.100.{n}, 203.0.113.7"}).status_code for n in range(4)]
        assert statuses == [401, 401, 429, 429]


@pytest.mark.parametrize("value", ["*", "10.0.0.1, *", "balancer.internal", "10.0.0.300"])
def test_forwarded_allow_ips_takes_only_addresses_and_networks(value: str) -> None:
    with pytest.raises(ConfigError, match="CHECKOUT_FORWARDED_ALLOW_IPS"):
        Settings.from_env({"CHECKOUT_FORWARDED_ALLOW_IPS": value})
    assert Settings.from_env({"CHECKOUT_FORWARDED_ALLOW_IPS": "10.0.0.0/8, ::1"}
                             ).trusted_proxies == ["10.0.0.0/8", "::1"]


def test_production_must_say_whether_a_balancer_is_in_front() -> None:
    production = {"CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": "k" * 40,
                  "CHECKOUT_PUBLIC_URL": "https://pay.example", "YOOKASSA_SHOP_ID": "1",
                  "YOOKASSA_SECRET_KEY": "live_x"}
    with pytest.raises(ConfigError, match="CHECKOUT_FORWARDED_ALLOW_IPS.*'direct'"):
        Settings.from_env(production)
    direct = Settings.from_env({**production, "CHECKOUT_FORWARDED_ALLOW_IPS": "direct"})
    assert not server_config(direct, app=None).proxy_headers
    named = Settings.from_env({**production, "CHECKOUT_FORWARDED_ALLOW_IPS": "10.1.2.3"})
    assert server_config(named, app=None).forwarded_allow_ips == ["10.1.2.3"]


def test_the_sandbox_listens_beyond_loopback_only_when_asked() -> None:
    with pytest.raises(ConfigError, match="CHECKOUT_SANDBOX_PUBLIC=1"):
        Settings.from_env({"CHECKOUT_HOST": "0.0.0.0"})  # noqa: S104 - the point
    assert Settings.from_env({"CHECKOUT_HOST": "0.0.0.0",  # noqa: S104
                              "CHECKOUT_SANDBOX_PUBLIC": "1"}).sandbox_public
    assert Settings.from_env({"CHECKOUT_HOST": "::1"}).host == "::1"


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
