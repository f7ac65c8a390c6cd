"""`/api/v1/webhook_endpoints`: an integration manages its own endpoints. The secret is shown
once (and to a retry under the same key), kept sealed, and a rotation lets both secrets sign
for the overlap, so a receiver holding either one verifies every webhook."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.buyer import FAST_RETRIES, add_merchant, clients, pay, query, wait_for
from tests.receiver import Receipt, Receiver
from tests.server import LiveServer

ENDPOINTS = "/api/v1/webhook_endpoints"


def verifies(secret: str, receipt: Receipt) -> bool:
    try:
        Webhook(secret).verify(receipt.body, receipt.headers)
    except WebhookVerificationError:
        return False
    return True


def create(api: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    resp = api.post(ENDPOINTS, json={"url": url, **fields})
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def send_test_event(api: httpx.Client, endpoint_id: str) -> dict[str, Any]:
    resp = api.post(f"{ENDPOINTS}/{endpoint_id}/test")
    assert resp.status_code == 202, resp.text
    return dict(resp.json())




def test_an_endpoint_made_over_the_api_gets_signed_webhooks_and_its_secret_stays_hidden(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    with Receiver("") as receiver, clients(server) as (api, _):
        made = create(api, receiver.url)
        secret = made["secret"]
        assert secret.startswith("whsec_") and made["enabled"] is True
        receiver.secret = secret
        # Shown in that answer only: not when read, not when listed, not in our database.
        got = api.get(f"{ENDPOINTS}/{made['id']}").json()
        assert "secret" not in got and got["url"] == receiver.url
        listed = api.get(ENDPOINTS).json()
        assert made["id"] in [e["id"] for e in listed["data"]]
        assert secret not in json.dumps(listed)
        stored = query(server.settings.db_url,
                       "SELECT secret FROM webhook_endpoints WHERE id = :e", e=made["id"])
        assert stored[0][0].startswith("fernet:") and secret not in stored[0][0]

        payment = pay(server)
        receipt = wait_for(lambda: next((r for r in receiver.receipts if r.verified), None),
                           what="the payment's webhook")
        assert receipt.verified is not None
        assert receipt.verified["data"]["object"]["id"] == payment["id"]

        event = send_test_event(api, made["id"])
        assert event["type"] == "webhook.test" and event["payment_id"] is None
        assert [d["endpoint_url"] for d in event["deliveries"]] == [receiver.url]
        wait_for(lambda: any(r.verified and r.verified["id"] == event["id"]
                             for r in receiver.receipts), what="the test event")
        # Only to that endpoint: the demo shop's endpoint got no test event.
        sent = query(server.settings.db_url,
                     "SELECT endpoint_id FROM deliveries WHERE event_id = :e", e=event["id"])
        assert [r[0] for r in sent] == [made["id"]]


def test_during_a_rotations_overlap_both_secrets_sign_then_only_the_new_one(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    with Receiver("") as receiver, clients(server) as (api, _):
        made = create(api, receiver.url)
        old = made["secret"]
        resp = api.post(f"{ENDPOINTS}/{made['id']}/rotate_secret", json={"overlap_seconds": 600})
        assert resp.status_code == 200, resp.text
        new = resp.json()["secret"]
        assert new != old and resp.json()["previous_secret_expires_at"]
        event = send_test_event(api, made["id"])
        receipt = wait_for(lambda: next((r for r in receiver.receipts
                                         if event["id"].encode() in r.body), None),
                           what="the test event")
        assert len(receipt.headers["webhook-signature"].split(" ")) == 2
        assert verifies(old, receipt) and verifies(new, receipt)  # either receiver is fine

        resp = api.post(f"{ENDPOINTS}/{made['id']}/rotate_secret", json={"overlap_seconds": 0})
        newest = resp.json()["secret"]
        assert resp.json()["previous_secret_expires_at"] is None
        event = send_test_event(api, made["id"])
        receipt = wait_for(lambda: next((r for r in receiver.receipts
                                         if event["id"].encode() in r.body), None),
                           what="the second test event")
        assert verifies(newest, receipt)
        assert not verifies(new, receipt) and not verifies(old, receipt)


def test_a_disabled_endpoint_gets_nothing_new_until_enabled_and_a_deleted_one_is_gone(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    with Receiver("") as receiver, clients(server) as (api, _):
        made = create(api, receiver.url, enabled=False)
        assert made["enabled"] is False and made["disabled_reason"] == "disabled by the merchant"
        refused = api.post(f"{ENDPOINTS}/{made['id']}/test")
        assert refused.status_code == 409
        pay(server)
        assert receiver.receipts == []
        resp = api.patch(f"{ENDPOINTS}/{made['id']}", json={"enabled": True})
        assert resp.status_code == 200 and resp.json()["enabled"] is True
        send_test_event(api, made["id"])
        wait_for(lambda: receiver.receipts, what="a webhook once enabled")

        moved = api.patch(f"{ENDPOINTS}/{made['id']}", json={"url": receiver.url + "?v=2"})
        assert moved.status_code == 200 and moved.json()["url"].endswith("?v=2")
        receiver.down = True  # one delivery stays queued to it, retrying
        send_test_event(api, made["id"])
        wait_for(lambda: query(server.settings.db_url, "SELECT count(*) FROM deliveries "
                               "WHERE endpoint_id = :e AND status = 'pending' AND attempts > 0",
                               e=made["id"])[0][0] or None, what="a failing delivery")
        assert api.delete(f"{ENDPOINTS}/{made['id']}").status_code == 204
        # What was queued to it ends, given up: never sent again, deleted in time.
        assert query(server.settings.db_url, "SELECT status, last_error FROM deliveries "
                     "WHERE endpoint_id = :e AND status != 'succeeded'", e=made["id"]) == [
            ("failed", "the endpoint was deleted")]
        assert api.get(f"{ENDPOINTS}/{made['id']}").status_code == 404
        assert api.delete(f"{ENDPOINTS}/{made['id']}").status_code == 404
        assert made["id"] not in [e["id"] for e in api.get(ENDPOINTS).json()["data"]]


def test_bad_endpoint_requests_are_refused_per_field_and_change_nothing(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(webhook_endpoints_max=2)  # the demo shop's endpoint is one
    with clients(server) as (api, _):
        before = api.get(ENDPOINTS).json()["data"]
        for body, field in (({"url": "ftp://x/"}, "url"), ({"url": "not a url"}, "url"),
                            ({"url": ""}, "url"), ({}, "url"), ({"url": 7}, "url"),
                            ({"url": "https://a.example/", "colour": "red"}, "colour"),
                            ({"url": "https://a.example/", "enabled": "yes"}, "enabled")):
            resp = api.post(ENDPOINTS, json=body)
            assert resp.status_code == 422, (body, resp.text)
            assert field in [e["field"] for e in resp.json()["errors"]], (body, resp.text)
        assert api.post(ENDPOINTS, content=b"{", headers={"content-type": "application/json"}
                        ).status_code == 400
        assert api.get(ENDPOINTS).json()["data"] == before

        made = create(api, "https://a.example/hook")
        full = api.post(ENDPOINTS, json={"url": "https://b.example/hook"})
        assert full.status_code == 409 and "2 endpoints" in full.json()["detail"]
        too_long = api.post(f"{ENDPOINTS}/{made['id']}/rotate_secret",
                            json={"overlap_seconds": 10**9})
        assert too_long.status_code == 422
        assert api.patch(f"{ENDPOINTS}/{made['id']}", json={"url": "gopher://x"}
                         ).status_code == 422
        assert api.get(f"{ENDPOINTS}/{made['id']}").json() == {
            k: v for k, v in made.items() if k != "secret"}


def test_a_retried_create_gets_the_same_endpoint_and_secret_which_is_kept_sealed(
        server: LiveServer) -> None:
    with clients(server) as (api, _):
        headers = {"Idempotency-Key": "make-hook-1"}
        first = api.post(ENDPOINTS, json={"url": "https://a.example/hook"}, headers=headers)
        again = api.post(ENDPOINTS, json={"url": "https://a.example/hook"}, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert len(api.get(ENDPOINTS).json()["data"]) == 2  # the demo shop's and this one
        kept = query(server.settings.db_url,
                     "SELECT response_body FROM idempotency_keys WHERE key = :k",
                     k="make-hook-1")
        assert first.json()["secret"] not in kept[0][0]


def test_another_merchants_endpoints_are_not_found(server: LiveServer) -> None:
    other = add_merchant(server.settings.db_url, "mer_other", "sk_test_other")
    with clients(server) as (api, _):
        made = create(api, "https://a.example/hook")
    with httpx.Client(base_url=server.url, headers=other, timeout=15) as stranger:
        assert stranger.get(ENDPOINTS).json()["data"] == []
        for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""),
                             ("POST", "/rotate_secret"), ("POST", "/test")):
            body = {"enabled": False} if method == "PATCH" else None
            resp = stranger.request(method, f"{ENDPOINTS}/{made['id']}{path}", json=body)
            assert resp.status_code == 404, (method, path, resp.text)
    with clients(server) as (api, _):
        assert api.get(f"{ENDPOINTS}/{made['id']}").json()["enabled"] is True
