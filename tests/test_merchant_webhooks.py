"""Merchant webhooks: signed per Standard Webhooks, at least once, same id, with history."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from checkout.notify.signing import new_secret
from tests.buyer import (
    FAST_RETRIES,
    add_merchant,
    clients,
    execute,
    new_payment,
    path_of,
    pay,
    query,
    wait_for,
    wait_for_status,
)
from tests.receiver import Receiver
from tests.server import LiveServer


def add_endpoint(server: LiveServer, url: str, secret: str, endpoint_id: str = "we_test"
                 ) -> None:
    execute(server.settings.db_url,
            "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at) "
            "VALUES (:id, 'mer_demo', :url, :secret, :now)",
            id=endpoint_id, url=url, secret=secret, now=datetime.now(UTC).replace(tzinfo=None))


def test_a_succeeded_payment_is_told_once_signed_per_standard_webhooks(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    secret = new_secret()
    with Receiver(secret) as receiver:
        add_endpoint(server, receiver.url, secret)
        payment = pay(server)
        wait_for(lambda: receiver.receipts, what="the webhook")
        receipt = receiver.receipts[0]
        assert receipt.verified is not None  # the standardwebhooks package accepts it
        event = receipt.verified
        assert event["type"] == "payment.succeeded"
        assert receipt.headers["webhook-id"] == event["id"]
        assert event["data"]["object"]["id"] == payment["id"]
        assert event["data"]["object"]["status"] == "succeeded"
        assert set(event) == {"id", "type", "created_at", "sequence", "data"}
        assert wrong_secret_fails(receipt)
    assert len(receiver.receipts) == 1


def wrong_secret_fails(receipt: Any) -> bool:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    try:
        Webhook(new_secret()).verify(receipt.body, receipt.headers)
    except WebhookVerificationError:
        return True
    return False


def test_failures_are_retried_with_the_same_id_until_delivered(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    secret = new_secret()
    with Receiver(secret, script=[500, 503]) as receiver:
        add_endpoint(server, receiver.url, secret)
        pay(server)
        wait_for(lambda: len(receiver.receipts) >= 3, what="three attempts")
        ids = {r.headers["webhook-id"] for r in receiver.receipts}
        assert len(ids) == 1 and all(r.verified for r in receiver.receipts)
        ours = "SELECT status, attempts FROM deliveries WHERE endpoint_id = 'we_test'"
        wait_for(lambda: query(server.settings.db_url, ours)[0][0] == "succeeded",
                 what="the delivery to be marked")
        rows = query(server.settings.db_url, ours)
        assert [tuple(r) for r in rows] == [("succeeded", 3)]
        assert query(server.settings.db_url,
                     "SELECT failing_since FROM webhook_endpoints WHERE id='we_test'")[0][0] \
            is None


def test_410_gone_disables_the_endpoint(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    secret = new_secret()
    with Receiver(secret, script=[410]) as receiver:
        add_endpoint(server, receiver.url, secret)
        pay(server)
        wait_for(lambda: query(server.settings.db_url,
                               "SELECT disabled_at FROM webhook_endpoints WHERE id='we_test'"
                               )[0][0] is not None, what="the endpoint to be disabled")
        pay(server)
        assert len(receiver.receipts) == 1  # nothing more was sent there


def test_the_merchant_sees_history_pages_through_events_and_resends(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    secret = new_secret()
    with Receiver(secret) as receiver:
        add_endpoint(server, receiver.url, secret)
        first, second = pay(server), pay(server)
        wait_for(lambda: len(receiver.receipts) == 2, what="two webhooks")
        with clients(server) as (api, _):
            page = api.get("/api/v1/events", params={"limit": 1}).json()
            assert page["has_more"] is True
            newest = page["data"][0]
            assert newest["payment_id"] == second["id"]
            assert any(d["endpoint_url"] == receiver.url and d["status"] == "succeeded"
                       for d in newest["deliveries"])
            rest = api.get("/api/v1/events", params={"limit": 10,
                                                     "starting_after": newest["id"]}).json()
            assert [e["payment_id"] for e in rest["data"]] == [first["id"]]
            assert rest["has_more"] is False
            only = api.get("/api/v1/events", params={"payment_id": first["id"]}).json()
            assert [e["id"] for e in only["data"]] == [rest["data"][0]["id"]]

            resent = api.post(f"/api/v1/events/{newest['id']}/resend")
            assert resent.status_code == 202
            wait_for(lambda: len(receiver.receipts) == 3, what="the resend")
            assert receiver.receipts[2].headers["webhook-id"] == newest["id"]
            assert receiver.receipts[2].body == receiver.receipts[1].body
            assert api.get("/api/v1/events/evt_nope").status_code == 404
            assert api.get("/api/v1/events", params={"limit": 0}).status_code == 422


def test_another_merchant_cannot_see_or_resend_our_events(server: LiveServer) -> None:
    pay(server)
    with clients(server) as (api, _):
        event_id = wait_for(lambda: api.get("/api/v1/events").json()["data"],
                            what="an event")[0]["id"]
    other = add_merchant(server.settings.db_url, "mer_other", "sk_test_other")
    assert httpx.get(f"{server.url}/api/v1/events/{event_id}", headers=other).status_code == 404
    assert httpx.post(f"{server.url}/api/v1/events/{event_id}/resend",
                      headers=other).status_code == 404
    assert httpx.get(f"{server.url}/api/v1/events", headers=other).json()["data"] == []


def test_an_expired_payment_is_told_too(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(payment_ttl_seconds=1, **FAST_RETRIES)
    secret = new_secret()
    with Receiver(secret) as receiver, clients(server) as (api, _):
        add_endpoint(server, receiver.url, secret)
        payment = new_payment(api, server.url)
        wait_for_status(api, payment["id"], "expired")
        wait_for(lambda: receiver.receipts, what="the webhook")
        assert receiver.receipts[0].verified["type"] == "payment.expired"  # type: ignore[index]


def test_the_demo_shop_verifies_the_webhooks_it_gets(server: LiveServer,
                                                     browser_client: httpx.Client) -> None:
    payment = pay(server)
    def shop_page() -> str | None:
        html = browser_client.get("/shop/return", params={"payment_id": payment["id"]}).text
        return html if 'data-event-type="payment.succeeded"' in html else None
    assert "signature verified" in wait_for(shop_page, what="the shop to get the webhook")
    forged = browser_client.post("/shop/webhooks", content=json.dumps({"id": "evt_x"}),
                                 headers={"webhook-id": "evt_x", "webhook-timestamp": "1",
                                          "webhook-signature": "v1,AAAA"})
    assert forged.status_code == 400


def test_checkout_url_in_events_is_the_buyers_link(server: LiveServer) -> None:
    payment = pay(server)
    with clients(server) as (api, _):
        events = wait_for(lambda: api.get("/api/v1/events").json()["data"], what="an event")
    assert events[0]["data"]["object"]["checkout_url"] == payment["checkout_url"]
    assert path_of(payment["checkout_url"]).startswith("/c/")
