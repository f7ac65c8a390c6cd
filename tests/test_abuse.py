"""What an anonymous client can send must not grow memory or tables without bound, must get a
clear answer instead of a 500, and is slowed down past a rate limit."""

from __future__ import annotations

import gc
import json
import logging
import re
import secrets
import time
import tracemalloc
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from checkout.errors import AcquirerError
from checkout.settings import Settings
from checkout.web.buyer import device, tokens
from checkout.web.plumbing import problems
from tests.buyer import (
    checkout_with_link,
    clients,
    decide,
    new_payment,
    query,
    start,
    wait_for,
    wait_for_status,
)
from tests.cluster import Proc
from tests.server import LiveServer

DEEP = b"[" * 50_000


def _retained(work) -> int:  # type: ignore[no-untyped-def]
    """Bytes still allocated after `work()` (and a collection): what it left in caches."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_bogus_tokens_cost_no_memory_and_overlong_ones_no_verification() -> None:
    settings = Settings()

    def flood() -> None:
        for n in range(2_000):
            forged = secrets.token_urlsafe(12_000)  # 16 KB of nonsense each
            assert tokens.read_checkout_token(settings, forged) is None
            assert tokens.read_checkout_token(settings, f"WyJwYXlfe{n}.x") is None
    assert _retained(flood) < 2 * 1024 * 1024  # the old cache kept all 32 MB of them


def test_a_good_token_still_opens_and_is_checked_once() -> None:
    from datetime import UTC, datetime, timedelta

    settings = Settings()
    token = tokens.checkout_token(settings, "pay_1", datetime.now(UTC) + timedelta(hours=1))
    assert len(token) < tokens.MAX_TOKEN_LENGTH
    assert tokens.read_checkout_token(settings, token) == "pay_1"
    assert (settings.secret_keys, token) in tokens._verified


def test_rotated_links_are_signed_with_the_newest_key() -> None:
    """After `CHECKOUT_SECRET_KEYS=new,old`, a new link must open with `new` alone: the
    leaked old key is then retired without breaking any link made since the rotation."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    new, old = "n" * 40, "o" * 40
    expires = datetime.now(UTC) + timedelta(hours=1)
    before = tokens.checkout_token(replace(Settings(), secret_keys=(old,)), "pay_old", expires)
    rotated = replace(Settings(), secret_keys=(new, old))
    after = tokens.checkout_token(rotated, "pay_new", expires)
    assert tokens.read_checkout_token(rotated, before) == "pay_old"  # old links still open
    assert tokens.read_checkout_token(replace(Settings(), secret_keys=(new,)), after) == "pay_new"
    assert tokens.read_checkout_token(replace(Settings(), secret_keys=(old,)), after) is None


def test_ever_new_huge_user_agents_cannot_grow_the_device_caches() -> None:
    def flood() -> None:
        for n in range(1_500):
            ua = f"Mozilla/5.0 (Linux; Android 14; X{n}) " + "A" * 16_000
            assert device.platform_for(ua).type == "mobile"
            device.in_app_browser(ua + "Telegram")
    assert _retained(flood) < 4 * 1024 * 1024  # the old caches kept 48 MB of them


@pytest.mark.parametrize("path", ["/api/v1/payments", "/webhooks/bank131", "/webhooks/yookassa",
                                  "/webhooks/tbc", "/webhooks/smartglocal"])
def test_deeply_nested_json_is_a_400_not_a_500(server: LiveServer, path: str) -> None:
    headers = {"Authorization": "Bearer sk_test_demo", "Content-Type": "application/json"}
    resp = httpx.post(f"{server.url}{path}", content=DEEP, headers=headers)
    if resp.status_code in (401, 403):  # refused before parsing: a signature or a network
        return
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"


def test_deep_json_reaches_the_parsers_of_the_webhooks_we_take_from_anyone(
        server: LiveServer) -> None:
    """TBC's callbacks are unsigned: the parser itself must refuse deep JSON with a 400."""
    resp = httpx.post(f"{server.url}/webhooks/tbc", content=DEEP)
    assert resp.status_code == 400, resp.text


def _request(path: str) -> Request:
    return Request({"type": "http", "method": "POST", "path": path, "headers": [],
                    "query_string": b"", "root_path": "", "scheme": "http",
                    "server": ("testserver", 80)})


def test_error_logs_never_carry_the_buyers_token(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    path = "/c/WyJwYXlfc2VjcmV0IiwxN30.c2lnbmF0dXJl/attempts"
    with caplog.at_level(logging.WARNING, logger="checkout.web"):
        asyncio.run(problems.checkout_error(_request(path), AcquirerError("bank is down")))
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            asyncio.run(problems.unexpected_error(_request(path), exc))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/c/…/attempts" in logged and "WyJwYXlfc2VjcmV0" not in logged


@pytest.mark.server_settings(rate_limit_auth_failures="5/minute")
def test_failed_api_key_guesses_are_slowed_with_429(server: LiveServer) -> None:
    for _ in range(5):
        assert httpx.get(f"{server.url}/api/v1/events",
                         headers={"Authorization": "Bearer sk_guess"}).status_code == 401
    refused = httpx.get(f"{server.url}/api/v1/events",
                        headers={"Authorization": "Bearer sk_guess"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # A good key from that address is taken all the same. A key is 32 random bytes: no rate
    # of guessing finds one, so refusing the right one protected nothing, and behind a
    # balancer (one address for every merchant) it locked every merchant out for one guesser.
    assert httpx.get(f"{server.url}/api/v1/events",
                     headers={"Authorization": "Bearer sk_test_demo"}).status_code == 200
    assert httpx.get(f"{server.url}/api/v1/events",
                     headers={"Authorization": "Bearer sk_guess"}).status_code == 429


@pytest.mark.server_settings(rate_limit_acquirer_webhooks="10/minute",
                             rate_limit_brand="10/minute")
def test_refused_acquirer_webhooks_and_brand_stylesheets_are_rate_limited(
        server: LiveServer) -> None:
    codes = [httpx.post(f"{server.url}/webhooks/tbc", json={"PaymentId": "nope"}).status_code
             for _ in range(11)]
    assert codes[:10] == [404] * 10 and codes[10] == 429
    forged = httpx.post(f"{server.url}/webhooks/bank131", json={"type": "payment_finished"},
                        headers={"X-PARTNER-SIGN": "Zm9yZ2Vk"})
    assert forged.status_code == 429 and int(forged.headers["retry-after"]) >= 1
    codes = [httpx.get(f"{server.url}/brand/accent/0b3d91.css").status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


@pytest.mark.server_settings(rate_limit_acquirer_webhooks="2/minute", metrics_token="t")  # noqa: S106
def test_an_acquirers_good_webhooks_never_count_against_its_limit(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment, link = checkout_with_link(api, buyer, server.url)
        decide(buyer, link, approve=True)
        wait_for_status(api, payment["id"], "succeeded")
    delivered = query(server.settings.db_url, "SELECT count(*) FROM acquirer_events")[0][0]
    assert delivered >= 3  # more good webhooks than the limit allows refused ones
    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer t"}).text
    assert 'route="/webhooks/{acquirer}",status="429"' not in text
    assert 'route="/webhooks/{acquirer}",status="200"' in text


def _tbc_payment(server: LiveServer) -> str:
    """A TBC payment whose buyer pressed start: TBC's payment id, as its callbacks name it."""
    with clients(server) as (_, buyer):
        api = httpx.Client(base_url=server.url, timeout=15,
                           headers={"Authorization": "Bearer sk_test_demo_tbc"})
        payment = new_payment(api, server.url, currency="GEL", amount=10_00)
        start(buyer, payment["checkout_url"])
        ref = wait_for(lambda: query(server.settings.db_url,
                                     "SELECT acquirer_ref FROM attempts WHERE payment_id = :p "
                                     "AND acquirer_ref IS NOT NULL", p=payment["id"]),
                       what="TBC's payment id")[0][0]
    return str(ref)


def _tbc_reads(server: LiveServer) -> float:
    text = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer t"}).text
    found = re.search(r'checkout_acquirer_calls_total\{acquirer="tbc",outcome="ok"\} (\S+)',
                      text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.server_settings(metrics_token="t", unsigned_hint_window_seconds=30)  # noqa: S106 - a test's
def test_a_flood_of_unsigned_tbc_callbacks_costs_two_rows_and_two_reads(
        server: LiveServer) -> None:
    ref = _tbc_payment(server)
    time.sleep(1)  # the start's own calls are counted before we look
    # The promise is per window of 30 s, and windows are fixed buckets of the clock: a burst
    # that straddles two is two windows' worth. Start the burst early in one.
    while time.time() % 30 > 20:
        time.sleep(0.5)
    reads = _tbc_reads(server)
    padded = json.dumps({"PaymentId": ref, "pad": "x" * 30_000})
    for _ in range(20):
        resp = httpx.post(f"{server.url}/webhooks/tbc", content=padded)
        assert resp.status_code == 200, resp.text
    rows = "SELECT dedup_key, length(body), applied_at FROM acquirer_events " \
           "WHERE acquirer_ref = :r AND event_type = 'callback'"
    # one acted on at once, one deferred for the reconciler, which reads it a moment later
    wait_for(lambda: all(r[2] is not None for r in query(server.settings.db_url, rows, r=ref)),
             timeout=10, what="the deferred hint to be read")
    stored = query(server.settings.db_url, rows, r=ref)
    assert len(stored) == 2, stored
    assert all(r[1] <= server.settings.unsigned_body_bytes for r in stored)
    assert _tbc_reads(server) - reads <= 2


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_access_log_never_carries_a_bearer_link(tmp_path: Path, log_format: str) -> None:
    """A real `checkout serve`, its access log read as an on-call engineer would: the buyer's
    token, an invitation's and a password reset's never appear, in a path or in the sign-in
    page's `next`, however the path is spelled."""
    secret = "Bearer" + secrets.token_urlsafe(16)
    proc = Proc(f"logs-{log_format}", tmp_path, {"CHECKOUT_LOG_FORMAT": log_format}).start()
    try:
        with httpx.Client(base_url=proc.url, timeout=15) as client:
            for path in (f"/c/{secret}", f"/c/{secret}/status?v=1", f"/console/invite/{secret}",
                         f"/console/reset/{secret}",
                         f"/console/login?next=%2Fconsole%2Finvite%2F{secret}",
                         f"/console/login?next=%2fconsole%2freset%2f{secret}"):
                client.get(path)
            client.post(f"/console/invite/{secret}", data={"password": "x"})
            client.post(f"/console/reset/{secret}", data={"password": "x"})
    finally:
        proc.terminate()
    log = proc.log()
    assert "/console/invite/…" in log and "/console/reset/…" in log and "/c/…" in log, log
    assert "%2Fconsole%2Finvite%2F…" in log
    assert secret not in log and secret.lower() not in log.lower()
