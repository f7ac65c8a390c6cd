"""Each merchant on its own acquirer account: two merchants on two accounts of one acquirer
pay, get their news and refund apart, and neither can see, capture or refund the other's
payments, here or at the acquirer. The sandbox's second demo merchant of every acquirer has
an account of its own; the first pays through the deployment's default account, as a
single-merchant install does."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from checkout.sandbox.package import DemoMerchant
from checkout.sandbox.registry import DEMO_MERCHANTS
from tests.buyer import decide, query, start, wait_for, wait_for_link, wait_for_status
from tests.server import LiveServer

FIRST = {m.acquirer: m for m in DEMO_MERCHANTS if not m.account_id}
SECOND = {m.acquirer: m for m in DEMO_MERCHANTS if m.merchant_id.startswith("mer_demo2_")}
ACQUIRERS = sorted(SECOND)


@contextmanager
def merchant_api(server: LiveServer, merchant: DemoMerchant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Authorization": f"Bearer {merchant.api_key}"}) as client:
        yield client


def paid(server: LiveServer, api: httpx.Client, merchant: DemoMerchant,
         capture: bool = True) -> dict[str, Any]:
    """A payment the buyer approved, as the merchant's API shows it once it is done."""
    resp = api.post("/api/v1/payments", json={
        "amount": 150_00, "currency": merchant.currency, "description": "Order 42",
        "return_url": f"{server.url}/shop/return", "capture": capture})
    assert resp.status_code == 201, resp.text
    payment = resp.json()
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        start(buyer, payment["checkout_url"])
        decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
    return wait_for_status(api, payment["id"], "succeeded" if capture else
                           "waiting_for_capture", timeout=30)


def account_of(server: LiveServer, table: str, payment_id: str) -> str | None:
    column = "id" if table == "payments" else "payment_id"
    (row,) = query(server.settings.db_url,
                   f"SELECT acquirer_account_id FROM {table} WHERE {column} = :p",  # noqa: S608
                   p=payment_id)
    return row[0]  # type: ignore[no-any-return]


def ref_of(server: LiveServer, payment_id: str) -> str:
    return str(query(server.settings.db_url,
                     "SELECT acquirer_ref FROM attempts WHERE payment_id = :p",
                     p=payment_id)[0][0])


def events_about(server: LiveServer, ref: str) -> int:
    return int(query(server.settings.db_url,
                     "SELECT count(*) FROM acquirer_events WHERE acquirer_ref = :r",
                     r=ref)[0][0])


@pytest.mark.parametrize("acquirer", ACQUIRERS)
def test_two_merchants_on_two_accounts_of_one_acquirer_pay_and_refund_apart(
        server: LiveServer, acquirer: str) -> None:
    first, second = FIRST[acquirer], SECOND[acquirer]
    with merchant_api(server, first) as one, merchant_api(server, second) as two:
        mine, theirs = paid(server, one, first), paid(server, two, second)
        # Each payment, and its attempt, on the account its merchant uses.
        assert account_of(server, "payments", mine["id"]) is None
        assert account_of(server, "attempts", mine["id"]) is None
        assert account_of(server, "payments", theirs["id"]) == second.account_id
        assert account_of(server, "attempts", theirs["id"]) == second.account_id
        # The acquirer's news of the second one came to that account's own webhook path
        # (the default path refuses news of another account's payment).
        wait_for(lambda: events_about(server, ref_of(server, theirs["id"])) > 0, 15,
                 "the own account's webhook")
        for api, other in ((one, theirs), (two, mine)):
            path = f"/api/v1/payments/{other['id']}"
            assert api.get(path).status_code == 404
            assert api.post(f"{path}/refunds", json={"amount": 100}).status_code == 404
            assert api.post(f"{path}/capture").status_code == 404
            assert api.post(f"{path}/cancel").status_code == 404
        for api, payment in ((one, mine), (two, theirs)):
            resp = api.post(f"/api/v1/payments/{payment['id']}/refunds",
                            json={"amount": 50_00})
            assert resp.status_code == 201, resp.text
            refund = resp.json()

            def done(api: httpx.Client = api, refund: dict = refund,
                     payment: dict = payment) -> bool:
                listed = api.get(f"/api/v1/payments/{payment['id']}/refunds").json()["data"]
                return [r["status"] for r in listed if r["id"] == refund["id"]] == \
                    ["succeeded"]
            wait_for(done, 20, "the refund")


def test_a_hold_is_captured_through_the_account_it_was_made_on(server: LiveServer) -> None:
    second = SECOND["yookassa"]
    with merchant_api(server, second) as api:
        held = paid(server, api, second, capture=False)
        resp = api.post(f"/api/v1/payments/{held['id']}/capture")
        assert resp.status_code == 200, resp.text
        wait_for_status(api, held["id"], "succeeded")


def _tbank_note(server: LiveServer, payment: dict[str, Any], terminal: str,
                password: str) -> dict[str, Any]:
    """A T-Bank notification of `payment`, signed as T-Bank's documentation says."""
    order = query(server.settings.db_url, "SELECT id FROM attempts WHERE payment_id = :p",
                  p=payment["id"])[0][0]
    note: dict[str, Any] = {"TerminalKey": terminal, "OrderId": order, "Success": True,
                            "Status": "CONFIRMED", "PaymentId": int(ref_of(server, payment["id"])),
                            "ErrorCode": "0", "Amount": payment["amount"]}
    flat = {**note, "Password": password}
    text = "".join(str(flat[k]).lower() if isinstance(flat[k], bool) else str(flat[k])
                   for k in sorted(flat))
    return {**note, "Token": hashlib.sha256(text.encode()).hexdigest()}


def test_a_notice_signed_for_one_account_is_refused_on_another(server: LiveServer) -> None:
    from checkout.sandbox import tbank
    first, second = FIRST["tbank"], SECOND["tbank"]
    with merchant_api(server, first) as one, merchant_api(server, second) as two:
        mine, theirs = paid(server, one, first), paid(server, two, second)
    own_path = f"/webhooks/tbank/{second.account_id}"
    # Signed with the default terminal's password: good on the default path, not on the
    # second account's, where that account's password checks the Token.
    note = _tbank_note(server, mine, tbank.TERMINAL_KEY, tbank.PASSWORD)
    assert httpx.post(f"{server.url}/webhooks/tbank", json=note).content == b"OK"
    assert httpx.post(f"{server.url}{own_path}", json=note).status_code == 401
    theirs_note = _tbank_note(server, theirs, tbank.TERMINAL2, tbank.PASSWORD2)
    assert httpx.post(f"{server.url}{own_path}", json=theirs_note).content == b"OK"
    assert httpx.post(f"{server.url}/webhooks/tbank", json=theirs_note).status_code == 401
    # No such account, or an account of another acquirer: nothing there.
    assert httpx.post(f"{server.url}/webhooks/tbank/acct_nobody", json=note).status_code == 404
    assert httpx.post(f"{server.url}/webhooks/tbank/{SECOND['yookassa'].account_id}",
                      json=note).status_code == 404


def _bank_signed(server: LiveServer, body: bytes) -> str:
    pem = (server.settings.data_dir / "sandbox" / "bank_private.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def test_a_bank_signed_notice_names_only_the_payments_of_the_account_it_came_to(
        server: LiveServer) -> None:
    """Bank 131 signs every partner's webhooks with its one key: what keeps accounts apart is
    that a notice is taken only for a payment of the account whose path it came to."""
    first, second = FIRST["bank131"], SECOND["bank131"]
    with merchant_api(server, first) as one:
        mine = paid(server, one, first)
    ref = ref_of(server, mine["id"])
    before = events_about(server, ref)
    body = json.dumps({"type": "payment_finished", "session": {
        "id": ref, "status": "accepted", "acquiring_payments": []}}).encode()
    headers = {"Content-Type": "application/json", "X-PARTNER-SIGN": _bank_signed(server, body)}
    resp = httpx.post(f"{server.url}/webhooks/bank131/{second.account_id}", content=body,
                      headers=headers)
    assert resp.status_code == 404, resp.text
    assert events_about(server, ref) == before  # not even recorded


@pytest.mark.parametrize("acquirer", ACQUIRERS)
def test_an_account_is_read_through_the_api_and_never_shows_a_secret(
        server: LiveServer, acquirer: str) -> None:
    first, second = FIRST[acquirer], SECOND[acquirer]
    own = httpx.get(f"{server.url}/sandbox/accounts").json()[second.account_id]
    with merchant_api(server, first) as one, merchant_api(server, second) as two:
        default = one.get("/api/v1/acquirer").json()
        assert default["name"] == acquirer and default["account"] is None
        resp = two.get("/api/v1/acquirer")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["name"] == acquirer and doc["account"]["id"] == second.account_id
    assert doc["capabilities"]["currencies"]
    secrets = [v for k, v in own.items() if k in ("secret_key", "password", "client_secret",
                                                   "api_key", "private_key")]
    assert secrets
    for secret in secrets:
        assert secret not in resp.text
        assert secret.strip().splitlines()[-2 if secret.startswith("-----") else -1][-4:] \
            in resp.text  # its last four characters: enough to tell two apart
    sealed = query(server.settings.db_url,
                   "SELECT sealed_settings FROM acquirer_accounts WHERE id = :a",
                   a=second.account_id)[0][0]
    assert sealed.startswith("fernet:") and not any(s in sealed for s in secrets)


def _other_rsa_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


# Per acquirer: one credential made wrong, and what the check must then say.
WRONG = {
    "bank131": ("private_key", _other_rsa_key, "refuses project"),
    "smartglocal": ("project", lambda: "someone-elses-project", "refuses project"),
    "yookassa": ("secret_key", lambda: "test_wrong_secret", "refuses the shop id"),
    "tbc": ("client_secret", lambda: "wrong-secret", "refuses the apikey"),
    "tbank": ("password", lambda: "wrong-password", "refuses the password"),
}


@pytest.mark.parametrize("acquirer", ACQUIRERS)
def test_our_drivers_on_two_accounts_see_only_their_own_sessions_at_the_acquirer(
        server: LiveServer, acquirer: str) -> None:
    """The real drivers, over HTTP, against the emulator: an account's credentials open that
    account's sessions and no other's, and the connection check says which credential is
    wrong."""
    import asyncio

    from checkout.acquirers import registry
    from checkout.acquirers.package import Wiring
    from checkout.domain.money import Money
    from checkout.drivers import account_driver
    from checkout.errors import AcquirerError
    from checkout.sandbox.remote import from_wire

    first, second = FIRST[acquirer], SECOND[acquirer]
    with merchant_api(server, first) as one:
        mine = paid(server, one, first)
    ref = ref_of(server, mine["id"])
    bases = from_wire(httpx.get(f"{server.url}/sandbox/credentials").json())
    own = httpx.get(f"{server.url}/sandbox/accounts").json()[second.account_id]
    key, wrong_value, complaint = WRONG[acquirer]

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            package = registry.BY_NAME[acquirer]
            wiring = Wiring(http=http, timeout=10, attempt_ttl_seconds=1200,
                            webhook_url="http://127.0.0.1:9/unused")
            default = package.build(bases[acquirer], wiring)
            theirs = account_driver(package, own, base=bases[acquirer], wiring=wiring)
            wrong = account_driver(package, {**own, key: wrong_value()},
                                   base=bases[acquirer], wiring=wiring)
            await default.check_connection()
            await theirs.check_connection()
            with pytest.raises(AcquirerError, match=complaint) as refused:
                await wrong.check_connection()
            assert not refused.value.temporary
            assert (await default.fetch(ref)).ref == ref
            with pytest.raises(AcquirerError):
                await theirs.fetch(ref)
            with pytest.raises(AcquirerError):
                await theirs.refund(ref, Money(100, first.currency), "att_other:refund")
            after = await default.fetch(ref)  # the other account's refund moved nothing
            assert not after.refunds and not after.refunded_amount

    asyncio.run(run())


def account_cli(server: LiveServer, *args: str, settings: dict[str, Any] | None = None
                ) -> tuple[int, Any, str]:
    """`checkout acquirer-account …` as an operator runs it: (exit code, its JSON, stderr)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": server.settings.db_url,
           "CHECKOUT_DATA_DIR": str(server.settings.data_dir),
           "CHECKOUT_PUBLIC_URL": server.url}
    out = subprocess.run([sys.executable, "-m", "checkout.cli", "acquirer-account", *args],
                         env=env, input=json.dumps(settings or {}), capture_output=True,
                         text=True, timeout=60)
    return out.returncode, json.loads(out.stdout) if out.stdout.strip() else None, out.stderr


def test_an_account_is_added_checked_fixed_and_used_from_the_command_line(
        server: LiveServer) -> None:
    from checkout.sandbox import tbank
    from tests.buyer import add_merchant

    headers = add_merchant(server.settings.db_url, "mer_own_terminal", "sk_test_own_terminal",
                           return_origins='["http://127.0.0.1:*"]', acquirer="tbank")
    code, made, err = account_cli(server, "add", "mer_own_terminal", "tbank", "--label",
                                  "Counter terminal", settings={
                                      "terminal_key": tbank.TERMINAL2, "password": "wrong!"})
    assert code == 0, err
    assert made["label"] == "Counter terminal" and made["acquirer"] == "tbank"
    assert made["hints"] == {"terminal_key": tbank.TERMINAL2, "password": "…"}  # too short
    code, checked, _ = account_cli(server, "check", made["id"])
    assert code == 1 and not checked["ok"]
    assert "refuses the password" in checked["problem"]
    code, changed, err = account_cli(server, "change", made["id"],
                                     settings={"password": tbank.PASSWORD2})
    assert code == 0, err
    assert changed["version"] == 2 and changed["check_problem"] is None
    assert changed["hints"]["password"] == "…" + tbank.PASSWORD2[-4:]
    code, checked, _ = account_cli(server, "check", made["id"])
    assert code == 0 and checked == {"account_id": made["id"], "ok": True, "problem": None}
    code, listed, _ = account_cli(server, "list", "mer_own_terminal")
    assert [a["id"] for a in listed] == [made["id"]] and listed[0]["checked_at"]
    assert tbank.PASSWORD2 not in json.dumps(listed)
    # Not yet in use: the merchant's payments still go to the checkout's own terminal.
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as api:
        assert api.get("/api/v1/acquirer").json()["account"] is None
        assert account_cli(server, "use", "mer_own_terminal", made["id"])[0] == 0
        assert api.get("/api/v1/acquirer").json()["account"]["id"] == made["id"]
        merchant = DemoMerchant("tbank", "mer_own_terminal", "sk_test_own_terminal", "", "RUB")
        payment = paid(server, api, merchant)
    assert account_of(server, "attempts", payment["id"]) == made["id"]


@pytest.mark.parametrize(("acquirer", "settings", "field"), [
    ("mastercard", {}, "acquirer"),
    ("yookassa", {"shop_id": "1"}, "secret_key"),
    ("yookassa", {"shop_id": "1", "secret_key": "s", "base_url": "http://10.0.0.1/"},
     "base_url"),
    ("yookassa", {"shop_id": "1", "secret_key": "s\\u0000"}, "secret_key"),
    ("bank131", {"project": "p", "private_key": "/etc/passwd",
                 "public_key": "-----BEGIN PUBLIC KEY-----"}, "private_key"),
    ("tbc", {"api_key": "k", "client_id": "c", "client_secret": "x" * 501}, "client_secret"),
])
def test_bad_account_settings_are_refused_naming_the_setting(
        server: LiveServer, acquirer: str, settings: dict[str, str], field: str) -> None:
    given = json.loads(json.dumps(settings).replace("\\\\u0000", "\\u0000"))
    code, _, err = account_cli(server, "add", "mer_demo", acquirer, settings=given)
    assert code == 1, err
    assert field in err
    assert query(server.settings.db_url, "SELECT count(*) FROM acquirer_accounts "
                 "WHERE merchant_id = 'mer_demo'")[0][0] == 0


def test_a_key_that_is_not_a_key_is_refused_before_any_payment(server: LiveServer) -> None:
    code, _, err = account_cli(server, "add", "mer_demo", "bank131", settings={
        "project": "p", "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n"
        "-----END PRIVATE KEY-----", "public_key": "-----BEGIN PUBLIC KEY-----\nno\n"
        "-----END PUBLIC KEY-----"})
    assert code == 1 and "do not work" in err


def test_a_switch_moves_new_payments_only(server: LiveServer) -> None:
    second = SECOND["tbank"]
    with merchant_api(server, second) as api:
        before = paid(server, api, second)
        assert account_cli(server, "use", second.merchant_id, "--default", "tbank")[0] == 0
        after = paid(server, api, second)
        assert account_of(server, "payments", after["id"]) is None
        assert account_of(server, "payments", before["id"]) == second.account_id
        # The earlier payment refunds where it was made (the default terminal cannot see it).
        for payment in (before, after):
            resp = api.post(f"/api/v1/payments/{payment['id']}/refunds")
            assert resp.status_code == 201, resp.text
            wait_for(lambda p=payment: api.get(f"/api/v1/payments/{p['id']}").json()
                     ["refunded_amount"] == p["amount"], 20, "the refund")


def test_new_settings_reach_the_running_checkout_at_its_next_call(server: LiveServer) -> None:
    from checkout.sandbox import yookassa

    second = SECOND["yookassa"]
    with merchant_api(server, second) as api:
        payment = paid(server, api, second)
        assert account_cli(server, "change", second.account_id,
                           settings={"secret_key": "test_revoked"})[0] == 0
        assert api.get("/api/v1/acquirer").json()["account"]["settings"]["secret_key"] == \
            "…oked"  # noqa: S105 - the hint of a test secret
        refused = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 100})
        assert refused.json()["status"] == "failed", refused.text  # YooKassa said 401
        # The same amount again, once the key is right: this refund is made, and the refused
        # one (which made nothing) is not mistaken for it.
        assert account_cli(server, "change", second.account_id,
                           settings={"secret_key": yookassa.SECRET2})[0] == 0
        resp = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 100})
        assert resp.status_code == 201, resp.text
        assert resp.json()["status"] in ("pending", "succeeded")
        wait_for(lambda: api.get(f"/api/v1/payments/{payment['id']}").json()
                 ["refunded_amount"] == 100, 20, "the refund")
    stored = dict(query(server.settings.db_url, "SELECT id, acquirer_ref FROM refunds"))
    assert stored[refused.json()["id"]] is None and stored[resp.json()["id"]]
