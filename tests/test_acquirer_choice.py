"""Which acquirer a payment goes to: the merchant's, by configuration; refused up front when
that acquirer cannot do what is asked; and unchanged for payments made before a switch."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from checkout.acquirers.package import Wiring
from checkout.acquirers.tbc import PACKAGE as TBC_PACKAGE
from checkout.acquirers.tbc import TbcDriver
from checkout.acquirers.yookassa import YOOKASSA_NETWORKS, YooKassaDriver
from checkout.errors import WebhookRejected
from tests.buyer import (
    add_merchant,
    decide,
    execute,
    merchant_cli,
    query,
    start,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.server import LiveServer

ORIGINS = '["http://127.0.0.1:*"]'


@pytest.fixture
def merchants(server: LiveServer) -> Iterator[dict[str, httpx.Client]]:
    clients = {}
    for acquirer in ("bank131", "yookassa", "tbc"):
        headers = add_merchant(server.settings.db_url, f"mer_{acquirer}", f"sk_test_{acquirer}",
                               return_origins=ORIGINS, acquirer=acquirer)
        clients[acquirer] = httpx.Client(base_url=server.url, headers=headers, timeout=20)
    yield clients
    for client in clients.values():
        client.close()


def _body(server: LiveServer, **fields: object) -> dict[str, object]:
    return {"amount": 150_00, "currency": "RUB", "description": "Order 42",
            "return_url": f"{server.url}/shop/return", **fields}


@pytest.mark.parametrize(("acquirer", "fields", "field"), [
    ("tbc", {"currency": "RUB"}, "currency"),
    ("bank131", {"currency": "GEL"}, "currency"),
    ("yookassa", {"currency": "GEL"}, "currency"),
    ("tbc", {"currency": "GEL", "reference": "x" * 26}, "reference"),
    ("tbc", {"currency": "GEL", "reference": "заказ-1"}, "reference"),
])
def test_what_the_acquirer_cannot_take_is_refused_before_any_call(
        server: LiveServer, merchants: dict[str, httpx.Client], acquirer: str,
        fields: dict[str, object], field: str) -> None:
    resp = merchants[acquirer].post("/api/v1/payments", json=_body(server, **fields))
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert problem["type"].endswith("/unsupported-by-acquirer")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert query(server.settings.db_url, "SELECT count(*) FROM payments")[0][0] == 0


def _paid_tbc(server: LiveServer, tbc: httpx.Client) -> dict:
    payment = tbc.post("/api/v1/payments", json=_body(server, currency="GEL",
                                                      reference="order-42")).json()
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        start(buyer, payment["checkout_url"])
        decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
    return wait_for_status(tbc, payment["id"], "succeeded", timeout=20)


def _refund_statuses(tbc: httpx.Client, payment: dict, count: int) -> list[str]:
    def settled() -> list[str] | None:
        listed = tbc.get(f"/api/v1/payments/{payment['id']}/refunds").json()["data"]
        statuses = [r["status"] for r in sorted(listed, key=lambda r: r["created_at"])]
        return statuses if len(statuses) == count and "pending" not in statuses else None
    return wait_for(settled, timeout=20, what="the refunds to settle")


def test_yookassas_limits_and_tbcs_one_partial_cancel_on_the_transaction_day(
        server: LiveServer, merchants: dict[str, httpx.Client]) -> None:
    over = merchants["yookassa"].post("/api/v1/payments",
                                      json=_body(server, amount=700_000_01))
    assert over.status_code == 422
    tbc = merchants["tbc"]
    payment = _paid_tbc(server, tbc)
    assert tbc.post(f"/api/v1/payments/{payment['id']}/refunds",
                    json={"amount": 10_00}).status_code == 201
    assert _refund_statuses(tbc, payment, 1) == ["succeeded"]
    # TBC: "a partial cancel is allowed once on the transaction day": the second is refused
    # here, before any call, with what it would take.
    second = tbc.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 10_00})
    assert second.status_code == 422, second.text
    assert second.json()["errors"] == [{"field": "amount", "message": "must be 14000"}]
    rest = tbc.post(f"/api/v1/payments/{payment['id']}/refunds", json={})
    assert rest.status_code == 201 and rest.json()["amount"] == 140_00
    assert _refund_statuses(tbc, payment, 2) == ["succeeded", "succeeded"]


def test_tbc_takes_partial_refunds_on_later_days(
        server: LiveServer, merchants: dict[str, httpx.Client]) -> None:
    tbc = merchants["tbc"]
    payment = _paid_tbc(server, tbc)
    # The payment was made in 2020, as TBC's own books and ours say.
    execute(server.settings.db_url, "UPDATE attempts SET created_at = :t WHERE payment_id = :p",
            t=datetime(2020, 1, 1, 10), p=payment["id"])
    path = server.settings.data_dir / "sandbox" / "tbc.db"
    with sqlite3.connect(path) as db:
        for rowid, doc in db.execute("SELECT rowid, doc FROM docs WHERE kind = 'payment'"):
            kept = json.loads(doc)
            kept["createdAt"] = "2020-01-01T10:00:00+00:00"
            db.execute("UPDATE docs SET doc = ? WHERE rowid = ?", (json.dumps(kept), rowid))
    for amount in (10_00, 20_00, 30_00):
        assert tbc.post(f"/api/v1/payments/{payment['id']}/refunds",
                        json={"amount": amount}).status_code == 201
    assert _refund_statuses(tbc, payment, 3) == ["succeeded"] * 3
    assert tbc.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 60_00


def test_switching_acquirer_is_configuration_and_old_payments_stay_where_they_began(
        server: LiveServer) -> None:
    made = merchant_cli(server, "add", "--name", "Tea", "--return-origin",
                        "http://127.0.0.1:*")
    merchant_id, key = made["merchant_id"], made["api_key"]
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Authorization": f"Bearer {key}"}) as api, \
            httpx.Client(base_url=server.url, timeout=20) as buyer:
        held = api.post("/api/v1/payments", json=_body(server, capture=False)).json()
        paid = api.post("/api/v1/payments", json=_body(server)).json()
        unstarted = api.post("/api/v1/payments", json=_body(server)).json()
        for payment in (held, paid):
            start(buyer, payment["checkout_url"])
            decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
        wait_for_status(api, held["id"], "waiting_for_capture")
        wait_for_status(api, paid["id"], "succeeded")

        switched = merchant_cli(server, "set-acquirer", merchant_id, "yookassa")
        assert switched == {"merchant_id": merchant_id, "acquirer": "yookassa"}

        fresh = api.post("/api/v1/payments", json=_body(server)).json()
        assert fresh["acquirer"] == "yookassa"
        assert api.post(f"/api/v1/payments/{held['id']}/capture").status_code == 200
        assert wait_for_status(api, held["id"], "succeeded")["acquirer"] == "bank131"
        refund = api.post(f"/api/v1/payments/{paid['id']}/refunds", json={"amount": 50_00})
        assert refund.status_code == 201
        start(buyer, unstarted["checkout_url"])  # begun before the switch: stays on Bank 131
        link = wait_for_link(buyer, unstarted["checkout_url"])
        assert "/sandbox/tpay/" in link
        start(buyer, fresh["checkout_url"])
        assert "/sandbox/yookassa/checkout/" in wait_for_link(buyer, fresh["checkout_url"])
    rows = query(server.settings.db_url,
                 "SELECT p.id, a.acquirer FROM attempts a JOIN payments p "
                 "ON p.id = a.payment_id")
    by_payment = dict((r[0], r[1]) for r in rows)
    assert by_payment[held["id"]] == by_payment[paid["id"]] == "bank131"
    assert by_payment[unstarted["id"]] == "bank131" and by_payment[fresh["id"]] == "yookassa"


def test_an_unknown_acquirer_is_refused_by_the_command(server: LiveServer) -> None:
    out = subprocess.run([sys.executable, "-m", "checkout.cli", "merchant", "add", "--name",
                          "x", "--return-origin", "https://x.example", "--acquirer", "paypal"],
                         env={**os.environ, "DATABASE_URL": server.settings.db_url},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "unknown acquirer 'paypal'" in out.stderr


def test_unsigned_notifications_are_taken_only_from_the_acquirers_networks() -> None:
    driver = YooKassaDriver(base_url="https://api.yookassa.ru/v3/", shop_id="1",
                            secret_key="s", client=httpx.AsyncClient(),  # noqa: S106
                            notification_networks=YOOKASSA_NETWORKS)
    body = b'{"type":"notification","event":"payment.succeeded","object":{"id":"p1"}}'
    with pytest.raises(WebhookRejected):
        driver.parse_webhook({}, body, "203.0.113.7")
    notice = driver.parse_webhook({}, body, "185.71.76.5")
    assert notice.ref == "p1" and notice.snapshot is None  # a hint: the flow fetches


def test_tbc_callbacks_can_be_held_to_the_networks_tbc_names() -> None:
    def tbc(*networks: str) -> TbcDriver:
        return TbcDriver(base_url="https://api.tbcbank.ge/v1/tpay/", api_key="k",
                         client_id="c", client_secret="s",  # noqa: S106
                         callback_url="https://pay.example/webhooks/tbc",
                         client=httpx.AsyncClient(), callback_networks=networks)
    body = b'{"PaymentId": "tpay_1"}'
    with pytest.raises(WebhookRejected) as refused:
        tbc("192.0.2.0/24").parse_webhook({}, body, "203.0.113.7")
    assert refused.value.status == 403
    assert tbc("192.0.2.0/24").parse_webhook({}, body, "192.0.2.9").ref == "tpay_1"
    assert tbc().parse_webhook({}, body, "203.0.113.7").ref == "tpay_1"  # none: from anywhere
    # Configured from the environment, the default is TBC's published callback addresses.
    conf = TBC_PACKAGE.from_env({"TBC_API_KEY": "k", "TBC_CLIENT_ID": "c",
                                 "TBC_CLIENT_SECRET": "s"})
    assert conf is not None
    driver = TBC_PACKAGE.build(conf, Wiring(httpx.AsyncClient(), 5.0, 1200, "https://x/w"))
    with pytest.raises(WebhookRejected):
        driver.parse_webhook({}, body, "203.0.113.7")
    assert driver.parse_webhook({}, body, "185.52.80.45").ref == "tpay_1"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the store plays no part
def test_tbcs_access_token_is_reused_renewed_before_expiry_and_after_revocation(
        server: LiveServer, merchants: dict[str, httpx.Client]) -> None:
    emulator = server.app.state.sandbox.emulators["tbc"]
    emulator.token_seconds = 8  # renewed after 7.2 s: room for a slow first payment
    tbc = merchants["tbc"]

    def pay_once() -> None:
        payment = tbc.post("/api/v1/payments", json=_body(server, currency="GEL")).json()
        with httpx.Client(base_url=server.url, timeout=20) as buyer:
            start(buyer, payment["checkout_url"])
            decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
        wait_for_status(tbc, payment["id"], "succeeded", timeout=20)

    pay_once()  # a create, a callback and status reads: several calls, one token
    assert emulator.tokens_issued == 1
    time.sleep(7.3)  # past 90 % of its life: the driver renews before calling
    pay_once()
    assert emulator.tokens_issued == 2
    emulator.token_seconds = 3600
    emulator.revoke_tokens()  # TBC forgets it early: one 401, one renewal, then on as usual
    pay_once()
    assert emulator.tokens_issued == 3


def test_a_merchant_can_ask_what_its_acquirer_can_do(
        server: LiveServer, merchants: dict[str, httpx.Client]) -> None:
    described = {name: client.get("/api/v1/acquirer").json()
                 for name, client in merchants.items()}
    assert {n: d["name"] for n, d in described.items()} == {n: n for n in merchants}
    tbc, bank131 = described["tbc"]["capabilities"], described["bank131"]["capabilities"]
    assert tbc["family"] == "page" and sorted(tbc["currencies"]) == ["EUR", "GEL", "USD"]
    assert tbc["partial_refund_limit"] is None and tbc["reference_max_length"] == 25
    assert bank131["family"] == "link" and bank131["signed_webhooks"] is True
    assert bank131["currencies"] == {"RUB": {"min_amount": 100, "max_amount": 70_000_000}}
    assert described["yookassa"]["capabilities"]["signed_webhooks"] is False
    assert httpx.get(f"{server.url}/api/v1/acquirer").status_code == 401
