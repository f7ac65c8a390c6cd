"""Holds, captures, cancels and refunds: the merchant's side of a payment's life."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.buyer import (
    checkout_with_link,
    clients,
    decide,
    new_payment,
    open_page,
    path_of,
    query,
    start,
    state_of,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.server import LiveServer


def paid(server: LiveServer, api: httpx.Client, buyer: httpx.Client) -> dict[str, Any]:
    payment, link = checkout_with_link(api, buyer, server.url)
    decide(buyer, link, approve=True)
    return wait_for_status(api, payment["id"], "succeeded")


def held(server: LiveServer, api: httpx.Client, buyer: httpx.Client) -> dict[str, Any]:
    payment = new_payment(api, server.url, capture=False)
    start(buyer, payment["checkout_url"])
    decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
    return wait_for_status(api, payment["id"], "waiting_for_capture")


def event_types(api: httpx.Client, payment_id: str) -> list[str]:
    data = api.get("/api/v1/events", params={"payment_id": payment_id, "limit": 100}).json()
    return [e["type"] for e in reversed(data["data"])]


def test_hold_then_partial_capture_then_refunds_down_to_zero(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = held(server, api, buyer)
        assert payment["captured_amount"] == 0
        assert state_of(open_page(buyer, payment["checkout_url"])) == "waiting_capture"
        over = api.post(f"/api/v1/payments/{payment['id']}/capture",
                        json={"amount": payment["amount"] + 1})
        assert over.status_code == 422
        captured = api.post(f"/api/v1/payments/{payment['id']}/capture", json={"amount": 100_00})
        assert captured.status_code == 200, captured.text
        assert captured.json()["status"] == "succeeded"
        assert captured.json()["captured_amount"] == 100_00

        first = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 30_00})
        assert first.status_code == 201, first.text
        assert first.json()["amount"] == 30_00 and first.json()["payment_id"] == payment["id"]
        rest = api.post(f"/api/v1/payments/{payment['id']}/refunds")
        assert rest.status_code == 201 and rest.json()["amount"] == 70_00
        assert api.post(f"/api/v1/payments/{payment['id']}/refunds").status_code == 409

        def all_refunded() -> dict[str, Any] | None:
            doc = api.get(f"/api/v1/payments/{payment['id']}").json()
            return doc if doc["refunded_amount"] == 100_00 else None
        wait_for(all_refunded, what="both refunds to succeed")
        listed = api.get(f"/api/v1/payments/{payment['id']}/refunds").json()["data"]
        assert sorted(r["amount"] for r in listed) == [30_00, 70_00]
        assert {r["status"] for r in listed} == {"succeeded"}
        wait_for(lambda: event_types(api, payment["id"]).count("refund.succeeded") == 2,
                 what="the refund events")
        assert event_types(api, payment["id"])[:2] == ["payment.waiting_for_capture",
                                                       "payment.succeeded"]


def test_cancel_releases_a_hold(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = held(server, api, buyer)
        canceled = api.post(f"/api/v1/payments/{payment['id']}/cancel")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "canceled"
        assert canceled.json()["captured_amount"] == 0
        late = api.post(f"/api/v1/payments/{payment['id']}/capture")
        assert late.status_code == 409
        assert "payment.canceled" in wait_for(lambda: event_types(api, payment["id"]),
                                              what="events")


def test_cancel_of_an_unpaid_payment_stops_the_buyer(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment, link = checkout_with_link(api, buyer, server.url)
        canceled = api.post(f"/api/v1/payments/{payment['id']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        decide(buyer, link, approve=True)  # the T-Bank app no longer takes it
        assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "canceled"
        assert state_of(open_page(buyer, payment["checkout_url"])) == "payment_canceled"
        untouched = new_payment(api, server.url)  # no attempt yet: canceled at once
        assert api.post(f"/api/v1/payments/{untouched['id']}/cancel").json()["status"] == \
            "canceled"


def test_a_succeeded_payment_cannot_be_canceled_only_refunded(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = paid(server, api, buyer)
        resp = api.post(f"/api/v1/payments/{payment['id']}/cancel")
        assert resp.status_code == 409 and "refund" in resp.json()["detail"]


def test_a_hold_left_too_long_is_released(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(hold_seconds=1)
    with clients(server) as (api, buyer):
        payment = held(server, api, buyer)
        done = wait_for_status(api, payment["id"], "canceled", timeout=20)
        assert done["last_error"] == {"code": "hold_expired"}  # not the shop's doing


@pytest.mark.parametrize(("path", "body"), [
    ("refunds", {"amount": 0}), ("refunds", {"amount": "5"}), ("refunds", {"amount": 10**12}),
    ("refunds", {"why": "x"}), ("capture", {"amount": -1}), ("cancel", {"amount": 1}),
])
def test_bad_operation_bodies_are_422(server: LiveServer, path: str, body: dict) -> None:
    with clients(server) as (api, buyer):
        payment = paid(server, api, buyer)
        resp = api.post(f"/api/v1/payments/{payment['id']}/{path}", json=body)
        # The body is judged first: a bad one is 422, whatever the payment's state.
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert api.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 0


def test_concurrent_refunds_never_exceed_the_captured_amount(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = paid(server, api, buyer)  # 150.00

        def refund(_: int) -> int:
            return httpx.post(f"{server.url}/api/v1/payments/{payment['id']}/refunds",
                              json={"amount": 40_00}, headers=dict(api.headers),
                              timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(refund, range(8)))
        assert codes.count(201) == 3, codes  # 3 × 40 ≤ 150 < 4 × 40
        assert set(codes) <= {201, 409, 422}
        wait_for(lambda: api.get(f"/api/v1/payments/{payment['id']}").json()
                 ["refunded_amount"] == 120_00, what="the refunds to land")
        total = query(server.settings.db_url,
                      "SELECT sum(amount) FROM refunds WHERE payment_id = :p", p=payment["id"])
        assert total[0][0] == 120_00


def test_a_declined_refund_is_told_and_frees_the_amount(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = paid(server, api, buyer)
        server.app.state.sandbox.emulators["bank131"].decline_refunds = True
        api.post(f"/api/v1/payments/{payment['id']}/refunds")
        wait_for(lambda: "refund.failed" in event_types(api, payment["id"]),
                 what="refund.failed")
        assert api.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 0
        server.app.state.sandbox.emulators["bank131"].decline_refunds = False
        again = api.post(f"/api/v1/payments/{payment['id']}/refunds")
        assert again.status_code == 201 and again.json()["amount"] == payment["amount"]


def test_operation_posts_honour_idempotency_keys(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = paid(server, api, buyer)
        url = f"/api/v1/payments/{payment['id']}/refunds"
        key = {"Idempotency-Key": "refund-1"}
        first = api.post(url, json={"amount": 10_00}, headers=key)
        again = api.post(url, json={"amount": 10_00}, headers=key)
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        other = api.post(url, json={"amount": 20_00}, headers=key)
        assert other.status_code == 422
        elsewhere = api.post(f"/api/v1/payments/{payment['id']}/cancel", headers=key)
        assert elsewhere.status_code == 422  # one key, one request
        assert len(api.get(url).json()["data"]) == 1


def test_payments_are_listed_newest_first_with_a_cursor_and_filters(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        made = [new_payment(api, server.url, reference=f"r{i}") for i in range(5)]
        page = api.get("/api/v1/payments", params={"limit": 2}).json()
        assert [p["id"] for p in page["data"]] == [made[4]["id"], made[3]["id"]]
        assert page["has_more"] is True
        rest = api.get("/api/v1/payments", params={"limit": 10,
                                                   "starting_after": made[3]["id"]}).json()
        assert [p["id"] for p in rest["data"]] == [m["id"] for m in reversed(made[:3])]
        assert rest["has_more"] is False
        by_ref = api.get("/api/v1/payments", params={"reference": "r1"}).json()["data"]
        assert [p["id"] for p in by_ref] == [made[1]["id"]]
        assert api.get("/api/v1/payments", params={"status": "succeeded"}).json()["data"] == []
        since = made[2]["created_at"]
        newer = api.get("/api/v1/payments", params={"created_gte": since}).json()["data"]
        assert {p["id"] for p in newer} == {m["id"] for m in made[2:]}
        for bad in ({"limit": 0}, {"status": "paid"}, {"created_lt": "yesterday"},
                    {"starting_after": "pay_nope"}):
            assert api.get("/api/v1/payments", params=bad).status_code == 422


def test_without_delayed_capture_at_the_acquirer_payments_still_succeed(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(sandbox_delayed_capture=False)
    with clients(server) as (api, buyer):
        payment = paid(server, api, buyer)
        assert payment["captured_amount"] == payment["amount"]


def test_a_canceled_payment_says_why_to_the_merchant_and_the_buyer(
        server: LiveServer, api: httpx.Client, browser_client: httpx.Client) -> None:
    payment = new_payment(api, server.url)
    canceled = api.post(f"/api/v1/payments/{payment['id']}/cancel").json()
    assert canceled["status"] == "canceled"
    assert canceled["last_error"] == {"code": "canceled_by_merchant"}
    page = browser_client.get(path_of(payment["checkout_url"]) + "?lang=en").text
    assert 'data-reason="canceled_by_merchant"' in page
    assert "The shop canceled this payment." in page
    events = api.get("/api/v1/events").json()["data"]
    told = [e for e in events if e["type"] == "payment.canceled"]
    assert told and told[0]["data"]["object"]["last_error"] == {"code": "canceled_by_merchant"}


def forget_answers(server: LiveServer) -> None:
    """As if each first answer was lost: the process died before it was kept, or it was a
    5xx (those are not kept, so the merchant may retry)."""
    from tests.buyer import execute
    execute(server.settings.db_url, "DELETE FROM idempotency_keys")


def test_a_retried_refund_whose_answer_was_lost_is_the_same_refund(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = paid(server, api, buyer)
        key = {"Idempotency-Key": "refund-order-42"}
        first = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 4000},
                         headers=key)
        assert first.status_code == 201, first.text
        forget_answers(server)
        again = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 4000},
                         headers=key)
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
        assert len(api.get(f"/api/v1/payments/{payment['id']}/refunds").json()["data"]) == 1
        wait_for(lambda: api.get(f"/api/v1/payments/{payment['id']}").json()
                 ["refunded_amount"] == 4000, what="the refund to succeed")
        # a new key is a new refund, as asked
        other = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": 1000},
                         headers={"Idempotency-Key": "refund-order-42-b"})
        assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_a_retried_capture_or_cancel_whose_answer_was_lost_says_it_is_done(
        server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = held(server, api, buyer)
        path = f"/api/v1/payments/{payment['id']}"
        key = {"Idempotency-Key": "capture-42"}
        assert api.post(f"{path}/capture", json={"amount": 9000}, headers=key).status_code == 200
        forget_answers(server)
        again = api.post(f"{path}/capture", json={"amount": 9000}, headers=key)
        assert again.status_code == 200 and again.json()["captured_amount"] == 9000
        # not another amount, and not without a key: that is a second capture, refused
        assert api.post(f"{path}/capture", json={"amount": 8000},
                        headers={"Idempotency-Key": "capture-42-b"}).status_code == 409
        assert api.post(f"{path}/capture", json={"amount": 9000}).status_code == 409

        hold = held(server, api, buyer)
        key = {"Idempotency-Key": "cancel-43"}
        assert api.post(f"/api/v1/payments/{hold['id']}/cancel", headers=key).status_code == 200
        forget_answers(server)
        again = api.post(f"/api/v1/payments/{hold['id']}/cancel", headers=key)
        assert again.status_code == 200 and again.json()["status"] == "canceled"
        assert api.post(f"/api/v1/payments/{hold['id']}/cancel").status_code == 409
