"""Saved T-Pay methods: save on a first payment, charge later with or without the buyer."""

from __future__ import annotations

import httpx

from tests.buyer import (
    add_merchant,
    clients,
    decide,
    new_payment,
    saved_method,
    start,
    wait_for_link,
    wait_for_status,
)
from tests.server import LiveServer


def test_a_merchant_charges_a_saved_method_without_the_buyer(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        method_id = saved_method(server, api, buyer)
        charge = api.post("/api/v1/payments", json={
            "amount": 99_00, "currency": "RUB", "description": "monthly",
            "payment_method_id": method_id, "initiator": "merchant"})
        assert charge.status_code == 201, charge.text
        assert charge.json()["checkout_url"] is None
        done = wait_for_status(api, charge.json()["id"], "succeeded")
        assert done["captured_amount"] == 99_00 and done["initiator"] == "merchant"


def test_a_client_initiated_charge_is_a_checkout_the_buyer_confirms(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        method_id = saved_method(server, api, buyer)
        charge = new_payment(api, server.url, payment_method_id=method_id, initiator="client")
        assert charge["checkout_url"]
        start(buyer, charge["checkout_url"])
        decide(buyer, wait_for_link(buyer, charge["checkout_url"]), approve=True)
        wait_for_status(api, charge["id"], "succeeded")


def test_a_disabled_or_foreign_method_cannot_be_charged(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        method_id = saved_method(server, api, buyer)
        other = add_merchant(server.settings.db_url, "mer_other", "sk_test_other",
                             return_origins='["http://127.0.0.1:*"]')
        body = {"amount": 99_00, "currency": "RUB", "description": "x",
                "payment_method_id": method_id, "initiator": "merchant"}
        foreign = httpx.post(f"{server.url}/api/v1/payments", json=body, headers=other)
        assert foreign.status_code == 422
        assert httpx.delete(f"{server.url}/api/v1/payment_methods/{method_id}",
                            headers=other).status_code == 404
        deleted = api.delete(f"/api/v1/payment_methods/{method_id}")
        assert deleted.status_code == 200 and deleted.json()["saved"] is False
        assert api.post("/api/v1/payments", json=body).status_code == 422
        assert api.get(f"/api/v1/payment_methods/{method_id}").json()["saved"] is False


def test_recurring_fields_are_validated(server: LiveServer) -> None:
    with clients(server) as (api, _):
        base = {"amount": 99_00, "currency": "RUB", "description": "x",
                "return_url": f"{server.url}/shop/return"}
        for extra, field in (({"payment_method_id": "pm_x"}, "initiator"),
                             ({"initiator": "merchant"}, "initiator"),
                             ({"save_payment_method": "yes"}, "save_payment_method"),
                             ({"payment_method_id": "pm_x", "initiator": "robot"},
                              "initiator")):
            resp = api.post("/api/v1/payments", json={**base, **extra})
            assert resp.status_code == 422
            assert field in {e["field"] for e in resp.json()["errors"]}
