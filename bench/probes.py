"""The security review's probes, run as the attacker ran them against a real `checkout serve`
(sandbox, SQLite, loopback), each printing what it got. `docs/security.md` quotes the output:
the figures of the review were taken on 58d0b8b, these on the code as it is now.

    .venv/bin/python bench/probes.py

Each probe is bounded in requests and time, and talks only to its own instance on 127.0.0.1.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Checkout, database  # noqa: E402

OWNER, OWNER_PASSWORD = "owner@demo.test", "sandbox-owner-pass"  # noqa: S105 - the sandbox's
OTHER_OWNER = "owner+tbc@demo.test"  # an account that exists (another merchant's owner)
ORDER = {"amount": 150_00, "currency": "RUB", "description": "Probe"}


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else ""


def _signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    form = client.get("/console/login")
    done = client.post("/console/login", data={"csrf": _hidden(form.text, "csrf"),
                                               "email": OWNER, "password": OWNER_PASSWORD})
    assert done.status_code == 303, done.text
    return client


def _db(server: Checkout) -> sqlite3.Connection:
    return sqlite3.connect(server.database_url.removeprefix("sqlite+aiosqlite:///"))


def cold_starts(starts: int = 15) -> str:
    """Finding 1: a fresh instance, shedding on at its default: the demo shop opened once (as a
    new user does), then a payment created at once, as the README's `curl` does."""
    refused = 0
    for _ in range(starts):
        with database("sqlite") as url, Checkout(url) as server:
            httpx.get(f"{server.url}/", timeout=30)
            answer = httpx.post(f"{server.url}/api/v1/payments", timeout=30, json={
                **ORDER, "return_url": f"{server.url}/shop/return"},
                headers={"Authorization": "Bearer sk_test_demo"})
            refused += answer.status_code == 503
    return (f"{refused} of {starts} fresh starts refused their first payment with 503 (the demo "
            "shop opened once first)")


def invitation_guesses(server: Checkout) -> str:
    """Finding 2: an owner invites an existing account's email and guesses its password at
    the invitation link (39 wrong, then the right one)."""
    owner = _signed_in(server.url)
    made = owner.post("/console/m/mer_demo/team/invite", data={
        "csrf": _hidden(owner.get("/console/m/mer_demo/team").text, "csrf"),
        "email": OTHER_OWNER, "role": "viewer"})
    link = re.search(r'value="http[^"]+(/console/invite/[^"]+)"', made.text)
    assert link, made.text
    answers: Counter[int] = Counter()
    sessions = 0
    for n in range(40):
        with httpx.Client(base_url=server.url, timeout=30) as guesser:
            form = guesser.get(link.group(1))
            answer = guesser.post(link.group(1), data={
                "csrf": _hidden(form.text, "csrf"),
                "password": OWNER_PASSWORD if n == 39 else f"guess {n}",
                "again": OWNER_PASSWORD if n == 39 else f"guess {n}"})
            answers[answer.status_code] += 1
            sessions += "console_session=" in answer.headers.get("set-cookie", "")
    return (f"40 password guesses at the invitation link (the last one right): answers "
            f"{dict(answers)}, sessions obtained {sessions}")


def concurrent_sign_ins(server: Checkout) -> str:
    """Finding 3: 40 guesses at one account at once, against a limit of 10 failures an hour;
    the right password among the last."""
    clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(40)]
    tokens = [_hidden(c.get("/console/login").text, "csrf") for c in clients]

    def guess(n: int) -> int:
        return clients[n].post("/console/login", data={
            "csrf": tokens[n], "email": "owner+yookassa@demo.test",
            "password": OWNER_PASSWORD if n >= 36 else f"guess {n}"}).status_code
    with ThreadPoolExecutor(40) as pool:
        answers = Counter(pool.map(guess, range(40)))
    for c in clients:
        c.close()
    with _db(server) as db:
        verified = db.execute("SELECT count(*) FROM audit_log WHERE action = "
                              "'sign_in.refused' AND email = 'owner+yookassa@demo.test'"
                              ).fetchone()[0]
    return (f"40 concurrent guesses at one account (limit 10): {verified} verified and "
            f"refused, answers {dict(answers)}")


def developer_refund(server: Checkout) -> str:
    """Finding 6: a developer mints a key and refunds through the API."""
    with _db(server) as db:
        db.execute("INSERT INTO console_users (id, email, password_hash, operator, created_at, "
                   "email_verified_at) SELECT 'usr_probe_dev', 'dev@probe.example', "
                   "password_hash, 0, created_at, created_at FROM console_users WHERE "
                   "email = ?", (OWNER,))
        db.execute("INSERT INTO memberships (user_id, merchant_id, role, created_at) SELECT "
                   "'usr_probe_dev', 'mer_demo', 'developer', created_at FROM console_users "
                   "WHERE id = 'usr_probe_dev'")
    dev = httpx.Client(base_url=server.url, timeout=30)
    form = dev.get("/console/login")
    dev.post("/console/login", data={"csrf": _hidden(form.text, "csrf"),
                                     "email": "dev@probe.example", "password": OWNER_PASSWORD})
    csrf = _hidden(dev.get("/console/m/mer_demo/keys").text, "csrf")
    full = dev.post("/console/m/mer_demo/keys/create", data={
        "csrf": csrf, "confirm": "1", "scope": "full"}).status_code
    made = dev.post("/console/m/mer_demo/keys/create", data={
        "csrf": csrf, "confirm": "1", "scope": "payments"})
    key = re.search(r'value="(sk_test_[^"]+)" data-api-key', made.text)
    assert key, made.text
    api = httpx.Client(base_url=server.url, timeout=30,
                       headers={"Authorization": f"Bearer {key.group(1)}"})
    payment = api.post("/api/v1/payments", json={
        **ORDER, "return_url": f"{server.url}/shop/return"}).json()
    refund = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={}).status_code
    cancel = api.post(f"/api/v1/payments/{payment['id']}/cancel", json={}).status_code
    return (f"a developer asking for a full key: {full}; with the payments key it could make: "
            f"refund {refund}, cancel {cancel}")


def shared_address(server: Checkout) -> str:
    """Finding 7: behind one address (a balancer nobody named), 20 bad keys a minute, then a
    merchant's valid key."""
    bad = Counter(httpx.get(f"{server.url}/api/v1/events", headers={
        "Authorization": "Bearer sk_guess"}).status_code for _ in range(21))
    good = httpx.get(f"{server.url}/api/v1/events",
                     headers={"Authorization": "Bearer sk_test_demo"}).status_code
    return f"21 bad keys from one address: {dict(bad)}; then a valid key from it: {good}"


def switch_presses(server: Checkout) -> str:
    """Finding 8: 20 anonymous presses of the device switch on one payment's page."""
    api = httpx.Client(base_url=server.url, timeout=30,
                       headers={"Authorization": "Bearer sk_test_demo"})
    payment = api.post("/api/v1/payments", json={
        **ORDER, "return_url": f"{server.url}/shop/return"}).json()
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
    buyer = httpx.Client(timeout=30, headers={"User-Agent": iphone})
    page = buyer.get(payment["checkout_url"]).text
    ft = _hidden(page, "ft")
    t0 = time.monotonic()
    answers = Counter(buyer.post(payment["checkout_url"] + "/attempts", data={
        "ft": ft, "switch": ("desktop", "mobile")[n % 2]}, headers={
        "HX-Request": "true", "Sec-Fetch-Site": "same-origin"}).status_code for n in range(20))
    took = time.monotonic() - t0
    with _db(server) as db:
        attempts = db.execute("SELECT count(*) FROM attempts WHERE payment_id = ?",
                              (payment["id"],)).fetchone()[0]
    return (f"20 presses of the switch in {took:.1f} s: answers {dict(answers)}, "
            f"{attempts} attempts made")


def public_sandbox() -> str:
    """Finding 13: the sandbox asked to listen on every address, as the container did."""
    done = subprocess.run([sys.executable, "-m", "checkout.cli", "serve", "--host", "0.0.0.0",
                           "--port", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    said = done.stderr.strip().splitlines()[-1][:90] if done.stderr.strip() else ""
    return f"`checkout serve --host 0.0.0.0` in sandbox mode: exit {done.returncode} ({said}…)"


def site_local() -> str:
    """Finding 12."""
    from checkout.notify.addresses import is_public

    return "webhook to fec0::1 (site-local): " + ("allowed" if is_public("fec0::1")
                                                  else "refused")


def main() -> None:
    probes: list[tuple[str, Callable[[], str]]] = [
        ("1 cold start", cold_starts), ("12 site-local", site_local),
        ("13 public sandbox", public_sandbox)]
    for name, probe in probes:
        print(f"{name:<22} {probe()}", flush=True)
    on_one: list[tuple[str, Callable[[Checkout], str]]] = [
        ("2 invitation", invitation_guesses), ("3 sign-in", concurrent_sign_ins),
        ("6 developer key", developer_refund), ("7 shared address", shared_address),
        ("8 device switch", switch_presses)]
    for name, each in on_one:
        with database("sqlite") as url, Checkout(url) as server:
            print(f"{name:<22} {each(server)}", flush=True)


if __name__ == "__main__":
    main()
