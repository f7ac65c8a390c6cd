"""Sandbox is the default; production must be asked for and refuses sandbox secrets."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from checkout.acquirers import registry
from checkout.settings import ConfigError, Settings
from checkout.store.db import PG_CONNECTIONS
from tests.server import LiveServer, free_port, settings_for

STRONG = "k" * 40
PUBLIC = {"CHECKOUT_PUBLIC_URL": "https://pay.example", "CHECKOUT_FORWARDED_ALLOW_IPS": "direct"}
YOOKASSA = {"YOOKASSA_SHOP_ID": "100500", "YOOKASSA_SECRET_KEY": "live_x"}


def test_no_configuration_means_sandbox_on_loopback() -> None:
    s = Settings.from_env({})
    assert s.sandbox and s.public_url == "http://127.0.0.1:8000"
    assert s.db_url.startswith("sqlite+aiosqlite:///")


def test_the_database_handle_holds_as_many_postgresql_connections_as_the_setting_says(
        ) -> None:
    # The CLI's one-off commands use the handle's own default; a server passes the setting.
    # Two numbers for one limit drifted apart once (40 against 20): they are one.
    assert Settings.from_env({}).db_connections == PG_CONNECTIONS == 20
    assert Settings.from_env({"CHECKOUT_DB_CONNECTIONS": "5"}).db_connections == 5
    with pytest.raises(ConfigError, match="CHECKOUT_DB_CONNECTIONS"):
        Settings.from_env({"CHECKOUT_DB_CONNECTIONS": "0"})


@pytest.mark.parametrize(("env", "complaint"), [
    ({}, "CHECKOUT_SECRET_KEYS"),
    ({"CHECKOUT_SECRET_KEYS": "short"}, "at least 32"),
    ({"CHECKOUT_SECRET_KEYS": STRONG}, "BANK131_BASE_URL"),
    ({"CHECKOUT_SECRET_KEYS": STRONG, "BANK131_BASE_URL": "http://x/sandbox/bank131/api/v1/",
      "BANK131_PROJECT": "p", "BANK131_PRIVATE_KEY": "a", "BANK131_PUBLIC_KEY": "b"},
     "sandbox acquirer"),
])
def test_production_refuses_to_start_without_real_secrets(env: dict[str, str],
                                                          complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({"CHECKOUT_MODE": "production", **env})


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"CHECKOUT_MODE": "prod"})


def test_production_server_refuses_a_database_holding_the_sandbox_key(tmp_path: Path) -> None:
    """A database that a sandbox ran on still has sk_test_demo: production must not serve it."""
    data = tmp_path / "data"
    LiveServer(settings_for(data, "")).start().stop()  # a sandbox ran here once
    env = {"CHECKOUT_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    keys = data / "sandbox"
    prod = {**env, **PUBLIC, "CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": STRONG,
            "BANK131_BASE_URL": "https://demo.bank131.ru/api/v1/", "BANK131_PROJECT": "p",
            "BANK131_PRIVATE_KEY": str(keys / "partner_private.pem"),
            "BANK131_PUBLIC_KEY": str(keys / "bank_public.pem")}
    out = subprocess.run([sys.executable, "-m", "checkout.cli", "serve", "--port", "1"],
                         env=prod, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "sk_test_demo" in out.stderr


def test_production_runs_with_any_one_acquirer_fully_configured() -> None:
    yookassa = Settings.from_env({"CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": STRONG,
                                  **PUBLIC, **YOOKASSA})
    assert yookassa.acquirers == {"yookassa": {"shop_id": "100500", "secret_key": "live_x",
                                               "base_url": "https://api.yookassa.ru/v3/",
                                               "receipts": "auto"}}
    with pytest.raises(ConfigError, match="tbc acquirer also needs TBC_CLIENT_ID, "
                                          "TBC_CLIENT_SECRET"):
        Settings.from_env({"CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": STRONG,
                           "TBC_API_KEY": "k"})


@pytest.mark.parametrize("public", [{}, {"CHECKOUT_PUBLIC_URL": "http://pay.example"}])
def test_production_refuses_to_start_on_plain_http(public: dict[str, str]) -> None:
    """Tokens, API keys and admin credentials would travel in clear, and acquirers would be
    told to call back a localhost or http address."""
    with pytest.raises(ConfigError, match="https://"):
        Settings.from_env({"CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": STRONG,
                           **YOOKASSA, **public})


def test_production_on_https_sends_hsts(tmp_path: Path) -> None:
    settings = Settings.from_env({"CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": STRONG,
                                  "CHECKOUT_DATA_DIR": str(tmp_path), **PUBLIC, **YOOKASSA})
    server = LiveServer(replace(settings, port=free_port())).start()
    try:
        resp = httpx.get(f"http://127.0.0.1:{server.settings.port}/healthz")
    finally:
        server.stop()
    assert resp.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.mark.parametrize(("name", "value"), [
    ("CHECKOUT_RATE_LIMIT_AUTH_FAILURES", "lots"), ("CHECKOUT_RATE_LIMIT_BRAND", "0/minute"),
    ("CHECKOUT_RATE_LIMIT_ACQUIRER_WEBHOOKS", "5/fortnight"), ("CHECKOUT_WEBHOOK_WORKERS", "0")])
def test_a_limit_that_cannot_work_is_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize("name", ["CHECKOUT_PORT", "CHECKOUT_MAX_BODY_BYTES",
                                  "CHECKOUT_WEBHOOK_TIMEOUT_SECONDS"])
def test_a_number_that_is_not_one_is_a_clear_error(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: "lots"})


def test_every_setting_can_be_set_from_the_environment() -> None:
    """Each field of Settings has its CHECKOUT_ variable (max_body_bytes once had none)."""
    s = Settings.from_env({"CHECKOUT_MAX_BODY_BYTES": "1000", "CHECKOUT_WEBHOOK_WORKERS": "3",
                           "CHECKOUT_SANDBOX_WEBHOOKS": "off"})
    assert (s.max_body_bytes, s.webhook_workers, s.sandbox_webhooks) == (1000, 3, False)


def test_the_container_says_it_is_the_sandbox() -> None:
    """Whoever runs the image without configuring it must see that it is the sandbox."""
    dockerfile = (Path(__file__).parent.parent / "Dockerfile").read_text()
    env_lines = " ".join(line for line in dockerfile.splitlines() if line.startswith("ENV")
                         or line.startswith("    "))
    assert "CHECKOUT_MODE=sandbox" in env_lines


def test_every_acquirer_setting_is_read_and_documented() -> None:
    """What each acquirer package declares is what production reads, and what the README
    tells an operator to set."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for package in registry.PACKAGES:
        env = {s.env: f"value-of-{s.key}" for s in package.settings}
        conf = Settings.from_env(env).acquirers[package.name]
        assert conf == {s.key: f"value-of-{s.key}" for s in package.settings}
        for setting in package.settings:
            assert f"`{setting.env}`" in readme, setting.env


def test_an_acquirer_half_configured_names_what_is_missing() -> None:
    for package in registry.PACKAGES:
        first, *rest = [s for s in package.settings if s.default is None]
        with pytest.raises(ConfigError) as refused:
            Settings.from_env({"CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": "k" * 32,
                               "CHECKOUT_PUBLIC_URL": "https://pay.example", first.env: "x"})
        assert all(s.env in str(refused.value) for s in rest), package.name
