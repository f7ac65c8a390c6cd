"""The console's doors: passwords, sign-in and its throttles, sessions (fresh ids, cookie flags,
idle and absolute expiry, sign-out here and everywhere), CSRF, and one merchant's people
never seeing another's."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from checkout.domain import passwords
from tests.buyer import add_merchant, execute, new_payment, query, wait_for
from tests.console import (
    DEMO_OWNER,
    DEMO_PASSWORD,
    csrf_of,
    hidden,
    sign_in_form,
    signed_in,
)
from tests.server import LiveServer, settings_for


@pytest.mark.parametrize(("password", "why"), [
    ("short", "at least 12"),
    ("owner@demo.test", "your email"),
    ("OWNER@demo.test", "your email"),
    ("owner", "at least 12"),
    ("aaaaaaaaaaaaaaaa", "pattern"),
    ("abcabcabcabcabc", "pattern"),
    ("12121212121212", "pattern"),
    ("x" * 1025, "at most"),
])
def test_the_password_policy_refuses_the_first_guesses(password: str, why: str) -> None:
    with pytest.raises(passwords.WeakPassword, match=why):
        passwords.check(password, "owner@demo.test", 12)


def test_a_password_is_kept_as_argon2id_and_checked_in_constant_form() -> None:
    passwords.check("correct horse battery", "owner@demo.test", 12)
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse batterY")
    assert not passwords.verify(None, "correct horse battery")  # no account: a decoy, false
    assert not passwords.verify("not a hash", "x")


def test_signing_in_makes_a_new_http_only_session_and_goes_where_it_was_asked(
        server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        # Not signed in: a console page sends the browser to sign in, then back.
        resp = client.get("/console/m/mer_demo/payments?status=pending")
        assert resp.status_code == 303
        assert resp.headers["location"] == \
            "/console/login?next=%2Fconsole%2Fm%2Fmer_demo%2Fpayments%3Fstatus%3Dpending"
        # A session id planted before signing in is never the one after (no fixation).
        client.cookies.set("console_session", "planted-by-an-attacker")
        done = sign_in_form(client, DEMO_OWNER, DEMO_PASSWORD,
                            next_page="%2Fconsole%2Fm%2Fmer_demo%2Fpayments%3Fstatus%3Dpending")
        assert done.status_code == 303
        assert done.headers["location"] == "/console/m/mer_demo/payments?status=pending"
        cookie = next(c for c in done.headers.get_list("set-cookie")
                      if c.startswith("console_session="))
        value = cookie.split(";")[0].split("=", 1)[1]
        assert value != "planted-by-an-attacker" and len(value) >= 40
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/"} <= flags
        assert "secure" not in flags  # plain http here; production is https (see below)
        # Only the id's hash is stored.
        stored = query(server.settings.db_url, "SELECT id_hash FROM console_sessions")
        assert stored == [(hashlib.sha256(value.encode()).hexdigest(),)]
        page = client.get("/console/m/mer_demo/payments?status=pending")
        assert page.status_code == 200 and "owner@demo.test" in page.text
        assert page.headers["cache-control"] == "no-store"
    # Somewhere else than the console is never where signing in leads.
    for elsewhere in ("https://evil.example", "//evil.example", "/console/..\\evil"):
        with httpx.Client(base_url=server.url, timeout=20) as fresh:
            other = sign_in_form(fresh, DEMO_OWNER, DEMO_PASSWORD, next_page=elsewhere)
            assert other.headers["location"] == "/console", elsewhere


def test_a_wrong_password_says_nothing_of_which_part_was_wrong(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        wrong = sign_in_form(client, DEMO_OWNER, "not the password at all")
        nobody = sign_in_form(client, "nobody@demo.test", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert "console_session=" not in wrong.headers.get("set-cookie", "")
    assert hidden(wrong.text, "csrf") and 'role="alert"' in wrong.text
    audit = query(server.settings.db_url, "SELECT action, email FROM audit_log ORDER BY at")
    assert audit == [("sign_in.refused", DEMO_OWNER), ("sign_in.refused", "nobody@demo.test")]


@pytest.mark.server_settings(rate_limit_console_account_failures="3/hour")
def test_failed_sign_ins_are_throttled_per_account(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        for _ in range(3):
            assert sign_in_form(client, DEMO_OWNER, "guess guess guess").status_code == 401
        # Over the limit, even the right password waits: the guesser cannot tell it was right.
        stopped = sign_in_form(client, DEMO_OWNER, DEMO_PASSWORD)
        assert stopped.status_code == 429 and int(stopped.headers["retry-after"]) > 0
        # Another account from the same client is not held back by this one's limit.
        assert sign_in_form(client, "owner+tbc@demo.test", DEMO_PASSWORD).status_code == 303


@pytest.mark.server_settings(rate_limit_console_account_failures="10/hour")
def test_concurrent_guesses_are_counted_before_they_are_verified(server: LiveServer) -> None:
    """40 guesses at one account at once, the right password among the last: no more than the
    limit are ever verified (each verified refusal leaves an audit row), the rest are told to
    wait, and the right one, arriving after them, waits too. Counting only refusals once known
    let all 40 be verified against a limit of 10, and the right one in."""
    forms = []
    for _ in range(40):
        client = httpx.Client(base_url=server.url, timeout=30)
        form = client.get("/console/login")
        forms.append((client, hidden(form.text, "csrf")))

    def guess(n: int) -> int:
        client, csrf = forms[n]
        return client.post("/console/login", data={
            "csrf": csrf, "email": DEMO_OWNER,
            "password": DEMO_PASSWORD if n >= 36 else f"guess number {n}"}).status_code
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(guess, range(40)))
    for client, _ in forms:
        client.close()
    verified = int(query(server.settings.db_url, "SELECT count(*) FROM audit_log WHERE "
                         "action = 'sign_in.refused'")[0][0])
    assert verified <= 10 and answers.count(401) == verified, answers
    assert set(answers) <= {401, 429, 303}, answers
    with httpx.Client(base_url=server.url, timeout=20) as late:
        # the limit spent (more guesses until it is), the right password waits like any other
        while (status := sign_in_form(late, DEMO_OWNER, "one more guess").status_code) == 401:
            pass
        assert status == 429
        assert sign_in_form(late, DEMO_OWNER, DEMO_PASSWORD).status_code == 429


@pytest.mark.server_settings(rate_limit_console_client_failures="2/minute")
def test_failed_sign_ins_are_throttled_per_client(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as client:
        assert sign_in_form(client, "a@demo.test", "guess guess guess").status_code == 401
        assert sign_in_form(client, "b@demo.test", "guess guess guess").status_code == 401
        assert sign_in_form(client, DEMO_OWNER, DEMO_PASSWORD).status_code == 429


def test_the_sign_in_form_needs_its_own_token(server: LiveServer) -> None:
    # A page on another site cannot sign a browser into the attacker's account: the form's
    # token must match a cookie that site can neither read nor set.
    for token in ("made-up", "жжж"):
        resp = httpx.post(f"{server.url}/console/login", data={
            "csrf": token, "email": DEMO_OWNER, "password": DEMO_PASSWORD},
            cookies={"console_pre": "the-real-one"})
        assert resp.status_code == 403 and "console_session=" not in resp.headers.get(
            "set-cookie", "")


def test_sign_out_ends_this_session_and_everywhere_ends_them_all(server: LiveServer) -> None:
    with signed_in(server) as laptop, signed_in(server) as phone:
        # A state-changing form without the session's token is refused, and changes nothing.
        assert laptop.post("/console/logout", data={}).status_code == 403
        assert laptop.post("/console/logout", data={"csrf": "x" * 64}).status_code == 403
        assert laptop.post("/console/logout", data={"csrf": "жжж"}).status_code == 403
        assert laptop.get("/console/m/mer_demo/payments").status_code == 200
        token = csrf_of(laptop)
        out = laptop.post("/console/logout", data={"csrf": token})
        assert out.status_code == 303 and out.headers["location"] == "/console/login"
        assert laptop.get("/console/m/mer_demo/payments").status_code == 303
        assert phone.get("/console/m/mer_demo/payments").status_code == 200  # still in
        with signed_in(server) as tablet:
            assert tablet.post("/console/logout", data={"csrf": csrf_of(tablet),
                                                        "everywhere": "1"}).status_code == 303
            assert phone.get("/console/m/mer_demo/payments").status_code == 303
            assert tablet.get("/console/m/mer_demo/payments").status_code == 303
    actions = [a for (a,) in query(server.settings.db_url,
                                   "SELECT action FROM audit_log ORDER BY at")]
    assert actions == ["sign_in", "sign_in", "sign_out", "sign_in", "sign_out.everywhere"]


@pytest.mark.server_settings(console_idle_minutes=1.5 / 60)
def test_a_session_unused_for_its_idle_time_ends(server: LiveServer) -> None:
    with signed_in(server) as client:
        assert client.get("/console/m/mer_demo/payments").status_code == 200
        time.sleep(2.0)
        assert client.get("/console/m/mer_demo/payments").status_code == 303
    assert query(server.settings.db_url, "SELECT count(*) FROM console_sessions") == [(0,)]


@pytest.mark.server_settings(console_idle_minutes=1.0 / 60, retention_interval_seconds=0.5)
def test_the_retention_pass_clears_sessions_nobody_came_back_to(server: LiveServer) -> None:
    with signed_in(server):
        pass
    assert query(server.settings.db_url, "SELECT count(*) FROM console_sessions") == [(1,)]
    wait_for(lambda: query(server.settings.db_url, "SELECT count(*) FROM console_sessions")
             == [(0,)] or None, what="the idle session's row to go")


@pytest.mark.server_settings(console_absolute_hours=2.5 / 3600)
def test_a_session_ends_at_its_absolute_time_however_busy(server: LiveServer) -> None:
    with signed_in(server) as client:
        for _ in range(4):  # used all along: only the absolute limit can end it
            assert client.get("/console/m/mer_demo/payments").status_code == 200
            time.sleep(0.5)
        time.sleep(1.0)
        assert client.get("/console/m/mer_demo/payments").status_code == 303


def test_another_merchants_pages_and_payments_are_not_found(server: LiveServer,
                                                            api: httpx.Client) -> None:
    headers = add_merchant(server.settings.db_url, "mer_other", "sk_test_other",
                           return_origins='["http://127.0.0.1:*"]')
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as other_api:
        theirs = new_payment(other_api, server.url)
    ours = new_payment(api, server.url)
    with signed_in(server) as client:
        assert client.get(f"/console/m/mer_demo/payments/{ours['id']}").status_code == 200
        # Theirs, through our merchant's address: as if it did not exist.
        assert client.get(f"/console/m/mer_demo/payments/{theirs['id']}").status_code == 404
        assert client.get(f"/console/m/mer_demo/payments/{theirs['id']}/row").status_code \
            == 404
        # Their merchant's pages: the same as a merchant that does not exist.
        for merchant in ("mer_other", "mer_nobody"):
            resp = client.get(f"/console/m/{merchant}/payments")
            assert resp.status_code == 404 and theirs["id"] not in resp.text


def _console_cli(server: LiveServer, *args: str, stdin: str = ""
                 ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": server.settings.db_url,
           "CHECKOUT_DATA_DIR": str(server.settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "checkout.cli", "console", *args],
                          input=stdin + "\n", env=env, capture_output=True, text=True,
                          timeout=60)


def test_an_email_claimed_through_an_invitation_is_granted_nothing_until_verified(
        server: LiveServer) -> None:
    """An owner invites someone else's email and accepts the invitation themselves: the
    account is theirs, under that email. An operator granting that email another merchant
    would hand it to them. The command refuses until an operator has handed the person a
    password of their own."""
    with signed_in(server) as owner:
        made = owner.post("/console/m/mer_demo/team/invite", data={
            "csrf": csrf_of(owner, "/console/m/mer_demo/team"), "email": "cfo@bank.example",
            "role": "viewer"})
        link = re.search(r'value="http[^"]+(/console/invite/[^"]+)"', made.text)
        assert link
    with httpx.Client(base_url=server.url, timeout=20) as claimer:
        form = claimer.get(link.group(1))
        assert claimer.post(link.group(1), data={
            "csrf": hidden(form.text, "csrf"), "password": "the claimer's password",
            "again": "the claimer's password"}).status_code == 303
    refused = _console_cli(server, "grant", "--email", "cfo@bank.example", "--merchant",
                           "mer_demo_tbc", "--role", "owner")
    assert refused.returncode == 1 and "has not been verified" in refused.stderr
    assert "reset-access" in refused.stderr
    assert query(server.settings.db_url, "SELECT count(*) FROM memberships WHERE merchant_id "
                 "= 'mer_demo_tbc' AND user_id = (SELECT id FROM console_users WHERE email = "
                 "'cfo@bank.example')") == [(0,)]
    assert _console_cli(server, "reset-access", "--email", "cfo@bank.example",
                        stdin="the real person's password").returncode == 0
    assert _console_cli(server, "grant", "--email", "cfo@bank.example", "--merchant",
                        "mer_demo_tbc", "--role", "owner").returncode == 0
    with httpx.Client(base_url=server.url, timeout=20) as claimer:
        assert sign_in_form(claimer, "cfo@bank.example",
                            "the claimer's password").status_code == 401


def test_the_console_command_adds_grants_and_removes_users(server: LiveServer) -> None:
    def console_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return _console_cli(server, *args, stdin=stdin)

    weak = console_cli("add-user", "--email", "Ann@Shop.Example", stdin="short")
    assert weak.returncode == 1 and "at least 12" in weak.stderr
    made = console_cli("add-user", "--email", "Ann@Shop.Example", "--merchant", "mer_demo",
                       "--role", "viewer", stdin="a long enough pass")
    assert made.returncode == 0, made.stderr
    assert '"email": "ann@shop.example"' in made.stdout
    with signed_in(server, "ann@shop.example", "a long enough pass") as ann:
        page = ann.get("/console/m/mer_demo/payments")
        assert page.status_code == 200 and "viewer" in page.text
        assert console_cli("grant", "--email", "ann@shop.example", "--merchant", "mer_demo",
                           "--role", "support").returncode == 0
        assert "support" in ann.get("/console/m/mer_demo/payments").text
        assert console_cli("remove-user", "--email", "ann@shop.example").returncode == 0
        assert ann.get("/console/m/mer_demo/payments").status_code == 303  # gone at once
    again = console_cli("remove-user", "--email", "ann@shop.example")
    assert again.returncode == 1 and "no console user" in again.stderr


def test_over_https_the_cookie_is_secure_and_host_only(tmp_path: Path,
                                                         database_url: str) -> None:
    base = settings_for(tmp_path / "data", database_url)
    server = LiveServer(replace(base, public_url=f"https://127.0.0.1:{base.port}")).start()
    direct = f"http://127.0.0.1:{base.port}"  # TLS ends at the balancer in front of us
    try:
        with httpx.Client(base_url=direct, timeout=20) as client:
            form = client.get("/console/login")
            pre = form.headers["set-cookie"]
            assert pre.startswith("__Host-console_pre=") and "Secure" in pre
            done = client.post("/console/login", headers={
                "Cookie": pre.split(";")[0]}, data={
                "csrf": hidden(form.text, "csrf"), "email": DEMO_OWNER,
                "password": DEMO_PASSWORD})
    finally:
        server.stop()
    cookie = next(c for c in done.headers.get_list("set-cookie")
                  if c.startswith("__Host-console_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
    assert not any(f.startswith("domain") for f in flags)


def test_production_will_not_start_while_a_sandbox_user_exists(server: LiveServer) -> None:
    # The sandbox seeded its demo owners into this database; production must refuse it.
    assert query(server.settings.db_url, "SELECT count(*) FROM console_users WHERE email = "
                 ":e", e=DEMO_OWNER) == [(1,)]
    # The demo API keys are refused first; say they were rotated, so only the users are left.
    execute(server.settings.db_url, "DELETE FROM merchant_keys")
    env = {**os.environ, "CHECKOUT_MODE": "production", "CHECKOUT_SECRET_KEYS": "k" * 40,
           "CHECKOUT_PUBLIC_URL": "https://pay.example", "CHECKOUT_FORWARDED_ALLOW_IPS": "direct",
           "YOOKASSA_SHOP_ID": "100500",
           "YOOKASSA_SECRET_KEY": "live_x", "DATABASE_URL": server.settings.db_url,
           "CHECKOUT_DATA_DIR": str(server.settings.data_dir), "CHECKOUT_PORT": "1"}
    refused = subprocess.run([sys.executable, "-m", "checkout.cli", "serve"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "sandbox console user" in refused.stderr
