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

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkout.acquirers.package import Wiring
from checkout.acquirers.registry import BY_NAME
from checkout.acquirers.tbank import wire as tbank_wire
from tests.bank131 import partner_call_at
from tests.server import LiveServer

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = sorted(FIXTURES.glob("*/*.json"))
REQUESTS = [p for p in EXAMPLES if "request" in json.loads(p.read_text())]
ANSWERS = [p for p in EXAMPLES if "answer" in json.loads(p.read_text())]
WEBHOOKS = [p for p in EXAMPLES if "webhook" in json.loads(p.read_text())]
READERS = {"tbank": tbank_wire.snapshot}
TEST_PASSWORD = {"tbank": "TinkoffBankTest"}  # T-Bank's public test terminal


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.stem}" for p in paths]


def test_every_example_names_its_page() -> None:
    assert {p.parent.name for p in EXAMPLES} >= {"bank131", "smartglocal", "tbank", "tbc"}
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


PLACEHOLDERS = {("tbc", "recId"): _tbc_saved_card}


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


@pytest.mark.parametrize("path", ANSWERS, ids=_ids(ANSWERS))
def test_the_driver_reads_the_published_answer(path: Path) -> None:
    doc = json.loads(path.read_text())
    snap = READERS[path.parent.name](doc["answer"])
    for key, value in doc["expect_snapshot"].items():
        assert getattr(snap, key) == value, (key, snap)


@pytest.mark.parametrize("path", WEBHOOKS, ids=_ids(WEBHOOKS))
def test_the_driver_takes_the_published_webhook(path: Path) -> None:
    doc = json.loads(path.read_text())
    package = BY_NAME[path.parent.name]
    conf = {s.key: s.default or "x" for s in package.settings}  # production's defaults
    driver = package.build(conf, Wiring(httpx.AsyncClient(), 5.0, 1200, "https://x/w"))
    notice = driver.parse_webhook({}, json.dumps(doc["webhook"]).encode(), doc["from"])
    expect = doc["expect_notice"]
    assert notice.ref == expect["ref"]
    assert (notice.snapshot is not None) is expect["signed"]
