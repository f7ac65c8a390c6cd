"""`checkout merchant …`: merchants, rotating keys and webhook endpoints, by configuration."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import httpx
import pytest

from checkout.errors import InvalidRequest
from checkout.flow import merchants as admin
from checkout.flow import webhook_endpoints
from checkout.settings import Settings
from tests.buyer import merchant_cli as cli
from tests.server import LiveServer


def create(server: LiveServer, key: str, return_url: str) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/payments", headers={"Authorization": f"Bearer {key}"},
                      json={"amount": 100_00, "currency": "RUB", "description": "tea",
                            "return_url": return_url})


def test_a_merchant_added_by_command_gets_its_own_key_origins_and_payments(
        server: LiveServer) -> None:
    made = cli(server, "add", "--name", "Tea shop", "--return-origin", "https://tea.example")
    key = made["api_key"]
    assert key.startswith("sk_test_")
    ok = create(server, key, "https://tea.example/thanks")
    assert ok.status_code == 201, ok.text
    assert create(server, key, f"{server.url}/shop/return").status_code == 422  # not its origin
    demo = httpx.get(f"{server.url}/api/v1/payments/{ok.json()['id']}",
                     headers={"Authorization": "Bearer sk_test_demo"})
    assert demo.status_code == 404  # merchants never see each other's payments
    listed = json.dumps(cli(server, "list"))
    assert "Tea shop" in listed and key not in listed


def test_rotated_keys_overlap_then_stop(server: LiveServer) -> None:
    first = cli(server, "add", "--name", "Rotating", "--return-origin", "https://r.example")
    merchant_id, old = first["merchant_id"], first["api_key"]
    second = cli(server, "rotate-key", merchant_id, "--overlap-hours", "1")["api_key"]
    for key in (old, second):
        assert create(server, key, "https://r.example/").status_code == 201
    third = cli(server, "rotate-key", merchant_id, "--overlap-hours", "0")["api_key"]
    assert create(server, third, "https://r.example/").status_code == 201
    for key in (old, second):
        assert create(server, key, "https://r.example/").status_code == 401


def test_webhook_endpoints_are_added_with_a_secret_shown_once(server: LiveServer) -> None:
    merchant_id = cli(server, "add", "--name", "Hooks",
                      "--return-origin", "https://h.example")["merchant_id"]
    endpoint = cli(server, "add-webhook", merchant_id, "http://127.0.0.1:9/hook")
    assert endpoint["secret"].startswith("whsec_")
    listed = cli(server, "list")
    mine = next(m for m in listed if m["id"] == merchant_id)
    assert [w["url"] for w in mine["webhooks"]] == ["http://127.0.0.1:9/hook"]
    assert endpoint["secret"] not in json.dumps(listed)
    cli(server, "remove-webhook", endpoint["endpoint_id"])
    mine = next(m for m in cli(server, "list") if m["id"] == merchant_id)
    assert mine["webhooks"][0]["disabled"] == "removed by an operator"


@pytest.mark.parametrize("url", ["http://shop.example/hook", "https://127.0.0.1/hook",
                                 "https://localhost/hook", "https://10.1.2.3/hook",
                                 "https://[::1]/hook", "ftp://x/"])
def test_production_refuses_webhook_urls_into_our_own_network(url: str) -> None:
    production = replace(Settings(), mode="production")
    with pytest.raises(InvalidRequest):
        asyncio.run(webhook_endpoints.check_url(url, production))


@pytest.mark.parametrize("origin", ["tea.example", "https://tea.example/path",
                                    "javascript:alert(1)", "https://u:p@tea.example"])
def test_bad_origins_are_refused(origin: str) -> None:
    with pytest.raises(InvalidRequest):
        admin.check_origin(origin)
