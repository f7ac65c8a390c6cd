"""The whole payment, as a buyer and a merchant see it, over real HTTP to a real server."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest

from tests.bank131 import session
from tests.buyer import (
    ANDROID,
    IPHONE,
    TELEGRAM_PREVIEW,
    WINDOWS_CHROME,
    checkout_with_link,
    clients,
    decide,
    form_token,
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


def attempts_of(server: LiveServer, payment_id: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in query(
        server.settings.db_url,
        "SELECT status, platform_type FROM attempts WHERE payment_id = :p ORDER BY created_at",
        p=payment_id)]


def test_desktop_buyer_gets_a_qr_and_approval_succeeds(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    start(browser_client, payment["checkout_url"], WINDOWS_CHROME)
    link = wait_for_link(browser_client, payment["checkout_url"], WINDOWS_CHROME)
    page = open_page(browser_client, payment["checkout_url"], WINDOWS_CHROME)
    assert 'data-platform="desktop"' in page
    assert "<svg" in page and 'data-action="open-here"' in page
    assert "platform=desktop" in link  # the acquirer was told it is a desktop
    decide(browser_client, link, approve=True)
    done = wait_for_status(api, payment["id"], "succeeded")
    assert done["captured_amount"] == payment["amount"]
    final = open_page(browser_client, payment["checkout_url"])
    assert state_of(final) == "succeeded"
    assert f'{server.url}/shop/return?payment_id={payment["id"]}' in final
    assert attempts_of(server, payment["id"]) == [("succeeded", "desktop")]


@pytest.mark.parametrize("ua", [IPHONE, ANDROID])
def test_phone_buyer_gets_a_button_to_the_app_and_decline_allows_retry(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer, ua: str) -> None:
    payment = new_payment(api, server.url)
    start(browser_client, payment["checkout_url"], ua)
    link = wait_for_link(browser_client, payment["checkout_url"], ua)
    page = open_page(browser_client, payment["checkout_url"], ua)
    assert 'data-platform="mobile"' in page
    button = re.search(r'<a [^>]*data-action="open-app"[^>]*>', page)
    assert button and f'href="{link}"'.replace("&", "&amp;") in button.group(0)
    assert "platform=mobile" in link
    decide(browser_client, link, approve=False)
    wait_for(lambda: state_of(open_page(browser_client, payment["checkout_url"], ua))
             == "attempt_failed", what="the failure page")
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["last_error"] == {
        "code": "declined"}
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "pending"
    # Try again: a new attempt, a new link, and this time it goes through.
    start(browser_client, payment["checkout_url"], ua)
    second = wait_for_link(browser_client, payment["checkout_url"], ua)
    assert second != link
    decide(browser_client, second, approve=True)
    wait_for_status(api, payment["id"], "succeeded")
    assert [s for s, _ in attempts_of(server, payment["id"])] == ["failed", "succeeded"]


def test_opening_the_checkout_link_starts_nothing(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    for ua in (TELEGRAM_PREVIEW, "Slackbot-LinkExpanding 1.0", WINDOWS_CHROME, IPHONE):
        html = open_page(browser_client, payment["checkout_url"], ua)
        assert state_of(html) == "start"
    assert attempts_of(server, payment["id"]) == []
    assert query(server.settings.db_url, "SELECT version FROM payments")[0][0] == 1


def test_reload_and_double_tap_never_start_a_second_attempt(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    token = form_token(open_page(browser_client, payment["checkout_url"], IPHONE))

    def tap(_: int) -> int:
        return httpx.post(server.url + path_of(payment["checkout_url"]) + "/attempts",
                          data={"ft": token}, headers={"User-Agent": IPHONE,
                                                       "HX-Request": "true"}).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(tap, range(4))) == {200}
    wait_for_link(browser_client, payment["checkout_url"], IPHONE)
    assert tap(0) == 200  # a reload after the link came: still the same attempt
    assert len(attempts_of(server, payment["id"])) == 1


def test_start_needs_the_pages_form_token(api: httpx.Client, browser_client: httpx.Client,
                                          server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    path = path_of(payment["checkout_url"]) + "/attempts"
    forged = browser_client.post(path, data={"ft": "0" * 64})
    assert forged.status_code == 403
    page = open_page(browser_client, payment["checkout_url"])
    cross_site = browser_client.post(path, data={"ft": form_token(page)},
                                     headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    assert attempts_of(server, payment["id"]) == []


def test_without_javascript_the_start_button_redirects_back_to_the_page(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    page = open_page(browser_client, payment["checkout_url"])
    assert "<noscript><button" in page
    resp = browser_client.post(path_of(payment["checkout_url"]) + "/attempts?lang=en",
                               data={"ft": form_token(page)})
    assert resp.status_code == 303
    assert resp.headers["location"].startswith(path_of(payment["checkout_url"]))
    wait_for_link(browser_client, payment["checkout_url"])


def test_polling_is_204_while_unchanged_and_286_at_the_end(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    start(browser_client, payment["checkout_url"])
    link = wait_for_link(browser_client, payment["checkout_url"])
    version = int(query(server.settings.db_url, "SELECT version FROM payments")[0][0])
    status_path = path_of(payment["checkout_url"]) + "/status"
    unchanged = browser_client.get(status_path, params={"v": version})
    assert unchanged.status_code == 204 and unchanged.content == b""
    stale = browser_client.get(status_path, params={"v": version - 1})
    assert stale.status_code == 200 and state_of(stale.text) == "awaiting"
    assert f"v={version}" in stale.text
    decide(browser_client, link, approve=True)
    wait_for_status(api, payment["id"], "succeeded")
    final = browser_client.get(status_path, params={"v": version})
    assert final.status_code == 286
    assert state_of(final.text) == "succeeded" and "hx-trigger" not in final.text
    assert browser_client.get(status_path.replace("/c/", "/c/x"), params={"v": 1}
                              ).status_code == 286


def test_a_tampered_checkout_link_is_a_404_page(browser_client: httpx.Client,
                                               api: httpx.Client, server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    resp = browser_client.get(path_of(payment["checkout_url"])[:-2] + "xx")
    assert resp.status_code == 404
    assert "text/html" in resp.headers["content-type"]


def test_the_countdown_is_the_servers_twenty_minutes(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment = new_payment(api, server.url)
    start(browser_client, payment["checkout_url"])
    wait_for_link(browser_client, payment["checkout_url"])
    html = open_page(browser_client, payment["checkout_url"])
    seconds = int(re.search(r'data-countdown="(\d+)"', html).group(1))  # type: ignore[union-attr]
    assert 1190 <= seconds <= 1200


def test_expired_link_ends_the_attempt_and_the_buyer_can_try_again(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(attempt_ttl_seconds=2, attempt_grace_seconds=1)
    with clients(server) as (api, buyer):
        payment, link = checkout_with_link(api, buyer, server.url)
        wait_for(lambda: state_of(open_page(buyer, payment["checkout_url"]))
                 == "attempt_failed", timeout=20, what="the expiry")
        assert "pending" == api.get(f"/api/v1/payments/{payment['id']}").json()["status"]
        decide(buyer, link, approve=True)  # too late: the T-Bank app refuses it
        assert attempts_of(server, payment["id"])[0][0] == "expired"
        start(buyer, payment["checkout_url"])
        assert wait_for_link(buyer, payment["checkout_url"]) != link


def test_unpaid_payment_expires_and_then_cannot_be_started(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(payment_ttl_seconds=1)
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        token = form_token(open_page(buyer, payment["checkout_url"]))  # page left open
        wait_for_status(api, payment["id"], "expired")
        late = buyer.post(path_of(payment["checkout_url"]) + "/attempts", data={"ft": token},
                          headers={"HX-Request": "true"})
        assert late.status_code == 286 and state_of(late.text) == "payment_expired"
        page = open_page(buyer, payment["checkout_url"])
        assert state_of(page) == "payment_expired" and 'name="ft"' not in page
        assert attempts_of(server, payment["id"]) == []


def test_without_acquirer_webhooks_status_polling_finishes_the_payment(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(sandbox_webhooks=False, acquirer_poll_seconds=0.3)
    with clients(server) as (api, buyer):
        payment, link = checkout_with_link(api, buyer, server.url)
        decide(buyer, link, approve=True)
        wait_for_status(api, payment["id"], "succeeded")
    events = query(server.settings.db_url, "SELECT count(*) FROM acquirer_events")[0][0]
    assert events == 0


def test_with_automatic_confirmation_the_link_comes_without_a_confirm_step(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(sandbox_auto_confirm=True)
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"])
        decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
        wait_for_status(api, payment["id"], "succeeded")
    types = {r[0] for r in query(server.settings.db_url,
                                 "SELECT event_type FROM acquirer_events")}
    assert "ready_to_confirm" not in types and "action_required" in types


@pytest.mark.parametrize("acquirer", ["bank131", "smartglocal", "yookassa", "tbc"])
def test_demo_shop_buys_and_shows_the_final_status(server: LiveServer,
                                                   browser_client: httpx.Client,
                                                   acquirer: str) -> None:
    resp = browser_client.post("/shop/buy", data={"product": "mug", "acquirer": acquirer})
    assert resp.status_code == 303
    checkout_url = resp.headers["location"]
    start(browser_client, checkout_url)
    decide(browser_client, wait_for_link(browser_client, checkout_url), approve=True)
    page = wait_for(lambda: (h := open_page(browser_client, checkout_url)) and
                    state_of(h) == "succeeded" and h, what="success")
    back = httpx.URL(page.split('data-action="return"')[0].rsplit('href="', 1)[1].split('"')[0]
                     .replace("&amp;", "&"))
    shop = browser_client.get(back.raw_path.decode())
    assert shop.status_code == 200
    assert 'data-status="succeeded"' in shop.text
    assert f"mer_demo{'' if acquirer == 'bank131' else '_' + acquirer}" == query(
        server.settings.db_url, "SELECT merchant_id FROM payments")[0][0]


def test_an_acquirer_outage_at_start_is_retried_with_the_same_key(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    emulator = server.app.state.sandbox.emulators["bank131"]
    emulator.outage = True
    payment = new_payment(api, server.url)
    assert state_of(start(browser_client, payment["checkout_url"])) == "preparing"
    assert attempts_of(server, payment["id"]) == [("starting", "desktop")]
    emulator.outage = False  # the reconciler tries again, with the same idempotency key
    link = wait_for_link(browser_client, payment["checkout_url"])
    decide(browser_client, link, approve=True)
    wait_for_status(api, payment["id"], "succeeded")
    sessions = query(server.settings.db_url, "SELECT DISTINCT acquirer_ref FROM attempts")
    assert len(sessions) == 1


def test_an_acquirer_that_never_answers_ends_the_attempt_and_allows_a_retry(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(attempt_ttl_seconds=1)
    server.app.state.sandbox.emulators["bank131"].outage = True
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"])
        wait_for(lambda: state_of(open_page(buyer, payment["checkout_url"]))
                 == "attempt_failed", what="the attempt to be given up")
        assert query(server.settings.db_url, "SELECT error_code FROM attempts")[0][0] == \
            "acquirer_unreachable"
        assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "pending"
        server.app.state.sandbox.emulators["bank131"].outage = False
        start(buyer, payment["checkout_url"])
        wait_for_link(buyer, payment["checkout_url"])


def test_when_the_acquirer_is_slower_than_our_deadline_we_cancel_the_session_there(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(attempt_ttl_seconds=2, attempt_grace_seconds=1)
    emulator = server.app.state.sandbox.emulators["bank131"]
    emulator.config = replace(emulator.config, session_ttl_seconds=3600)
    with clients(server) as (api, buyer):
        payment, link = checkout_with_link(api, buyer, server.url)
        wait_for(lambda: state_of(open_page(buyer, payment["checkout_url"]))
                 == "attempt_failed", timeout=20, what="our deadline")
        ref = query(server.settings.db_url, "SELECT acquirer_ref FROM attempts")[0][0]
        assert session(server, ref)["status"] == "cancelled"  # ended there, not only here
        decide(buyer, link, approve=True)  # the T-Bank app no longer takes it
        assert attempts_of(server, payment["id"])[0][0] == "expired"
        assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "pending"


def refuse_cancels(buyer: httpx.Client, payment_id: str) -> None:
    """The bank refuses the next cancel of this payment's sessions: the one we send after our
    deadline. The outage alone is not enough: that cancel may leave after the test has ended
    the outage (seen under load), and then the session really is cancelled at the bank."""
    resp = buyer.post("/sandbox/faults", json={"kind": "error", "acquirer": "bank131",
                                               "operation": "session/cancel",
                                               "payment_id": payment_id, "times": 1})
    assert resp.status_code == 201, resp.text


def test_a_last_second_approval_on_an_attempt_we_ended_is_still_found_without_webhooks(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(attempt_ttl_seconds=2, attempt_grace_seconds=1,
                         sandbox_webhooks=False, acquirer_poll_seconds=0.3)
    emulator = server.app.state.sandbox.emulators["bank131"]
    emulator.config = replace(emulator.config, session_ttl_seconds=3600)
    with clients(server) as (api, buyer):
        payment, link = checkout_with_link(api, buyer, server.url)
        refuse_cancels(buyer, payment["id"])
        emulator.outage = True  # we can neither ask nor cancel: we end it by our own clock
        wait_for(lambda: attempts_of(server, payment["id"])[0][0] == "expired", timeout=20,
                 what="our deadline")
        emulator.outage = False
        decide(buyer, link, approve=True)  # the session was never cancelled at the bank
        done = wait_for_status(api, payment["id"], "succeeded")
        assert done["captured_amount"] == payment["amount"]
        assert attempts_of(server, payment["id"])[0][0] == "succeeded"


@pytest.mark.parametrize("delayed_capture", [True, False])
def test_a_buyer_who_pays_twice_for_one_payment_gets_the_second_back(
        make_server: Callable[..., LiveServer], delayed_capture: bool) -> None:
    server = make_server(attempt_ttl_seconds=2, attempt_grace_seconds=1,
                         acquirer_poll_seconds=0.3, sandbox_delayed_capture=delayed_capture)
    emulator = server.app.state.sandbox.emulators["bank131"]
    emulator.config = replace(emulator.config, session_ttl_seconds=3600)
    with clients(server) as (api, buyer):
        payment, old_link = checkout_with_link(api, buyer, server.url)
        refuse_cancels(buyer, payment["id"])
        emulator.outage = True  # we give the first link up but cannot cancel it at the bank
        wait_for(lambda: attempts_of(server, payment["id"])[0][0] == "expired", timeout=20,
                 what="the first attempt to be given up")
        emulator.outage = False
        start(buyer, payment["checkout_url"])
        new_link = wait_for_link(buyer, payment["checkout_url"])
        decide(buyer, new_link, approve=True)
        wait_for_status(api, payment["id"], "succeeded")
        decide(buyer, old_link, approve=True)  # the old link still worked at the bank

        first_ref = query(server.settings.db_url,
                          "SELECT acquirer_ref FROM attempts WHERE payment_id = :p "
                          "ORDER BY created_at", p=payment["id"])[0][0]

        def given_back() -> bool:
            state = session(server, first_ref)
            refunds = state["acquiring_payments"][0].get("refunds", [])
            return state["status"] == "cancelled" or any(
                r["status"] == "accepted" for r in refunds)
        def first_attempt_settled() -> bool:
            debt = query(server.settings.db_url,
                         "SELECT debt FROM attempts WHERE payment_id = :p "
                         "ORDER BY created_at", p=payment["id"])[0][0]
            return debt in ("refunded", "released")
        # Our record says it is settled only after the acquirer took the refund or release.
        wait_for(first_attempt_settled, timeout=20, what="the second payment to be given back")
        assert wait_for(given_back, timeout=10, what="the acquirer to finish giving it back")
        done = api.get(f"/api/v1/payments/{payment['id']}").json()
        assert done["status"] == "succeeded"
        assert done["captured_amount"] == payment["amount"] and done["refunded_amount"] == 0
