"""TBC's TPay API as its documentation has it, spoken to the emulator directly, and what our
driver sends it."""

from __future__ import annotations

import json
import sqlite3

import httpx

from tests.buyer import add_merchant, start, wait_for_link
from tests.server import LiveServer

API = "/sandbox/tbc/v1/tpay"
KEY = {"apikey": "sandbox-apikey"}


def _token(client: httpx.Client) -> dict[str, str]:
    resp = client.post(f"{API}/access-token", headers=KEY, data={
        "client_id": "sandbox-client", "client_secret": "sandbox-client-secret"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["token_type"] == "Bearer"  # noqa: S105 - a word, not a secret
    return {**KEY, "Authorization": f"Bearer {resp.json()['access_token']}"}


def _create(client: httpx.Client, headers: dict[str, str], **fields: object) -> httpx.Response:
    return client.post(f"{API}/payments", headers=headers, json={
        "amount": {"currency": "GEL", "total": 10, "subTotal": 10, "tax": 0, "shipping": 0},
        "returnurl": "https://shop.example/return", **fields})


def test_points_and_installments_are_gel_only(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        headers = _token(client)
        usd = {"currency": "USD", "total": 10, "subTotal": 10, "tax": 0, "shipping": 0}
        for method in (6, 8):  # Ertguli points, installments
            refused = _create(client, headers, amount=usd, methods=[method])
            assert refused.status_code == 400, method
            assert refused.headers["content-type"] == "application/problem+json"
            assert {"type", "title", "status", "detail"} <= refused.json().keys()
            assert _create(client, headers, methods=[method]).status_code == 200
        for method in (5, 7):
            assert _create(client, headers, amount=usd, methods=[method]).status_code == 200


def test_the_driver_asks_for_tbcs_recommended_twelve_minutes(server: LiveServer) -> None:
    headers = add_merchant(server.settings.db_url, "mer_tbc_12", "sk_test_tbc_12",
                           return_origins='["http://127.0.0.1:*"]', acquirer="tbc")
    with httpx.Client(base_url=server.url, headers=headers) as api, \
            httpx.Client(base_url=server.url) as buyer:
        payment = api.post("/api/v1/payments", json={
            "amount": 5_00, "currency": "GEL", "description": "tea",
            "return_url": f"{server.url}/shop/return"}).json()
        start(buyer, payment["checkout_url"])
        wait_for_link(buyer, payment["checkout_url"])
    with sqlite3.connect(server.settings.data_dir / "sandbox" / "tbc.db") as db:
        minutes = {json.loads(doc)["expirationMinutes"] for (doc,) in
                   db.execute("SELECT doc FROM docs WHERE kind = 'payment'")}
    assert minutes == {12}


def test_only_tbcs_documented_methods_are_taken(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        headers = _token(client)
        for method in (4, 5, 6, 7, 8, 9):
            assert _create(client, headers, methods=[method]).status_code == 200, method
        for wrong in ([3], [10], [True], ["5"]):
            assert _create(client, headers, methods=wrong).status_code == 400, wrong
