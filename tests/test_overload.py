"""Past capacity: new payments are refused at once with 503 and Retry-After, and nothing of
them is stored; payments under way carry on, their waiting pages told to poll less; once the
load passes, new payments are taken again."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from tests.buyer import clients, open_page, path_of, query, wait_for
from tests.server import LiveServer

ORDER = {"amount": 150_00, "currency": "RUB", "description": "Order 42"}


@contextmanager
def saturated(server: LiveServer) -> Iterator[None]:
    """The server's event loop kept busy 90 % of the time, in stretches of 500 ms, as CPU-bound
    work queued ahead of everything keeps a saturated instance's; requests are still served
    in between, late. The standing delay this makes stays well over twice the tests'
    threshold, where every new payment is refused: with stretches of 200 ms (80 %) it dipped
    below at times, and a share of new payments was rightly taken (`LoadGauge.share_taken`)."""
    stop = threading.Event()

    def hog() -> None:
        while not stop.is_set():
            server.loop.call_soon_threadsafe(time.sleep, 0.5)
            time.sleep(0.55)
    thread = threading.Thread(target=hog, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def press_pay(buyer: httpx.Client, url: str) -> httpx.Response:
    """A buyer at a payment link presses Pay, with the page's own form token."""
    page = buyer.get(url)
    assert page.status_code == 200, page.text
    token = re.search(r'name="ft" value="([^"]+)"', page.text)
    assert token, page.text
    return buyer.post(url, data={"ft": token.group(1)})


def stored(server: LiveServer, link_id: str = "") -> int:
    if link_id:
        return int(query(server.settings.db_url, "SELECT count(*) FROM payments WHERE "
                         "payment_link_id = :l", l=link_id)[0][0])
    return int(query(server.settings.db_url, "SELECT count(*) FROM payments")[0][0])


def poll_path(html: str) -> str:
    found = re.search(r'hx-get="([^"]+)"', html)
    assert found, html
    return found.group(1).replace("&amp;", "&")


def test_past_capacity_a_new_payment_gets_503_and_retry_after_and_nothing_is_stored(
        make_server: Callable[..., LiveServer]) -> None:
    pace = 8.0
    server = make_server(overload_delay_ms=50, overload_retry_after_seconds=3,
                         overload_keep_pace_seconds=pace)
    with clients(server) as (api, buyer):
        payment = api.post("/api/v1/payments", json={
            **ORDER, "return_url": f"{server.url}/shop/return"}).json()
        page = open_page(buyer, payment["checkout_url"])
        link = api.post("/api/v1/payment_links", json={
            "currency": "RUB", "description": "Invoice 7", "amount": 500_00}).json()
        assert "x-poll-seconds" not in buyer.get(poll_path(page)).headers
        time.sleep(pace + 0.5)  # that page is left waiting
        fresh = api.post("/api/v1/payments", json={
            **ORDER, "description": "Order 43", "return_url": f"{server.url}/shop/return"}).json()
        fresh_page = open_page(buyer, fresh["checkout_url"])
        before = stored(server)
        with saturated(server):
            # A page left waiting keeps polling, and is told to wait longer between polls.
            def slowed() -> httpx.Response | None:
                resp = buyer.get(poll_path(page))
                return resp if "x-poll-seconds" in resp.headers else None
            unchanged = wait_for(slowed, timeout=10, what="the poll to be slowed")
            assert unchanged.status_code == 204
            base = server.settings.poll_interval_seconds
            assert base < float(unchanged.headers["x-poll-seconds"]) <= 8 * base
            # One whose payment moved a moment ago (a buyer in the middle of paying) is not.
            kept = buyer.get(poll_path(fresh_page))
            assert kept.status_code == 204 and "x-poll-seconds" not in kept.headers

            refused = api.post("/api/v1/payments", headers={"Idempotency-Key": "order-42"},
                               json={**ORDER, "return_url": f"{server.url}/shop/return"})
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "3"
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "https://tpay-checkout.dev/problems/overloaded"
            # Refused before anything else: even a request with no key is told to come back.
            assert httpx.post(f"{server.url}/api/v1/payments", json=ORDER,
                              timeout=15).status_code == 503

            # A press of Pay at a payment link: the buyer's page says so, in their language.
            pressed = press_pay(buyer, link["url"] + "?lang=ru")
            assert pressed.status_code == 503, pressed.text
            assert pressed.headers["retry-after"] == "3"
            assert 'data-state="busy"' in pressed.text and "деньги не списаны" in pressed.text
            assert stored(server) == before and stored(server, link["id"]) == 0

        # The load passes: the same request, under the same Idempotency-Key, now creates the
        # payment (a refusal is never kept as the key's answer), and the link takes its press.
        def created() -> httpx.Response | None:
            resp = api.post("/api/v1/payments", headers={"Idempotency-Key": "order-42"},
                            json={**ORDER, "return_url": f"{server.url}/shop/return"})
            return resp if resp.status_code == 201 else None
        wait_for(created, timeout=10, what="new payments to be taken again")
        wait_for(lambda: "x-poll-seconds" not in buyer.get(poll_path(page)).headers,
                 timeout=10, what="waiting pages to poll at their own pace again")
        assert press_pay(buyer, link["url"]).status_code == 303
    assert stored(server) == before + 2
    log = query(server.settings.db_url, "SELECT count(*) FROM payments WHERE "
                "description = 'Order 42'")[0][0]
    assert log == 2  # the first payment and the retried one: nothing of the refused ones


def test_a_cold_instance_takes_its_first_payments_through_start_up_stalls(
        make_server: Callable[..., LiveServer]) -> None:
    """A freshly started instance, shedding on at its default threshold, has its loop held up
    once (start-up work, a compile, timer jitter: 300 ms here, more than any seen) and is
    sent payments at once. None is refused: one late interval is not load. Before the
    windowed minimum, each of these starts refused its first payments with 503."""
    for start in range(4):
        server = make_server(overload_delay_ms=25)
        server.loop.call_soon_threadsafe(time.sleep, 0.3)
        time.sleep(0.4)  # the stall is over, and the gauge has seen its late interval
        with clients(server) as (api, _buyer):
            for n in range(3):
                made = api.post("/api/v1/payments", json={
                    **ORDER, "description": f"Cold {start}.{n}",
                    "return_url": f"{server.url}/shop/return"})
                assert made.status_code == 201, (start, n, made.text)
        server.stop()


def test_with_shedding_off_a_saturated_instance_still_takes_payments(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(overload_delay_ms=0)
    with clients(server) as (api, buyer), saturated(server):
        time.sleep(1)
        made = api.post("/api/v1/payments", json={
            **ORDER, "return_url": f"{server.url}/shop/return"})
        assert made.status_code == 201, made.text
        page = open_page(buyer, made.json()["checkout_url"])
        assert "x-poll-seconds" not in buyer.get(path_of(poll_path(page))).headers
