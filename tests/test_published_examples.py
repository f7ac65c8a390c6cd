"""Every example the acquirers publish (`tests/fixtures/<acquirer>/`) holds against our code,
as written: material nobody here wrote.

- A request example is sent to our emulator of that acquirer and must be taken. Where the
  published Token is a placeholder (it is not the Token of that body under the test
  terminal's password), the test says so and signs the body again.
- An answer example is read by our driver's wire and must mean what a careful reader of the
  documentation expects.
- A webhook example, from an address the acquirer publishes, is taken by our driver as
  configured by default.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from checkout.acquirers.bank131 import wire as bank131_wire
from checkout.acquirers.package import Wiring
from checkout.acquirers.registry import BY_NAME
from checkout.acquirers.tbank import wire as tbank_wire
from checkout.acquirers.yookassa import wire as yookassa_wire
from checkout.sandbox import yookassa as yookassa_sandbox
from tests.bank131 import partner_call_at
from tests.buyer import decide
from tests.server import LiveServer

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = sorted(FIXTURES.glob("*/*.json"))
REQUESTS = [p for p in EXAMPLES if "request" in json.loads(p.read_text())]
ANSWERS = [p for p in EXAMPLES if "answer" in json.loads(p.read_text())]
WEBHOOKS = [p for p in EXAMPLES if "webhook" in json.loads(p.read_text())]
# (acquirer, what the example is): the driver's own reading of it.
READERS: dict[tuple[str, str], Any] = {
    ("bank131", "snapshot"): bank131_wire.snapshot,
    ("smartglocal", "snapshot"): bank131_wire.snapshot,
    ("yookassa", "snapshot"): yookassa_wire.snapshot,
    ("tbank", "snapshot"): tbank_wire.snapshot,
    ("tbank", "tpay_offered"): tbank_wire.tpay_offered,
    ("tbank", "redirect_url"): tbank_wire.redirect_url,
}
TEST_PASSWORD = {"tbank": "TinkoffBankTest"}  # T-Bank's public test terminal


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem}" for p in paths]


def test_every_example_names_its_page() -> None:
    assert {p.parent.name for p in EXAMPLES} == set(BY_NAME)  # every acquirer has some
    assert len(REQUESTS) + len(ANSWERS) + len(WEBHOOKS) == len(EXAMPLES)
    for path in EXAMPLES:
        doc = json.loads(path.read_text())
        assert "https://" in doc["source"] and doc["what"], path


def _send(server: LiveServer, acquirer: str, method: str, request: dict[str, Any]
          ) -> dict[str, Any]:
    if acquirer in ("bank131", "smartglocal"):
        resp = partner_call_at(server.url, server.settings.data_dir, method, request,
                               host=acquirer)
    elif acquirer == "tbc":
        verb, path = method.split(" ", 1)
        resp = httpx.request(verb, f"{server.url}/sandbox/tbc/v1/tpay/{path}", json=request,
                             headers=_tbc_headers(server))
    elif acquirer == "yookassa":
        verb, path = method.split(" ", 1)
        resp = httpx.request(verb, f"{server.url}/sandbox/yookassa/v3/{path}", json=request,
                             auth=(yookassa_sandbox.SHOP_ID, yookassa_sandbox.SECRET),
                             headers={"Idempotence-Key": f"published-{path}"})
    else:
        resp = httpx.post(f"{server.url}/sandbox/{acquirer}/v2/{method}", json=request)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _tbc_headers(server: LiveServer) -> dict[str, str]:
    key = {"apikey": "sandbox-apikey"}
    token = httpx.post(f"{server.url}/sandbox/tbc/v1/tpay/access-token", headers=key, data={
        "client_id": "sandbox-client", "client_secret": "sandbox-client-secret"})
    return {**key, "Authorization": f"Bearer {token.json()['access_token']}"}


def _tbc_saved_card(server: LiveServer) -> str:
    """A card saved at the emulated TBC the way a buyer saves one: a payment with saveCard,
    approved on TBC's page."""
    headers = _tbc_headers(server)
    made = httpx.post(f"{server.url}/sandbox/tbc/v1/tpay/payments", headers=headers, json={
        "amount": {"currency": "GEL", "total": 1, "subTotal": 1, "tax": 0, "shipping": 0},
        "returnurl": "https://shop.example/return", "saveCard": True}).json()
    approved = httpx.post(f"{server.url}/sandbox/tbc/checkout/{made['payId']}/approve")
    assert approved.status_code == 303
    paid = httpx.get(f"{server.url}/sandbox/tbc/v1/tpay/payments/{made['payId']}",
                     headers=headers).json()
    return str(paid["recurringCard"]["recId"])


def _yookassa_saved_method(server: LiveServer) -> str:
    """A T-Pay method saved at the emulated YooKassa the way a buyer saves one: a payment with
    save_payment_method, approved on YooKassa's page."""
    auth = (yookassa_sandbox.SHOP_ID, yookassa_sandbox.SECRET)
    with httpx.Client(base_url=f"{server.url}/sandbox/yookassa/v3", auth=auth) as yoo:
        made = yoo.post("/payments", headers={"Idempotence-Key": "published-save"}, json={
            "amount": {"value": "1.00", "currency": "RUB"}, "capture": True,
            "payment_method_data": {"type": "tinkoff_bank"}, "save_payment_method": True,
            "confirmation": {"type": "redirect", "return_url": "https://shop.example/r"}}).json()
        decide(httpx.Client(base_url=server.url), made["confirmation"]["confirmation_url"],
               approve=True)
        paid = yoo.get(f"/payments/{made['id']}").json()
    assert paid["payment_method"]["saved"] is True, paid
    return str(paid["payment_method"]["id"])


PLACEHOLDERS = {("tbc", "recId"): _tbc_saved_card,
                ("yookassa", "payment_method_id"): _yookassa_saved_method}


@pytest.mark.parametrize("path", REQUESTS, ids=_ids(REQUESTS))
def test_the_emulator_takes_the_published_request(server: LiveServer, path: Path) -> None:
    doc = json.loads(path.read_text())
    acquirer, request = path.parent.name, dict(doc["request"])
    if doc.get("token") == "placeholder":
        resigned = tbank_wire.token(request, TEST_PASSWORD[acquirer])
        assert resigned != request["Token"]  # the page's Token is not this body's
        request["Token"] = resigned
    for key in doc.get("placeholders", {}):
        request[key] = PLACEHOLDERS[(acquirer, key)](server)
    answer = _send(server, acquirer, doc["method"], request)
    expect = doc["expect"]
    if "session_status" in expect:
        assert answer["status"] == "ok", answer
        assert answer["session"]["status"] == expect["session_status"]
    for key, value in expect.items():
        if key != "session_status":
            assert answer[key] == value, (key, answer)


def _plain(value: Any) -> Any:
    """A snapshot's field as JSON has it (tuples as lists, states as their words)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _expect_snapshot(snap: Any, expect: dict[str, Any]) -> None:
    for key, value in expect.items():
        assert _plain(getattr(snap, key)) == value, (key, snap)


@pytest.mark.parametrize("path", ANSWERS, ids=_ids(ANSWERS))
def test_the_driver_reads_the_published_answer(path: Path) -> None:
    doc = json.loads(path.read_text())
    read = READERS[(path.parent.name, doc.get("read", "snapshot"))]
    if "expect_value" in doc:
        assert read(doc["answer"]) == doc["expect_value"]
    else:
        _expect_snapshot(read(doc["answer"]), doc["expect_snapshot"])


def _acquirer_signature(conf: dict[str, Any], body: bytes) -> dict[str, str]:
    """For an example whose signature is a placeholder: sign it as the acquirer would, with a
    key made here, and have the driver trust that key."""
    bank = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = serialization.Encoding.PEM
    conf["private_key_pem"] = bank.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption())
    conf["acquirer_public_key_pem"] = bank.public_key().public_bytes(
        pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    signature = bank.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return {"x-partner-sign": base64.b64encode(signature).decode()}


@pytest.mark.parametrize("path", WEBHOOKS, ids=_ids(WEBHOOKS))
def test_the_driver_takes_the_published_webhook(path: Path) -> None:
    doc = json.loads(path.read_text())
    package = BY_NAME[path.parent.name]
    conf: dict[str, Any] = {s.key: s.default or "x" for s in package.settings}  # production's
    conf.update(doc.get("settings", {}))
    body = json.dumps(doc["webhook"], ensure_ascii=False).encode()
    headers = _acquirer_signature(conf, body) if doc.get("signature") == "placeholder" else {}
    driver = package.build(conf, Wiring(httpx.AsyncClient(), 5.0, 1200, "https://x/w"))
    notice = driver.parse_webhook(headers, body, doc["from"])
    expect = doc["expect_notice"]
    assert notice.ref == expect["ref"]
    assert (notice.snapshot is not None) is expect["signed"]
    if "attempt_hint" in expect:
        assert notice.attempt_hint == expect["attempt_hint"]
    if "expect_snapshot" in doc:
        _expect_snapshot(notice.snapshot, doc["expect_snapshot"])
