"""YooKassa as its API reference has it: refunds that stay pending a while, and lists that
come in pages."""

from __future__ import annotations

from typing import Any

import httpx

from tests.buyer import add_merchant, decide, start, wait_for, wait_for_link, wait_for_status
from tests.server import LiveServer


def test_a_payment_with_more_refunds_than_one_page_settles_them_all(server: LiveServer) -> None:
    headers = add_merchant(server.settings.db_url, "mer_yoo_pages", "sk_test_yoo_pages",
                           return_origins='["http://127.0.0.1:*"]', acquirer="yookassa")
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as api, \
            httpx.Client(base_url=server.url, timeout=20) as buyer:
        payment = api.post("/api/v1/payments", json={
            "amount": 150_00, "currency": "RUB", "description": "Order 7",
            "return_url": f"{server.url}/shop/return"}).json()
        start(buyer, payment["checkout_url"])
        decide(buyer, wait_for_link(buyer, payment["checkout_url"]), True)
        wait_for_status(api, payment["id"], "succeeded")
        first = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 1_00})
        assert first.json()["status"] == "pending"  # YooKassa's refund is pending at first
        for _ in range(11):  # twelve in all: more than YooKassa's default page of ten
            resp = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 1_00})
            assert resp.status_code == 201, resp.text

        def settled() -> list[dict[str, Any]] | None:
            listed = api.get(f"/api/v1/payments/{payment['id']}/refunds").json()["data"]
            return listed if all(r["status"] == "succeeded" for r in listed) else None
        listed = wait_for(settled, timeout=30, what="all twelve refunds to succeed")
        assert len(listed) == 12
        assert api.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 12_00


def test_the_emulator_refuses_what_tinkoff_bank_does_not_take(server: LiveServer) -> None:
    # yookassa.ru/developers/payment-acceptance/integration-scenarios/manual-integration/
    # other/tinkoff-bank: "any other parameter in the request except for payment_method_id,
    # payment_token, airline".
    body = {"amount": {"value": "2.00", "currency": "RUB"},
            "payment_method_data": {"type": "tinkoff_bank"},
            "confirmation": {"type": "redirect", "return_url": "https://www.example.com/r"}}
    auth = ("100500", "test_sandbox_secret_key")
    with httpx.Client(base_url=f"{server.url}/sandbox/yookassa/v3", auth=auth) as yoo:
        ok = yoo.post("/payments", json=body, headers={"Idempotence-Key": "k-ok"})
        assert ok.status_code == 200 and ok.json()["status"] == "pending"
        for i, extra in enumerate(({"payment_token": "pt-28cd3959-0000-500c-a000-03b4de9b24a7"},
                                   {"airline": {"booking_reference": "IIIKRV"}},
                                   {"payment_method_id": ok.json()["id"]})):
            resp = yoo.post("/payments", json={**body, **extra},
                            headers={"Idempotence-Key": f"k-{i}"})
            assert resp.status_code == 400, extra
            error = resp.json()
            assert error["type"] == "error" and error["code"] == "invalid_request"
            assert error["parameter"] == next(iter(extra))
