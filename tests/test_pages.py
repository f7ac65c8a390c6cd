"""What every page promises regardless of state: language, headers, the sandbox banner."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from checkout.pages.assets import HTMX_FILE
from checkout.settings import ROOT
from tests.bank131 import send_webhook
from tests.buyer import add_merchant, new_payment, path_of
from tests.server import LiveServer


@pytest.mark.parametrize(("query", "accept", "expected"), [
    ("", "en-US,en;q=0.9", "Payment to"),
    ("", "ru-RU,ru;q=0.9,en;q=0.5", "Оплата в"),
    ("", "de-DE", "Оплата в"),  # neither: Russian, the default
    ("?lang=en", "ru-RU", "Payment to"),
    ("?lang=ru", "en-US", "Оплата в"),
    ("?lang=xx", "en-US", "Payment to"),
])
def test_language_comes_from_lang_then_accept_language(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer,
        query: str, accept: str, expected: str) -> None:
    payment = new_payment(api, server.url)
    html = browser_client.get(path_of(payment["checkout_url"]) + query,
                              headers={"Accept-Language": accept}).text
    assert expected in html
    assert f'lang="{"en" if expected == "Payment to" else "ru"}"' in html


def test_every_response_carries_the_security_headers(api: httpx.Client,
                                                     browser_client: httpx.Client,
                                                     server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    checkout = browser_client.get(path_of(payment["checkout_url"]))
    for resp in (checkout, api.get(f"/api/v1/payments/{payment['id']}"),
                 browser_client.get("/static/checkout.js"),
                 browser_client.get("/no-such-page"), browser_client.get("/")):
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "no-referrer"
        if resp is not checkout:
            assert "frame-ancestors 'none'" in csp and resp.headers["x-frame-options"] == "DENY"
    # Only the checkout page may be framed, and only by the merchant's embedding origins.
    assert "frame-ancestors http://127.0.0.1:* http://localhost:*;" in \
        checkout.headers["content-security-policy"] + ";"
    assert "x-frame-options" not in checkout.headers
    assert browser_client.get("/no-such-page").status_code == 404


def test_a_merchant_without_embed_origins_cannot_be_framed(server: LiveServer,
                                                           browser_client: httpx.Client) -> None:
    other = add_merchant(server.settings.db_url, "mer_noframe", "sk_test_noframe",
                         return_origins='["http://127.0.0.1:*"]')
    with httpx.Client(base_url=server.url, headers=other) as api:
        payment = new_payment(api, server.url)
    page = browser_client.get(path_of(payment["checkout_url"]))
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_sandbox_pages_say_so(browser_client: httpx.Client, api: httpx.Client,
                              server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    html = browser_client.get(path_of(payment["checkout_url"])).text
    assert 'class="sandbox-banner"' in html
    assert 'class="sandbox-banner"' in browser_client.get("/").text


def test_webhook_for_an_unknown_session_is_logged(server: LiveServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="checkout.webhooks"):
        resp = send_webhook(server, "payment_finished", {"id": "ps_nobody", "status": "accepted",
                                                         "acquiring_payments": []})
    assert resp.status_code == 404
    assert any("ps_nobody" in r.getMessage() for r in caplog.records)


def test_the_page_loads_htmx_and_our_script_as_one_file(api: httpx.Client,
                                                        browser_client: httpx.Client,
                                                        server: LiveServer) -> None:
    """A first-time buyer's browser asks once for both scripts: htmx, then ours, byte for
    byte as vendored and written, fingerprinted and compressed like any file of ours."""
    payment = new_payment(api, server.url)
    html = browser_client.get(path_of(payment["checkout_url"])).text
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 1 and scripts[0].startswith("/static/checkout.bundle.js?v="), scripts
    bundle = browser_client.get(scripts[0], headers={"Accept-Encoding": "gzip"})
    assert bundle.status_code == 200 and "immutable" in bundle.headers["cache-control"]
    assert bundle.headers["content-encoding"] == "gzip"
    assert bundle.headers["content-type"].startswith("text/javascript")
    htmx = (ROOT / "static" / HTMX_FILE).read_bytes()
    ours = (ROOT / "static" / "checkout.js").read_bytes()
    assert bundle.content == htmx + b"\n;\n" + ours  # (httpx took the gzip off)
