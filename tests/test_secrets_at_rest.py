"""Secrets at rest: a recurrent token is stored sealed (never in clear, not even inside the
stored acquirer webhook), re-sealed with the newest key on rotation; the sandbox's private key
file is never readable by others, and a sandbox listening beyond loopback says so loudly."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pyotp
import pytest

from checkout.sandbox import keys as sandbox_keys
from checkout.vault import Vault
from tests.buyer import clients, execute, query, saved_method
from tests.console import TEST_PASSWORD, add_user, csrf_of, hidden, signed_in
from tests.server import LiveServer, settings_for

SANDBOX_SECRET = "sandbox-secret-not-for-production"  # noqa: S105 - the sandbox's public one


def _bank_tokens(server: LiveServer) -> list[str]:
    with sqlite3.connect(Path(server.settings.data_dir) / "sandbox" / "bank131.db") as db:
        return [r[0] for r in db.execute("SELECT token FROM tokens")]


def _rotate(server: LiveServer, new_key: str) -> dict[str, int]:
    """`checkout secrets rotate` with `new_key` first and the sandbox's still listed, as the
    rotation is documented; how many values of each sealed column it re-sealed."""
    env = {**os.environ, "DATABASE_URL": server.settings.db_url,
           "CHECKOUT_DATA_DIR": str(server.settings.data_dir),
           "CHECKOUT_SECRET_KEYS": f"{new_key},{SANDBOX_SECRET}"}
    out = subprocess.run([sys.executable, "-m", "checkout.cli", "secrets", "rotate"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout)["resealed"])


def test_a_saved_methods_token_is_sealed_and_rotates_to_the_newest_key(
        server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        method_id = saved_method(server, api, buyer)
    (token,) = _bank_tokens(server)
    url = server.settings.db_url
    (stored,) = query(url, "SELECT token FROM payment_methods WHERE id = :m", m=method_id)[0]
    assert token not in stored and stored.startswith("fernet:")
    bodies = [r[0] for r in query(url, "SELECT body FROM acquirer_events")]
    assert bodies and not any(token in body for body in bodies)
    assert any("[recurrent token]" in body for body in bodies)
    secrets = [r[0] for r in query(url, "SELECT secret FROM webhook_endpoints")]
    assert secrets and all(s.startswith("fernet:") for s in secrets)  # never in clear

    new_key = "n" * 40
    resealed = _rotate(server, new_key)
    endpoints = query(url, "SELECT secret FROM webhook_endpoints")
    accounts = query(url, "SELECT sealed_settings FROM acquirer_accounts")
    assert (resealed["payment_methods.token"], resealed["webhook_endpoints.secret"],
            resealed["acquirer_accounts.sealed_settings"]) == (1, len(endpoints), len(accounts))
    # The demo merchants' own acquirer accounts: their credentials open with the new key.
    assert accounts and all(json.loads(Vault((new_key,)).open(sealed))
                            for (sealed,) in accounts)
    (resealed,) = query(url, "SELECT token FROM payment_methods WHERE id = :m", m=method_id)[0]
    assert Vault((new_key,)).open(resealed) == token  # the old key can now be retired
    # The demo endpoints' signing secret too: one secret, sealed anew for each.
    opened = {Vault((new_key,)).open(secret) for (secret,) in endpoints}
    assert len(opened) == 1 and opened.pop().startswith("whsec_")


def test_a_token_stored_in_clear_before_encryption_still_works_and_gets_sealed() -> None:
    vault = Vault(("k" * 40,))
    assert vault.open("legacy-plain-token") == "legacy-plain-token"
    assert vault.open(vault.reseal("legacy-plain-token")) == "legacy-plain-token"


def test_the_sandbox_private_key_is_never_written_readable_by_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # However loose the umask, and with no chmod afterwards to tidy up, the file is 0600.
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    old = os.umask(0)
    try:
        sandbox_keys.load_or_create(tmp_path)
    finally:
        os.umask(old)
    for name in ("partner_private.pem", "bank_private.pem"):
        mode = stat.S_IMODE((tmp_path / "sandbox" / name).stat().st_mode)
        assert mode == 0o600, oct(mode)


def test_a_sandbox_listening_beyond_loopback_warns_loudly(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = replace(settings_for(tmp_path, ""), host="0.0.0.0",  # noqa: S104 - the point
                       sandbox_public=True)
    with caplog.at_level(logging.WARNING, logger="checkout"):
        LiveServer(settings).start().stop()
    assert any("NOT ON LOOPBACK" in r.getMessage() and "/sandbox/credentials" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="checkout"):
        LiveServer(settings_for(tmp_path / "2", "")).start().stop()
    assert not any("NOT ON LOOPBACK" in r.getMessage() for r in caplog.records)


def _sign_in_with_code(server: LiveServer, email: str, secret: str) -> int:
    with httpx.Client(base_url=server.url, timeout=20) as c:
        form = c.get("/console/login")
        return c.post("/console/login", data={
            "csrf": hidden(form.text, "csrf"), "email": email, "password": TEST_PASSWORD,
            "code": pyotp.TOTP(secret).at(time.time() + 30)}).status_code


def test_rotation_reseals_every_sealed_column_and_a_second_factor_still_signs_in(
        make_server: Callable[..., LiveServer]) -> None:
    """After the documented rotation every user with a second factor got a 500 at sign-in
    (their secrets were never re-sealed), and so would a replayed idempotent answer that
    carries a webhook secret. Now the command re-seals every sealed column, says how many
    values of each, and the old key can go."""
    server = make_server()
    email = add_user(server.settings.db_url, "sam@shop.example", "mer_demo", "support")
    with signed_in(server, email, TEST_PASSWORD) as client:
        secret = hidden(client.get("/console/account").text, "secret")
        assert client.post("/console/account/second-factor/on", data={
            "csrf": csrf_of(client, "/console/account"), "secret": secret,
            "code": pyotp.TOTP(secret).at(time.time())}).status_code == 303
    once = {"Idempotency-Key": "endpoint-1"}
    body = {"url": "http://127.0.0.1:9/hooks"}
    with clients(server) as (api, _):
        made = api.post("/api/v1/webhook_endpoints", json=body, headers=once)
        assert made.status_code == 201, made.text
    new_key = "n" * 40
    resealed = _rotate(server, new_key)
    assert resealed["console_users.totp_secret"] == 1
    assert resealed["idempotency_keys.response_body"] == 1
    assert {"payment_methods.token", "webhook_endpoints.secret",
            "webhook_endpoints.previous_secret", "acquirer_accounts.sealed_settings"} \
        <= set(resealed)
    server.stop()
    rotated = make_server(secret_keys=(new_key,))  # the old key retired
    assert _sign_in_with_code(rotated, email, secret) == 303
    with clients(rotated) as (api, _):
        again = api.post("/api/v1/webhook_endpoints", json=body, headers=once)
        assert again.status_code == 201 and again.json() == made.json()


def test_a_second_factor_that_cannot_be_opened_refuses_the_sign_in_and_says_why(
        server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    """A second factor sealed with a key no longer configured (rotated without `secrets
    rotate`, or restored from another deployment): refused like a wrong code, never a 500,
    and the log says what to do."""
    email = add_user(server.settings.db_url, "kim@shop.example", "mer_demo", "support")
    secret = pyotp.random_base32()
    execute(server.settings.db_url, "UPDATE console_users SET totp_secret = :s WHERE email = :e",
            s=Vault(("m" * 40,)).seal(secret), e=email)
    with caplog.at_level(logging.ERROR, logger="checkout.flow"):
        assert _sign_in_with_code(server, email, secret) == 401
    assert any("cannot be opened" in r.getMessage() and "secrets rotate" in r.getMessage()
               for r in caplog.records)
