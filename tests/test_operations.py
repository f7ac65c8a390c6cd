"""What an operator relies on: health and readiness probes, Prometheus metrics behind their
token, and the read-only admin view behind its own credentials."""

from __future__ import annotations

import re

import httpx
import pytest

from checkout.store.migrate import current_head
from tests.buyer import checkout_with_link, decide, execute, wait_for, wait_for_status
from tests.server import LiveServer

ADMIN = ("operator", "a-long-admin-password")
TOKEN = "metrics-token-for-tests"  # noqa: S105 - a test's
OPS = {"admin_user": ADMIN[0], "admin_password": ADMIN[1], "metrics_token": TOKEN}


def paid(server: LiveServer, api: httpx.Client) -> dict[str, object]:
    buyer = httpx.Client(base_url=server.url, timeout=15)
    payment, link = checkout_with_link(api, buyer, server.url)
    decide(buyer, link, approve=True)
    return wait_for_status(api, str(payment["id"]), "succeeded")


def test_readiness_follows_the_database_schema(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["schema"] == current_head()
    execute(server.settings.db_url, "UPDATE alembic_version SET version_num = '0001'")
    try:
        behind = httpx.get(f"{server.url}/readyz")
        assert behind.status_code == 503
        assert behind.json() == {"status": "unavailable", "schema": "0001",
                                 "expected": current_head()}
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # alive all the same
    finally:
        execute(server.settings.db_url, "UPDATE alembic_version SET version_num = :v",
                v=current_head())


@pytest.mark.server_settings(**OPS)
def test_metrics_count_requests_payments_deliveries_and_acquirer_calls(
        server: LiveServer, api: httpx.Client) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    assert httpx.get(f"{server.url}/metrics",
                     headers={"Authorization": "Bearer wrong"}).status_code == 401
    payment = paid(server, api)

    def scrape() -> str:
        resp = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/plain")
        return resp.text

    def delivered() -> str | None:
        text = scrape()
        return text if 'checkout_webhook_deliveries_total{outcome="delivered"}' in text else None
    text = wait_for(delivered, timeout=15, what="a delivery to be counted")
    assert re.search(r'checkout_http_requests_total\{method="POST",route="/api/v1/payments",'
                     r'status="201"\} 1\.0', text), text
    assert re.search(r'checkout_http_request_duration_seconds_count\{route="/c/\{token\}"\} '
                     r'[1-9]', text), text
    assert str(payment["id"]) not in text  # routes by template, never by concrete path
    assert re.search(r'checkout_acquirer_calls_total\{acquirer="bank131",outcome="ok"\} '
                     r'[1-9]', text), text
    assert "checkout_webhook_delivery_lag_seconds_count" in text
    # read from the database (every ≤ 5 s)
    wait_for(lambda: re.search(r'checkout_payments\{status="succeeded"\} 1\.0', scrape()),
             timeout=10, what="the payments gauge")


def test_metrics_are_off_in_production_without_a_token(server: LiveServer) -> None:
    from dataclasses import replace
    server.app.state.settings = replace(server.settings, mode="production")
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 404
    finally:
        server.app.state.settings = server.settings


def test_the_admin_view_is_off_without_its_credentials(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/admin").status_code == 404


@pytest.mark.server_settings(**OPS)
def test_the_admin_view_shows_a_payments_whole_story_and_no_secret(
        server: LiveServer, api: httpx.Client) -> None:
    payment = paid(server, api)
    pid = str(payment["id"])
    assert httpx.get(f"{server.url}/admin").status_code == 401
    assert httpx.get(f"{server.url}/admin", auth=(ADMIN[0], "wrong")).status_code == 401
    assert httpx.get(f"{server.url}/admin",
                     headers={"Authorization": "Bearer sk_test_demo"}).status_code == 401
    admin = httpx.Client(base_url=server.url, auth=ADMIN, timeout=15)
    listing = admin.get("/admin")
    assert listing.status_code == 200 and f'data-payment="{pid}"' in listing.text
    assert listing.headers["cache-control"] == "no-store"
    assert pid in admin.get("/admin", params={"status": "succeeded"}).text
    assert pid not in admin.get("/admin", params={"status": "pending"}).text
    assert pid in admin.get("/admin", params={"q": pid}).text
    assert admin.get("/admin", params={"status": "bogus"}).status_code == 422

    story = admin.get(f"/admin/payments/{pid}")
    assert story.status_code == 200
    assert "data-attempt=" in story.text and "payment.succeeded" in story.text
    assert "payment_finished" in story.text  # the acquirer's webhook, as received
    assert admin.get("/admin/payments/pay_nope").status_code == 404
    wait_for(lambda: pid in admin.get("/admin/deliveries",
                                      params={"status": "succeeded"}).text,
             timeout=15, what="the delivery to be listed")
    # read-only: nothing but GET exists
    assert admin.post("/admin").status_code == 405
    assert admin.post(f"/admin/payments/{pid}").status_code == 405
    # no secret on any page: webhook secrets, key hashes, checkout tokens
    from tests.buyer import query
    secrets = [r[0] for r in query(server.settings.db_url, "SELECT secret FROM webhook_endpoints")]
    hashes = [r[0] for r in query(server.settings.db_url, "SELECT key_hash FROM merchant_keys")]
    token = str(payment["checkout_url"]).rsplit("/", 1)[-1]
    for page in (listing.text, story.text, admin.get("/admin/deliveries").text):
        for secret in [*secrets, *hashes, token, "sk_test_demo"]:
            assert secret not in page
