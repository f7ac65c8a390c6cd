"""What an operator relies on: health and readiness probes, Prometheus metrics behind their
token (the operator's pages are the console's: tests/test_console_operator.py)."""

from __future__ import annotations

import re

import httpx
import pytest

from checkout.store.migrate import current_head
from tests.buyer import checkout_with_link, decide, execute, wait_for, wait_for_status
from tests.server import LiveServer

TOKEN = "metrics-token-for-tests"  # noqa: S105 - a test's
OPS = {"metrics_token": TOKEN}


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
    # What a payment cost in round trips: a paid payment took statements in transactions.
    sent = {name: float(n) for name, n in re.findall(
        r"^checkout_db_(statements|transactions)_total ([\d.e+]+)$", text, re.M)}
    assert sent["statements"] > sent["transactions"] >= 5, sent
    assert re.search(r"^checkout_db_transactions_redone_total \d", text, re.M), text
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


def test_the_old_admin_view_sends_its_bookmarks_to_the_consoles_operator_pages(
        server: LiveServer) -> None:
    for path in ("/admin", "/admin/payments/pay_1", "/admin/deliveries"):
        moved = httpx.get(f"{server.url}{path}")
        assert moved.status_code == 308 and moved.headers["location"] == "/console/operator"
