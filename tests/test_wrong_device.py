"""Wrong device? The buyer switches between the app button and a QR for another phone.

Bank 131 fixes the kind of link when the session starts, so a switch is a new attempt with the
other platform type, and the old session is canceled at the acquirer first.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.buyer import (
    IPHONE,
    WINDOWS_CHROME,
    add_merchant,
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


def switch(client: httpx.Client, checkout_url: str, ua: str, to: str,
           page: str = "") -> str:
    """Press the switch, as htmx does; `page` is the page the buyer had open (default: now)."""
    html = page or open_page(client, checkout_url, ua)
    resp = client.post(path_of(checkout_url) + "/attempts",
                       data={"ft": form_token(html), "switch": to},
                       headers={"User-Agent": ua, "HX-Request": "true",
                                "Sec-Fetch-Site": "same-origin"})
    assert resp.status_code in (200, 286), resp.text
    return resp.text


def attempts(server: LiveServer, payment_id: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in query(
        server.settings.db_url, "SELECT platform_type, status FROM attempts WHERE "
        "payment_id = :p ORDER BY created_at", p=payment_id)]


def test_a_phone_buyer_switches_to_a_qr_and_the_old_link_is_canceled_first(
        server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"], IPHONE)
        app_link = wait_for_link(buyer, payment["checkout_url"], IPHONE)
        assert "platform=mobile" in app_link
        assert 'data-action="switch-to-qr"' in open_page(buyer, payment["checkout_url"], IPHONE)

        switch(buyer, payment["checkout_url"], IPHONE, "desktop")
        qr_link = wait_for(lambda: (link := wait_for_link(buyer, payment["checkout_url"],
                                                          IPHONE)) != app_link and link,
                           what="a new, QR-kind link")
        assert "platform=desktop" in qr_link
        html = open_page(buyer, payment["checkout_url"], IPHONE)
        assert 'class="qr"' in html and 'data-action="switch-to-app"' in html
        assert attempts(server, payment["id"]) == [("mobile", "canceled"),
                                                   ("desktop", "awaiting_buyer")]
        decide(buyer, app_link, approve=True)  # the old link: the bank refuses it now
        decide(buyer, qr_link, approve=True)   # the other phone pays
        done = wait_for_status(api, payment["id"], "succeeded")
        assert done["captured_amount"] == 150_00
        assert attempts(server, payment["id"])[0] == ("mobile", "canceled")


def test_switching_back_to_the_app_and_repeating_a_switch_changes_nothing_more(
        server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"], IPHONE)
        wait_for_link(buyer, payment["checkout_url"], IPHONE)
        switch(buyer, payment["checkout_url"], IPHONE, "desktop")
        switch(buyer, payment["checkout_url"], IPHONE, "desktop")  # a double tap
        wait_for(lambda: attempts(server, payment["id"])[-1] == ("desktop", "awaiting_buyer"),
                 what="the QR attempt")
        switch(buyer, payment["checkout_url"], IPHONE, "mobile")
        wait_for(lambda: attempts(server, payment["id"])[-1] == ("mobile", "awaiting_buyer"),
                 what="the app attempt again")
        assert [s for _, s in attempts(server, payment["id"])] == [
            "canceled", "canceled", "awaiting_buyer"]
        html = open_page(buyer, payment["checkout_url"], IPHONE)
        assert 'data-action="open-app"' in html and 'class="qr"' not in html
        # A computer opening this app-kind link is offered the switch to a QR, not the app.
        desktop = open_page(buyer, payment["checkout_url"], WINDOWS_CHROME)
        assert 'data-action="switch-to-qr"' in desktop
        assert re.search(r'data-action="open-app"[^>]*\s+hidden data-touch-mac-offer', desktop)


def test_no_switch_after_the_buyer_paid(server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"], IPHONE)
        link = wait_for_link(buyer, payment["checkout_url"], IPHONE)
        stale = open_page(buyer, payment["checkout_url"], IPHONE)  # still on screen
        decide(buyer, link, approve=True)
        wait_for_status(api, payment["id"], "succeeded")
        assert state_of(switch(buyer, payment["checkout_url"], IPHONE, "desktop",
                               stale)) == "succeeded"
        assert attempts(server, payment["id"]) == [("mobile", "succeeded")]


def test_an_acquirer_with_its_own_page_needs_no_new_attempt(server: LiveServer) -> None:
    headers = add_merchant(server.settings.db_url, "mer_yk", "sk_test_yk",
                           return_origins='["http://127.0.0.1:*"]', acquirer="yookassa")
    with httpx.Client(base_url=server.url, headers=headers, timeout=15) as api, \
            httpx.Client(base_url=server.url, timeout=15) as buyer:
        payment = new_payment(api, server.url)
        first = open_page(buyer, payment["checkout_url"], IPHONE)
        start(buyer, payment["checkout_url"], IPHONE)
        wait_for_link(buyer, payment["checkout_url"], IPHONE)
        assert "switch-to" not in open_page(buyer, payment["checkout_url"], IPHONE)
        switch(buyer, payment["checkout_url"], IPHONE, "desktop", first)  # sent anyway
        assert attempts(server, payment["id"]) == [("mobile", "awaiting_buyer")]


def _press(buyer: httpx.Client, checkout_url: str, page: str, to: str) -> int:
    return buyer.post(path_of(checkout_url) + "/attempts",
                      data={"ft": form_token(page), "switch": to},
                      headers={"User-Agent": IPHONE, "HX-Request": "true",
                               "Sec-Fetch-Site": "same-origin"}).status_code


def test_presses_of_the_switch_are_throttled_per_payment(server: LiveServer) -> None:
    """20 anonymous presses in a row once made 21 attempts and 62 signed calls to the bank.
    Now a payment takes `CHECKOUT_RATE_LIMIT_ATTEMPT_STARTS_PAYMENT` (10 a minute) presses,
    the rest answered 429 with Retry-After and no call out."""
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        page = open_page(buyer, payment["checkout_url"], IPHONE)
        answers = [_press(buyer, payment["checkout_url"], page, ("desktop", "mobile")[n % 2])
                   for n in range(20)]
        assert answers.count(429) == 10 and set(answers[:10]) <= {200, 286}, answers
        assert len(attempts(server, payment["id"])) <= 10
        # Another payment's buyer at the same address is not held back by this one.
        other = new_payment(api, server.url)
        assert _press(buyer, other["checkout_url"],
                      open_page(buyer, other["checkout_url"], IPHONE), "mobile") == 200


@pytest.mark.server_settings(attempts_per_payment_max=3,
                             rate_limit_attempt_starts_payment="100/minute")
def test_a_payment_has_at_most_its_cap_of_attempts_and_the_last_link_stays(
        server: LiveServer) -> None:
    """Past the cap a switch changes nothing: the live link is not canceled for a new one
    that could not be opened, so the buyer can still pay on it."""
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"], IPHONE)
        for to in ("desktop", "mobile", "desktop", "mobile"):
            wait_for_link(buyer, payment["checkout_url"], IPHONE)
            switch(buyer, payment["checkout_url"], IPHONE, to)
        made = attempts(server, payment["id"])
        assert len(made) == 3 and made[-1] == ("mobile", "awaiting_buyer"), made
        decide(buyer, wait_for_link(buyer, payment["checkout_url"], IPHONE), approve=True)
        assert wait_for_status(api, payment["id"], "succeeded")["captured_amount"] == 150_00
