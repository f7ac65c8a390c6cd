"""The merchant API's contract: auth, validation, idempotency, scoping — over real HTTP."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from tests.buyer import add_merchant, new_payment, query
from tests.server import LiveServer

VALID = {"amount": 150_00, "currency": "RUB", "description": "Order 42"}


def body(server: LiveServer, **changes: object) -> dict[str, object]:
    doc: dict[str, object] = {**VALID, "return_url": f"{server.url}/shop/return"}
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not REMOVE}


REMOVE = object()


def count_payments(server: LiveServer) -> int:
    return int(query(server.settings.db_url, "SELECT count(*) FROM payments")[0][0])


def test_created_payment_has_the_documented_shape(api: httpx.Client, server: LiveServer) -> None:
    created = new_payment(api, server.url, reference="order-42", metadata={"cart": "7"},
                          customer={"reference": "cust-1"})
    assert created["status"] == "pending"
    assert created["amount"] == 150_00 and created["currency"] == "RUB"
    assert created["reference"] == "order-42" and created["metadata"] == {"cart": "7"}
    assert created["captured_amount"] == 0 and created["refunded_amount"] == 0
    assert created["checkout_url"].startswith(f"{server.url}/c/")
    assert created["id"] not in created["checkout_url"]  # the token is signed, not the id
    assert datetime.fromisoformat(created["expires_at"]) > datetime.now(UTC)
    fetched = api.get(f"/api/v1/payments/{created['id']}")
    assert fetched.status_code == 200 and fetched.json() == created


@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer wrong-key", "Basic c2tfdGVzdF9kZW1v",
                                  "sk_test_demo"])
def test_requests_without_a_valid_key_are_401(server: LiveServer, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    resp = httpx.post(f"{server.url}/api/v1/payments", json=body(server), headers=headers)
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert count_payments(server) == 0


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": "100"}, "amount"),
    ({"amount": 100.5}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": 0}, "amount"),
    ({"amount": -100}, "amount"),
    ({"amount": 99}, "amount"),
    ({"amount": 700_000_01}, "amount"),
    ({"amount": 10**30}, "amount"),
    ({"amount": REMOVE}, "amount"),
    ({"currency": "USD"}, "currency"),
    ({"currency": "rub"}, "currency"),
    ({"currency": None}, "currency"),
    ({"description": ""}, "description"),
    ({"description": "x" * 129}, "description"),
    ({"description": 5}, "description"),
    ({"return_url": REMOVE}, "return_url"),
    ({"return_url": "javascript:alert(1)"}, "return_url"),
    ({"return_url": "https://evil.example/steal"}, "return_url"),
    ({"return_url": "http://127.0.0.1.evil.example/"}, "return_url"),
    ({"return_url": "http://user:pw@127.0.0.1:9/"}, "return_url"),
    ({"return_url": "http://127.0.0.1:8000/\r\nSet-Cookie: x=1"}, "return_url"),
    ({"return_url": "ftp://127.0.0.1/"}, "return_url"),
    ({"capture": "yes"}, "capture"),
    ({"customer": {"reference": 5}}, "customer"),
    ({"customer": "cust"}, "customer"),
    ({"metadata": {"nested": {"a": "b"}}}, "metadata"),
    ({"metadata": {"n": 5}}, "metadata"),
    ({"metadata": ["a"]}, "metadata"),
    ({"reference": ""}, "reference"),
    ({"surprise": 1}, "surprise"),
    ({"description": "nul\u0000here"}, "description"),
    ({"metadata": {"k\u0000": "v"}}, "metadata"),
])
def test_invalid_payment_requests_are_422_with_the_field_named_and_store_nothing(
        api: httpx.Client, server: LiveServer, changes: dict[str, object], field: str) -> None:
    resp = api.post("/api/v1/payments", json=body(server, **changes))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["status"] == 422
    assert field in {e["field"] for e in problem["errors"]}
    assert count_payments(server) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b"", b"null"])
def test_malformed_bodies_are_400_problems(api: httpx.Client, server: LiveServer,
                                           raw: bytes) -> None:
    resp = api.post("/api/v1/payments", content=raw,
                    headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert count_payments(server) == 0


def test_oversized_bodies_are_413_and_store_nothing(api: httpx.Client,
                                                    server: LiveServer) -> None:
    huge = body(server, metadata={"k": "v" * 500}, description="x" * 100)
    raw = json.dumps({**huge, "pad": "x" * 200_000}).encode()
    resp = api.post("/api/v1/payments", content=raw,
                    headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    # Streamed without a Content-Length, the cap still holds.
    resp = api.post("/api/v1/payments", content=iter([raw[:40_000], raw[40_000:]]),
                    headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert count_payments(server) == 0


def test_same_idempotency_key_and_body_returns_the_same_payment(
        api: httpx.Client, server: LiveServer) -> None:
    headers = {"Idempotency-Key": "order-42-try"}
    first = api.post("/api/v1/payments", json=body(server), headers=headers)
    again = api.post("/api/v1/payments", json=dict(reversed(body(server).items())),
                     headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert count_payments(server) == 1


def test_same_idempotency_key_with_another_body_is_422(api: httpx.Client,
                                                       server: LiveServer) -> None:
    headers = {"Idempotency-Key": "k1"}
    assert api.post("/api/v1/payments", json=body(server), headers=headers).status_code == 201
    other = api.post("/api/v1/payments", json=body(server, amount=200_00), headers=headers)
    assert other.status_code == 422
    assert "idempotency" in other.json()["type"]
    assert count_payments(server) == 1


def test_concurrent_requests_with_one_key_make_one_payment(api: httpx.Client,
                                                           server: LiveServer) -> None:
    def send(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/api/v1/payments", json=body(server),
                          headers={**api.headers, "Idempotency-Key": "race"}, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {r.status_code for r in answers} <= {201, 409}
    ids = {r.json()["id"] for r in answers if r.status_code == 201}
    assert len(ids) == 1
    assert count_payments(server) == 1


def test_another_merchants_payment_is_404(api: httpx.Client, server: LiveServer) -> None:
    created = new_payment(api, server.url)
    other = add_merchant(server.settings.db_url, "mer_other", "sk_test_other")
    resp = httpx.get(f"{server.url}/api/v1/payments/{created['id']}", headers=other)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert api.get("/api/v1/payments/pay_doesnotexist").status_code == 404


def test_nul_in_urls_and_keys_is_400_not_a_crash(api: httpx.Client, server: LiveServer) -> None:
    assert api.get("/api/v1/payments/pay%00x").status_code == 400
    assert api.get("/api/v1/payments", params={"reference": "a\x00"}).status_code == 400
    for key in ("café".encode(), b"tab\there"):
        resp = api.post("/api/v1/payments", json=body(server), headers={"Idempotency-Key": key})
        assert resp.status_code == 400
    assert count_payments(server) == 0


def test_openapi_document_is_served(server: LiveServer) -> None:
    spec = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/payments" in spec["paths"]
