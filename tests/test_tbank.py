"""T-Bank's own acquiring (eacq): its Token by its own check vector, its PyPI client `tbank`
driving the emulator, the emulator refusing what T-Bank refuses, and our notifications
endpoint speaking T-Bank's side of the protocol (Token checked, `OK` answered)."""

from __future__ import annotations

import copy
import hashlib
import http.server
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tbank.acquiring.models import InitRequest
from tbank.acquiring.sync import AcquiringClient
from tbank.acquiring.webhooks import parse_notification, verify_notification

from checkout.acquirers.tbank import wire
from tests.buyer import (
    IPHONE,
    WINDOWS_CHROME,
    add_merchant,
    decide,
    new_payment,
    query,
    start,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.server import LiveServer, free_port

TERMINAL, PASSWORD = "TinkoffBankTest", "TinkoffBankTest"
# T-Bank's documented check vector (developer.tbank.ru/eacq/intro/developer/token).
VECTOR = {"TerminalKey": TERMINAL, "Amount": 140000, "OrderId": "21090",
          "Description": "Подарочная карта на 1000 рублей"}
VECTOR_TOKEN = "68711168852240a2f34b6a8b19d2cfbd296c7d2a6dff8b23eda6278985959346"  # noqa: S105


def _token(fields: dict[str, Any]) -> str:
    """The Token as T-Bank's documentation says, written here apart from our driver's."""
    flat = {k: v for k, v in fields.items() if k != "Token" and not isinstance(v, dict | list)}
    flat["Password"] = PASSWORD
    text = "".join(str(flat[k]).lower() if isinstance(flat[k], bool) else str(flat[k])
                   for k in sorted(flat))
    return hashlib.sha256(text.encode()).hexdigest()


def _call(server: LiveServer, method: str, fields: dict[str, Any]) -> dict[str, Any]:
    body = {"TerminalKey": TERMINAL, **fields}
    body.setdefault("Token", _token(body))
    resp = httpx.post(f"{server.url}/sandbox/tbank/v2/{method}", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_the_token_passes_tbanks_check_vector() -> None:
    assert wire.token(VECTOR, PASSWORD) == VECTOR_TOKEN
    assert _token(VECTOR) == VECTOR_TOKEN
    # Nested objects are left out, booleans are written true/false.
    assert wire.token({**VECTOR, "DATA": {"Phone": "+7"}, "Receipt": {}}, PASSWORD) == \
        VECTOR_TOKEN
    assert wire.token({"A": True}, "p") == hashlib.sha256(b"truep").hexdigest()


def test_tbanks_own_example_is_taken_verbatim(server: LiveServer) -> None:
    # The check vector's request, its documented Token and all: the emulator checks the
    # Token as T-Bank does, so T-Bank's own example works against it unchanged.
    answer = _call(server, "Init", {**VECTOR, "Token": VECTOR_TOKEN})
    assert answer["Success"] is True and answer["ErrorCode"] == "0", answer
    assert answer["Status"] == "NEW" and answer["OrderId"] == "21090"
    assert isinstance(answer["PaymentId"], str) and answer["Amount"] == 140000
    state = _call(server, "GetState", {"PaymentId": answer["PaymentId"]})
    assert state["Status"] == "NEW" and state["TerminalKey"] == TERMINAL


# The codes of T-Bank's own error table (OpenAPI "Прием платежей", "Коды ошибок").
@pytest.mark.parametrize("change, code", [
    ({"Token": "0" * 64}, "204"),
    ({"TerminalKey": "Nobody"}, "205"),
    ({"Amount": None}, "2"),
    ({"Amount": "140000"}, "1"),
    ({"Amount": 0}, "251"),
    ({"OrderId": "x" * 37}, "212"),
    ({"Description": "x" * 141}, "213"),
    ({"PayType": "X"}, "1"),
    ({"Language": "de"}, "1"),
    ({"Recurrent": "Y"}, "2"),  # without a CustomerKey
    ({"Recurrent": "Y", "CustomerKey": "c" * 37}, "216"),
    ({"DATA": {"Device": "MobileWeb"}}, "1"),  # v1.80: SDK, Desktop or Mobile
    ({"DATA": {"DeviceBrowser": "Edge"}}, "1"),  # v1.80's list spells it "Microsoft Edge"
    ({"DATA": {"TinkoffPayWeb": "yes"}}, "1"),
    ({"DATA": {"OperationInitiatorType": "X"}}, "1"),
    ({"DATA": {"OperationInitiatorType": "1"}}, "1126"),  # saves a card: needs Recurrent
    ({"Recurrent": "Y", "CustomerKey": "c", "DATA": {"OperationInitiatorType": "0"}}, "1126"),
    ({"DATA": {f"k{i}": "v" for i in range(21)}}, "207"),
    ({"DATA": {"k" * 21: "v"}}, "208"),
    ({"DATA": {"k": "v" * 101}}, "209"),
    ({"RedirectDueDate": "2020-01-01T00:00:00+03:00"}, "12"),
    ({"RedirectDueDate": "tomorrow"}, "12"),
    ({"NotificationURL": "ftp://x"}, "1"),
])
def test_the_emulator_refuses_what_tbank_refuses(server: LiveServer, change: dict[str, Any],
                                                 code: str) -> None:
    body = {k: v for k, v in {**VECTOR, "OrderId": uuid.uuid4().hex[:20], **change}.items()
            if v is not None}
    if "Token" not in change:
        body["Token"] = _token({k: v for k, v in body.items()})
    resp = httpx.post(f"{server.url}/sandbox/tbank/v2/Init", json=body)
    assert resp.status_code == 200  # T-Bank answers refusals with 200 and Success: false
    doc = resp.json()
    assert doc["Success"] is False and doc["ErrorCode"] == code, doc
    assert {"Message", "Details"} <= doc.keys()


def test_a_repeated_order_id_is_refused(server: LiveServer) -> None:
    order = uuid.uuid4().hex[:20]
    assert _call(server, "Init", {**VECTOR, "OrderId": order})["Success"] is True
    again = _call(server, "Init", {**VECTOR, "OrderId": order})
    assert again["Success"] is False and again["ErrorCode"] == "20"
    found = _call(server, "CheckOrder", {"OrderId": order})
    assert [p["Status"] for p in found["Payments"]] == ["NEW"]
    unknown = _call(server, "CheckOrder", {"OrderId": "never-sent"})
    assert unknown["Success"] is False and unknown["ErrorCode"] == "335"
    missing = _call(server, "GetState", {"PaymentId": "1"})
    assert missing["Success"] is False and missing["ErrorCode"] == "255"


class _Notifications:
    """A merchant's NotificationURL: answers `OK` and keeps what came."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers["Content-Length"])
                outer.received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: Any) -> None:
                return None

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/notify"

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture
def notifications() -> Iterator[_Notifications]:
    hub = _Notifications()
    yield hub
    hub.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_tbank_client_pays_confirms_and_refunds_on_the_emulator(
        server: LiveServer, notifications: _Notifications) -> None:
    client = AcquiringClient(TERMINAL, PASSWORD, base_url=f"{server.url}/sandbox/tbank/v2")
    status = client.get_tinkoff_pay_status()
    assert status.success and status.params is not None
    assert status.params.allowed is True and status.params.version == "2.0"
    order = f"order-{uuid.uuid4().hex[:12]}"
    created = client.init(InitRequest(amount=140000, order_id=order, description="Чай",
                                      pay_type="T", notification_url=notifications.url))
    assert created.success and created.status is not None and created.status.value == "NEW"
    assert created.payment_id
    link = client.get_tinkoff_pay_link(created.payment_id, "2.0")
    assert link.params is not None and link.params.redirect_url
    assert "<svg" in client.get_tinkoff_pay_qr(created.payment_id)
    with httpx.Client(base_url=server.url) as buyer:
        decide(buyer, link.params.redirect_url, approve=True)
    held = client.get_state(created.payment_id)
    assert held.status is not None and held.status.value == "AUTHORIZED"
    confirmed = client.confirm(created.payment_id, 100000)
    assert confirmed.status is not None and confirmed.status.value == "CONFIRMED"
    refunded = client.cancel(created.payment_id, 40000)
    assert refunded.status is not None and refunded.status.value == "PARTIAL_REFUNDED"
    assert refunded.original_amount == 100000 and refunded.new_amount == 60000
    assert [p.status for p in client.check_order(order).payments] == ["PARTIAL_REFUNDED"]
    wait_for(lambda: len(notifications.received) >= 3 or None, what="three notifications")
    for note in notifications.received:
        assert verify_notification(note, PASSWORD), note  # the client's own check
        assert parse_notification(note).payment_id == int(created.payment_id)
    assert [n["Status"] for n in notifications.received] == \
        ["AUTHORIZED", "CONFIRMED", "PARTIAL_REFUNDED"]


def _tbank_payment(server: LiveServer) -> tuple[httpx.Client, dict[str, Any], str]:
    headers = add_merchant(server.settings.db_url, "mer_tbank_n", "sk_test_tbank_n",
                           return_origins='["http://127.0.0.1:*"]', acquirer="tbank")
    api = httpx.Client(base_url=server.url, headers=headers, timeout=20)
    payment = new_payment(api, server.url)
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        start(buyer, payment["checkout_url"])
        wait_for_link(buyer, payment["checkout_url"])
    ref = query(server.settings.db_url, "SELECT acquirer_ref FROM attempts WHERE "
                "payment_id = :p", p=payment["id"])[0][0]
    return api, payment, ref


def test_notifications_are_verified_by_token_and_answered_ok(server: LiveServer) -> None:
    api, payment, ref = _tbank_payment(server)
    order = query(server.settings.db_url, "SELECT id FROM attempts WHERE payment_id = :p",
                  p=payment["id"])[0][0]
    note = {"TerminalKey": TERMINAL, "OrderId": order, "Success": True,
            "Status": "CONFIRMED", "PaymentId": int(ref), "ErrorCode": "0",
            "Amount": payment["amount"]}
    forged = {**note, "Token": "f" * 64}
    resp = httpx.post(f"{server.url}/webhooks/tbank", json=forged)
    assert resp.status_code == 401
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "pending"
    other_terminal = copy.deepcopy(note)
    other_terminal["TerminalKey"] = "Someone"
    other_terminal["Token"] = _token(other_terminal)
    assert httpx.post(f"{server.url}/webhooks/tbank", json=other_terminal).status_code == 401
    signed = {**note, "Token": _token(note)}
    resp = httpx.post(f"{server.url}/webhooks/tbank", json=signed)
    assert resp.status_code == 200 and resp.content == b"OK"  # T-Bank wants this, no more
    done = wait_for_status(api, payment["id"], "succeeded")
    assert done["captured_amount"] == payment["amount"]
    again = httpx.post(f"{server.url}/webhooks/tbank", json=signed)
    assert again.status_code == 200 and again.content == b"OK"  # a repeat: still OK
    api.close()


@pytest.mark.parametrize("ua, device, browser", [(IPHONE, "Mobile", "Safari"),
                                                 (WINDOWS_CHROME, "Desktop", "Chrome")])
def test_the_driver_says_the_device_in_tbanks_words(server: LiveServer, ua: str,
                                                    device: str, browser: str) -> None:
    # T-Bank's OpenAPI v1.80, schema "T-Pay": Device is SDK, Desktop or Mobile (MobileWeb was
    # v1.67's); the flags are strings, as T-Bank's SDKs send them; a plain payment says so in
    # OperationInitiatorType (T-Bank's Charge table: 0).
    headers = add_merchant(server.settings.db_url, "mer_tbank_d", "sk_test_tbank_d",
                           return_origins='["http://127.0.0.1:*"]', acquirer="tbank")
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as api, \
            httpx.Client(base_url=server.url, timeout=20) as buyer:
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"], ua)
        wait_for_link(buyer, payment["checkout_url"], ua)
    with sqlite3.connect(server.settings.data_dir / "sandbox" / "tbank.db") as db:
        [data] = [json.loads(doc)["DATA"] for (doc,) in
                  db.execute("SELECT doc FROM docs WHERE kind = 'payment'")]
    assert data["Device"] == device and data["TinkoffPayWeb"] == "true"
    assert data["DeviceBrowser"] == browser and data["OperationInitiatorType"] == "0"


@pytest.mark.parametrize("allowed, version", [(False, "2.0"), (True, "1.0")])
def test_a_terminal_without_tpay_2_is_never_asked_to_init(server: LiveServer, allowed: bool,
                                                          version: str) -> None:
    # Its owner has T-Pay off, or only e-invoice (1.0: T-Pay on T-Bank's own form, no link
    # for us). The driver reads the terminal's status first and makes no payment there; the
    # buyer is told T-Pay is not available here, with the way back to the shop first (trying
    # again helps only once the shop fixes it); the merchant reads `method_unavailable`, not a
    # decline.
    def switch(allowed: bool, version: str) -> None:
        resp = httpx.post(f"{server.url}/sandbox/tbank/terminals/{TERMINAL}/tpay",
                          json={"allowed": allowed, "version": version})
        assert resp.status_code == 200, resp.text

    switch(allowed, version)
    status = httpx.get(f"{server.url}/sandbox/tbank/v2/TinkoffPay/terminals/{TERMINAL}/status")
    assert status.json()["Params"] == {"Allowed": allowed, "Version": version}
    headers = add_merchant(server.settings.db_url, "mer_tbank_off", "sk_test_tbank_off",
                           return_origins='["http://127.0.0.1:*"]', acquirer="tbank")
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as api, \
            httpx.Client(base_url=server.url, timeout=20) as buyer:
        payment = new_payment(api, server.url)
        fragment = start(buyer, payment["checkout_url"])
        assert 'data-state="attempt_failed"' in fragment
        assert "T-Pay в этом магазине сейчас недоступна" in fragment
        assert fragment.index('class="primary" href="http') < \
            fragment.index('class="secondary" data-action="retry"')
        assert query(server.settings.db_url, "SELECT status, error_code FROM attempts WHERE "
                     "payment_id = :p", p=payment["id"]) == [("failed", "method_unavailable")]
        seen = api.get(f"/api/v1/payments/{payment['id']}").json()
        assert seen["status"] == "pending"
        assert seen["last_error"] == {"code": "method_unavailable"}
        with sqlite3.connect(server.settings.data_dir / "sandbox" / "tbank.db") as db:
            made = db.execute("SELECT count(*) FROM docs WHERE kind = 'payment'").fetchone()
        assert made == (0,)  # nothing was made at T-Bank
        # The merchant switches T-Pay on: the very next start works (no refusal was cached).
        switch(True, "2.0")
        start(buyer, payment["checkout_url"])
        wait_for_link(buyer, payment["checkout_url"])


def test_the_tpay_switch_takes_only_what_tbank_has(server: LiveServer) -> None:
    url = f"{server.url}/sandbox/tbank/terminals/{TERMINAL}/tpay"
    assert httpx.post(url, json={"allowed": True, "version": "3.0"}).status_code == 400
    assert httpx.post(url, json={"allowed": "yes", "version": "2.0"}).status_code == 400
    assert httpx.post(url, content=b"{").status_code == 400
    other = f"{server.url}/sandbox/tbank/terminals/Nobody/tpay"
    resp = httpx.post(other, json={"allowed": True, "version": "2.0"})
    assert resp.status_code == 400 and resp.json()["ErrorCode"] == "205"
