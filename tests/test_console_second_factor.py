"""The console's second factor, over HTTP, with codes made by `pyotp` as an authenticator app
makes them: turned on only by a matching code, then asked for at every sign-in, each code good
once; turned off only with a code; required of operators in production before anything else."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pyotp

from tests.buyer import query
from tests.console import TEST_PASSWORD, add_user, csrf_of, hidden, sign_in_form, signed_in
from tests.server import LiveServer

ACCOUNT = "/console/account"


def _code(secret: str, steps_ago: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() - 30 * steps_ago)


def _codes_near(secret: str) -> set[str]:
    return {_code(secret, steps_ago=n) for n in (-1, 0, 1)}


def _turn_on(client: httpx.Client) -> tuple[str, float]:
    """Turns the factor on; returns the secret and when its code was made (that step's code
    is used up)."""
    page = client.get(ACCOUNT)
    assert page.status_code == 200 and 'data-second-factor="off"' in page.text
    assert "<svg" in page.text  # the QR code to scan
    secret = hidden(page.text, "secret")
    csrf = csrf_of(client, ACCOUNT)
    wrong = client.post(ACCOUNT + "/second-factor/on",
                        data={"csrf": csrf, "secret": secret, "code": "000000"})
    assert wrong.status_code == 422 and 'role="alert"' in wrong.text
    at = time.time()
    on = client.post(ACCOUNT + "/second-factor/on",
                     data={"csrf": csrf, "secret": secret, "code": pyotp.TOTP(secret).at(at)})
    assert on.status_code == 303, on.text
    assert 'data-second-factor="on"' in client.get(ACCOUNT).text
    return secret, at


def test_once_on_every_sign_in_needs_a_fresh_code(server: LiveServer) -> None:
    email = add_user(server.settings.db_url, "sam@shop.example", "mer_demo", "support")
    with signed_in(server, email, TEST_PASSWORD) as client:
        secret, _ = _turn_on(client)
    stored = query(server.settings.db_url, "SELECT totp_secret FROM console_users "
                   "WHERE email = :e", e=email)[0][0]
    assert stored.startswith("fernet:") and secret not in stored

    def attempt(code: str) -> int:
        with httpx.Client(base_url=server.url, timeout=20) as c:
            form = c.get("/console/login")
            resp = c.post("/console/login", data={
                "csrf": hidden(form.text, "csrf"), "next": "", "email": email,
                "password": TEST_PASSWORD, "code": code})
            return resp.status_code

    assert attempt("") == 401  # the password alone is not enough any more
    assert attempt("123456" if "123456" not in _codes_near(secret) else "654321") == 401
    # Turning it on took this step's code; the app's next code is good already (a clock a
    # step ahead is within the drift allowed), and once only.
    code = _code(secret, steps_ago=-1)
    assert attempt(code) == 303
    assert attempt(code) == 401
    refused = query(server.settings.db_url, "SELECT count(*) FROM audit_log WHERE action = "
                    "'sign_in.refused' AND email = :e", e=email)[0][0]
    assert refused == 3


def test_turning_it_off_takes_a_code(server: LiveServer) -> None:
    email = add_user(server.settings.db_url, "vi@shop.example", "mer_demo", "viewer")
    with signed_in(server, email, TEST_PASSWORD) as client:
        secret, at = _turn_on(client)
        csrf = csrf_of(client, ACCOUNT)
        refused = client.post(ACCOUNT + "/second-factor/off", data={"csrf": csrf,
                                                                   "code": "000000"})
        assert refused.status_code == 422
        # This step's code turned it on and is used up: the next step's turns it off.
        used = client.post(ACCOUNT + "/second-factor/off",
                           data={"csrf": csrf, "code": pyotp.TOTP(secret).at(at)})
        assert used.status_code == 422
        later = pyotp.TOTP(secret).at(at + 30)
        off = client.post(ACCOUNT + "/second-factor/off", data={"csrf": csrf, "code": later})
        assert off.status_code == 303
        assert 'data-second-factor="off"' in client.get(ACCOUNT).text
    actions = query(server.settings.db_url, "SELECT action FROM audit_log WHERE action LIKE "
                    "'second_factor.%' ORDER BY at")
    assert [a for (a,) in actions] == ["second_factor.on", "second_factor.off"]


def test_a_production_operator_sets_up_a_second_factor_before_anything_else(
        make_server: Callable[..., LiveServer]) -> None:
    # Production mode needs production secrets and a configured acquirer; the sandbox's
    # acquirers stay (the test asks nothing of them), only the rule for operators is read.
    server = make_server()
    server.app.state.settings = _production_rules(server)
    email = add_user(server.settings.db_url, "op@checkout.example", operator=True)
    with httpx.Client(base_url=server.url, timeout=20) as client:
        assert sign_in_form(client, email, TEST_PASSWORD).status_code == 303
        for path in ("/console", "/console/m/mer_demo/payments"):
            sent = client.get(path)
            assert sent.status_code == 303 and sent.headers["location"] == ACCOUNT, path
        assert 'role="alert"' in client.get(ACCOUNT).text
        _turn_on(client)
        assert client.get("/console/m/mer_demo/payments").status_code == 200


def _production_rules(server: LiveServer) -> object:
    from dataclasses import replace

    return replace(server.app.state.settings, mode="production")


def test_an_operator_lets_a_locked_out_person_back_in_from_the_command_line(
        server: LiveServer) -> None:
    import os
    import subprocess
    import sys

    email = add_user(server.settings.db_url, "lost@shop.example", "mer_demo", "owner")
    with signed_in(server, email, TEST_PASSWORD) as client:
        _turn_on(client)  # then the phone is lost
        env = {**os.environ, "DATABASE_URL": server.settings.db_url,
               "CHECKOUT_DATA_DIR": str(server.settings.data_dir)}
        out = subprocess.run([sys.executable, "-m", "checkout.cli", "console", "reset-access",
                              "--email", email], input="a brand new passphrase\n", env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert '"sessions_ended": 1' in out.stdout
        assert client.get("/console/m/mer_demo/payments").status_code == 303  # ended
    with httpx.Client(base_url=server.url, timeout=20) as fresh:
        assert sign_in_form(fresh, email, TEST_PASSWORD).status_code == 401
        assert sign_in_form(fresh, email, "a brand new passphrase").status_code == 303
        assert 'data-second-factor="off"' in fresh.get(ACCOUNT).text
