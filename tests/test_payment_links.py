"""Payment links: made by the API or the console, opened by anyone (which changes nothing),
paid by a buyer's press of Pay through the usual checkout; a single-use link takes one
payment, an expired or deactivated one none, and each says why in the buyer's language."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.buyer import decide, execute, query, start, wait_for_link, wait_for_status
from tests.console import TEST_PASSWORD, add_user, csrf_of, signed_in
from tests.server import LiveServer

PREVIEW_BOTS = ("TelegramBot (like TwitterBot)", "WhatsApp/2.23.20.0",
                "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")


def make_link(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    resp = api.post("/api/v1/payment_links", json={
        "currency": "RUB", "description": "Invoice 7", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def press_pay(buyer: httpx.Client, url: str, **form: str) -> httpx.Response:
    page = buyer.get(url)
    assert page.status_code == 200, page.text
    token = re.search(r'name="ft" value="([^"]+)"', page.text)
    assert token, page.text
    return buyer.post(url, data={"ft": token.group(1), **form})


def pay_through(server: LiveServer, api: httpx.Client, link: dict[str, Any],
                **form: str) -> dict[str, Any]:
    """A buyer opens the link, presses Pay, and approves in the T-Bank app."""
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        pressed = press_pay(buyer, link["url"], **form)
        assert pressed.status_code == 303, pressed.text
        checkout = pressed.headers["location"].split("?")[0]
        start(buyer, checkout)
        decide(buyer, wait_for_link(buyer, checkout), approve=True)
    (payment_id,) = [r[0] for r in query(server.settings.db_url,
                                         "SELECT id FROM payments WHERE payment_link_id = :l "
                                         "ORDER BY created_at DESC LIMIT 1", l=link["id"])]
    return wait_for_status(api, payment_id, "succeeded", timeout=20)


def payments_of(server: LiveServer, link: dict[str, Any]) -> int:
    return int(query(server.settings.db_url, "SELECT count(*) FROM payments WHERE "
                     "payment_link_id = :l", l=link["id"])[0][0])


def test_a_link_made_by_the_api_is_paid_once_and_then_refuses(
        server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, amount=500_00)
    assert link["object"] == "payment_link" and link["reusable"] is False
    assert re.fullmatch(rf"{server.url}/l/[A-Za-z0-9]{{12}}", link["url"])
    assert link["active"] and link["totals"] == {"payments": 0, "succeeded": 0,
                                                 "paid_amount": 0}
    paid = pay_through(server, api, link)
    assert paid["amount"] == 500_00 and paid["payment_link_id"] == link["id"]
    assert paid["description"] == "Invoice 7"
    # The merchant's webhook says which link it was.
    bodies = [r[0] for r in query(server.settings.db_url, "SELECT body FROM events WHERE "
                                  "payment_id = :p", p=paid["id"])]
    assert bodies and all(f'"payment_link_id": "{link["id"]}"' in b or
                          f'"payment_link_id":"{link["id"]}"' in b for b in bodies)
    shown = api.get(f"/api/v1/payment_links/{link['id']}").json()
    assert shown["active"] is False
    assert shown["totals"] == {"payments": 1, "succeeded": 1, "paid_amount": 500_00}
    # Used: the page says so, in the buyer's language, and a press makes nothing.
    for lang, words in (("en", "paid already"), ("ru", "уже заплатили"), ("ka", "გადახდილია")):
        page = httpx.get(link["url"], headers={"Accept-Language": lang})
        assert page.status_code == 410 and words in page.text, lang
        assert 'data-state="link_used"' in page.text
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        token = "x" * 64  # the form is gone: no token to take from the page
        assert buyer.post(link["url"], data={"ft": token}).status_code == 403
    assert payments_of(server, link) == 1
    # The buyer's way back from the checkout: thanks, not "paid already".
    back = httpx.get(f"{link['url']}?payment_id={paid['id']}")
    assert back.status_code == 200 and 'data-state="link_paid"' in back.text


def test_opening_a_link_changes_nothing(server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, amount=100_00, reusable=True)
    for agent in PREVIEW_BOTS:
        assert httpx.get(link["url"], headers={"User-Agent": agent}).status_code == 200
        assert httpx.head(link["url"], headers={"User-Agent": agent}).status_code == 200
    assert payments_of(server, link) == 0
    assert httpx.get(f"{server.url}/l/NoSuchLink12").status_code == 404
    assert httpx.get(f"{server.url}/l/{'a' * 40}").status_code == 404
    assert httpx.get(f"{server.url}/l/..%2Fadmin").status_code == 404


def test_a_press_without_the_pages_form_is_refused(server: LiveServer,
                                                   api: httpx.Client) -> None:
    link = make_link(api, amount=100_00, reusable=True)
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        page = buyer.get(link["url"])
        token = re.search(r'name="ft" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert buyer.post(link["url"], data={}).status_code == 403
        assert buyer.post(link["url"], data={"ft": token},
                          headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert payments_of(server, link) == 0


def test_a_single_use_link_pressed_again_rejoins_its_live_payment(
        server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, amount=250_00)
    with httpx.Client(base_url=server.url, timeout=20) as one, \
            httpx.Client(base_url=server.url, timeout=20) as two:
        first = press_pay(one, link["url"]).headers["location"]
        again = press_pay(two, link["url"]).headers["location"]
    assert first.split("?")[0] == again.split("?")[0]
    assert payments_of(server, link) == 1


def test_buyers_pressing_a_single_use_link_at_once_make_one_payment(
        server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, amount=250_00)
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        token = re.search(r'name="ft" value="([^"]+)"',  # type: ignore[union-attr]
                          buyer.get(link["url"]).text).group(1)
    answers: list[int] = []
    gate = threading.Barrier(8)

    def press() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            gate.wait()
            answers.append(client.post(link["url"], data={"ft": token}).status_code)

    threads = [threading.Thread(target=press) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [303] * 8
    assert payments_of(server, link) == 1


def test_a_reusable_link_takes_many_payments_and_counts_them(
        server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, amount=120_00, reusable=True)
    pay_through(server, api, link)
    with httpx.Client(base_url=server.url, timeout=20) as buyer:  # pressed, never paid
        assert press_pay(buyer, link["url"]).status_code == 303
    pay_through(server, api, link)
    shown = api.get(f"/api/v1/payment_links/{link['id']}").json()
    assert shown["active"] is True
    assert shown["totals"] == {"payments": 3, "succeeded": 2, "paid_amount": 240_00}


def test_the_buyer_enters_an_amount_within_the_links_range(
        server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, min_amount=100_00, max_amount=5_000_00, reusable=True,
                     description="Donation")
    page = httpx.get(link["url"], headers={"Accept-Language": "en"})
    assert 'id="amount"' in page.text and "100.00" in page.text.replace(",", ".")
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Accept-Language": "en"}) as buyer:
        for entered in ("99.99", "5000.01", "lots", "", "1e3", "-200", "1.005", "NaN"):
            refused = press_pay(buyer, link["url"], amount=entered)
            assert refused.status_code == 422, entered
            assert "within the range" in refused.text and 'aria-invalid="true"' in refused.text
    assert payments_of(server, link) == 0
    paid = pay_through(server, api, link, amount="1 234,50")
    assert paid["amount"] == 1_234_50


def test_an_expired_or_deactivated_link_takes_nothing_and_says_why(
        server: LiveServer, api: httpx.Client) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    expiring = make_link(api, amount=100_00, expires_at=soon)
    assert expiring["expires_at"]
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        token = re.search(r'name="ft" value="([^"]+)"',  # type: ignore[union-attr]
                          buyer.get(expiring["url"]).text).group(1)
        execute(server.settings.db_url, "UPDATE payment_links SET expires_at = :t WHERE id = :l",
                t=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1),
                l=expiring["id"])
        page = buyer.get(expiring["url"], headers={"Accept-Language": "en"})
        assert page.status_code == 410 and 'data-state="link_expired"' in page.text
        assert buyer.post(expiring["url"], data={"ft": token}).status_code == 410
    gone = make_link(api, amount=100_00, reusable=True)
    resp = api.post(f"/api/v1/payment_links/{gone['id']}/deactivate")
    assert resp.status_code == 200 and resp.json()["active"] is False
    assert resp.json()["deactivated_at"]
    page = httpx.get(gone["url"], headers={"Accept-Language": "ru"})
    assert page.status_code == 410 and "больше не действует" in page.text
    assert payments_of(server, expiring) == payments_of(server, gone) == 0


@pytest.mark.parametrize(("fields", "field"), [
    ({"amount": 100_00, "min_amount": 1_00, "max_amount": 2_00}, "min_amount"),
    ({"min_amount": 100_00}, "max_amount"),
    ({"min_amount": 500_00, "max_amount": 100_00}, "max_amount"),
    ({}, "min_amount"),
    ({"amount": 0}, "amount"),
    ({"amount": 100_00, "currency": "XXX"}, "currency"),
    ({"amount": 100_00, "description": ""}, "description"),
    ({"amount": 100_00, "reusable": "yes"}, "reusable"),
    ({"amount": 100_00, "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ({"amount": 100_00, "expires_at": "2099-01-01T00:00:00Z"}, "expires_at"),
    ({"amount": 100_00, "expires_at": "tomorrow"}, "expires_at"),
    ({"amount": 100_00, "expires_at": "2027-01-01T00:00:00"}, "expires_at"),  # no zone
    ({"amount": 100_00, "colour": "red"}, "colour"),
    ({"amount": 100_00, "currency": "GEL"}, "currency"),  # Bank 131 takes no GEL
])
def test_a_link_the_merchant_cannot_take_is_refused_naming_the_field(
        server: LiveServer, api: httpx.Client, fields: dict[str, Any], field: str) -> None:
    resp = api.post("/api/v1/payment_links", json={
        "currency": "RUB", "description": "Invoice 7", **fields})
    assert resp.status_code == 422, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]], resp.text
    assert query(server.settings.db_url, "SELECT count(*) FROM payment_links")[0][0] == 0


def test_links_are_listed_newest_first_and_paged_and_kept_to_their_merchant(
        server: LiveServer, api: httpx.Client) -> None:
    made = [make_link(api, amount=(i + 1) * 100_00) for i in range(3)]
    first = api.get("/api/v1/payment_links", params={"limit": 2}).json()
    assert [x["id"] for x in first["data"]] == [made[2]["id"], made[1]["id"]]
    assert first["has_more"] is True
    rest = api.get("/api/v1/payment_links", params={"limit": 2,
                                                    "starting_after": made[1]["id"]}).json()
    assert [x["id"] for x in rest["data"]] == [made[0]["id"]] and rest["has_more"] is False
    assert api.get("/api/v1/payment_links", params={"limit": 0}).status_code == 422
    assert api.get("/api/v1/payment_links",
                   params={"starting_after": "plink_x"}).status_code == 422
    with httpx.Client(base_url=server.url, timeout=10,
                      headers={"Authorization": "Bearer sk_test_demo_yookassa"}) as other:
        assert other.get(f"/api/v1/payment_links/{made[0]['id']}").status_code == 404
        assert other.post(f"/api/v1/payment_links/{made[0]['id']}/deactivate"
                          ).status_code == 404
        assert other.get("/api/v1/payment_links").json()["data"] == []
    assert httpx.get(f"{server.url}/api/v1/payment_links").status_code == 401


def test_a_retried_create_under_its_key_makes_one_link(server: LiveServer,
                                                       api: httpx.Client) -> None:
    body = {"currency": "RUB", "description": "Invoice 8", "amount": 100_00}
    one = api.post("/api/v1/payment_links", json=body, headers={"Idempotency-Key": "k-8"})
    two = api.post("/api/v1/payment_links", json=body, headers={"Idempotency-Key": "k-8"})
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    other = api.post("/api/v1/payment_links", json={**body, "amount": 200_00},
                     headers={"Idempotency-Key": "k-8"})
    assert other.status_code == 422
    assert query(server.settings.db_url, "SELECT count(*) FROM payment_links")[0][0] == 1


@pytest.mark.server_settings(rate_limit_link_payments="2/minute")
def test_presses_of_pay_are_limited_per_client(server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, amount=100_00, reusable=True)
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        answers = [press_pay(buyer, link["url"]).status_code for _ in range(3)]
    assert answers == [303, 303, 429]
    assert payments_of(server, link) == 2


def test_the_console_makes_a_link_shows_its_qr_and_deactivates_it(server: LiveServer) -> None:
    email = add_user(server.settings.db_url, "support@shop.example", "mer_demo", "support")
    with signed_in(server, email, TEST_PASSWORD) as client:
        csrf = csrf_of(client, "/console/m/mer_demo/links")
        refused = client.post("/console/m/mer_demo/links/create", data={
            "csrf": csrf, "description": "Counter", "currency": "RUB", "kind": "range",
            "min_amount": "500", "max_amount": "100"})
        assert refused.status_code == 422
        assert re.search(r'id="max_amount"[^>]*aria-invalid="true"', refused.text)
        made = client.post("/console/m/mer_demo/links/create", data={
            "csrf": csrf, "description": "Counter", "currency": "RUB", "kind": "range",
            "min_amount": "100", "max_amount": "5 000,50", "reusable": "1"})
        assert made.status_code == 303
        link_page = made.headers["location"].split("?")[0]
        ((link_id, low, high, reusable),) = query(
            server.settings.db_url, "SELECT id, min_amount, max_amount, reusable FROM "
            "payment_links")
        assert (low, high, bool(reusable)) == (100_00, 5_000_50, True)
        page = client.get(link_page).text
        assert "<svg" in page and "/l/" in page
        svg = client.get(f"{link_page}/qr.svg")
        assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
        assert "attachment" in svg.headers["content-disposition"]
        png = client.get(f"{link_page}/qr.png")
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
        listed = client.get("/console/m/mer_demo/links").text
        assert f'data-link="{link_id}"' in listed
        done = client.post(f"{link_page}/deactivate", data={"csrf": csrf})
        assert done.status_code == 303
        assert 'data-state="deactivated"' in client.get(link_page).text
    actions = [r[0] for r in query(server.settings.db_url, "SELECT action FROM audit_log "
                                   "WHERE target = :l", l=link_id)]
    assert sorted(actions) == ["payment_link.create", "payment_link.deactivate"]


def test_a_viewer_reads_links_but_makes_none(server: LiveServer, api: httpx.Client) -> None:
    link = make_link(api, amount=100_00)
    email = add_user(server.settings.db_url, "viewer@shop.example", "mer_demo", "viewer")
    with signed_in(server, email, TEST_PASSWORD) as client:
        csrf = csrf_of(client, "/console/m/mer_demo/links")
        assert client.get(f"/console/m/mer_demo/links/{link['id']}").status_code == 200
        assert client.post("/console/m/mer_demo/links/create", data={
            "csrf": csrf, "description": "X", "amount": "100"}).status_code == 403
        assert client.post(f"/console/m/mer_demo/links/{link['id']}/deactivate",
                           data={"csrf": csrf}).status_code == 403
    assert api.get(f"/api/v1/payment_links/{link['id']}").json()["active"] is True
