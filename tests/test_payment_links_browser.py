"""Payment links in Debian's Chromium: made in the console, opened on a phone and on a
desktop, paid, and seen in the console; an expired, a deactivated and a used link each say
why; axe-core finds no violation on any of the link's pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browsers import assert_accessible, decode_qr, watch_console
from tests.buyer import execute, query
from tests.console import DEMO_OWNER, DEMO_PASSWORD
from tests.server import LiveServer

pytestmark = [pytest.mark.browser,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def _signed_in(browser: Browser, server: LiveServer) -> tuple[Any, Page]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/console/m/mer_demo/links")
    page.wait_for_url("**/console/login?next=*")
    page.fill("#email", DEMO_OWNER)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button.primary")
    page.wait_for_url("**/console/m/mer_demo/links")
    return context, page


def _pay_on(page: Page, url: str, mobile: bool) -> None:
    """The buyer opens the link, presses Pay, and approves in the (simulated) T-Bank app."""
    page.goto(url)
    assert_accessible(page, "payment link, open")
    page.click("[data-action=pay-link]")
    if mobile:
        button = page.wait_for_selector("a[data-action=open-app]", timeout=15_000)
        app = page.context.new_page()
        app.goto(button.get_attribute("href") or "")
        app.click("form[data-action=approve] button")
        app.close()
    else:
        page.wait_for_selector(".qr svg", timeout=15_000)
        page.click("a[data-action=open-here]")
        page.click("form[data-action=approve] button")
        page.click("a[data-action=back-to-checkout]")
    page.wait_for_selector("[data-state=succeeded]", timeout=15_000)
    # Back from the checkout by itself: the link's page thanks the buyer.
    page.wait_for_selector("[data-state=link_paid]", timeout=15_000)
    assert_accessible(page, "payment link, paid")


def test_a_link_made_in_the_console_is_paid_on_a_phone_and_a_desktop(
        browser: Browser, iphone: dict[str, Any], server: LiveServer, tmp_path: Path) -> None:
    context, console = _signed_in(browser, server)
    errors = watch_console(console)
    assert_accessible(console, "console links, none yet")
    console.click("details:has([data-action=create-link]) summary")
    console.fill("#description", "Table 4")
    console.fill("#amount", "1 290")
    console.check("input[name=reusable]")
    assert_accessible(console, "console links, the form")
    console.click("[data-action=create-link]")
    console.wait_for_selector("[data-link-url]")
    assert_accessible(console, "console link, made")
    url = console.input_value("[data-link-url]")
    shot = tmp_path / "qr.png"
    console.locator("figure.qr").screenshot(path=str(shot))
    assert decode_qr(shot) == url  # the printed QR opens the link
    with console.expect_download() as png:
        console.click("a[data-qr=png]")
    assert png.value.path().read_bytes().startswith(b"\x89PNG")

    phone = browser.new_context(**iphone, locale="ru-RU")
    buyer = phone.new_page()
    buyer_errors = watch_console(buyer)
    _pay_on(buyer, url, mobile=True)
    desktop = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    other = desktop.new_page()
    other_errors = watch_console(other)
    _pay_on(other, url, mobile=False)

    console.reload()
    assert console.inner_text("[data-totals]").startswith("2 / 2")
    assert console.locator("tr[data-payment]").count() == 2
    console.click("tr[data-payment] a")
    console.wait_for_selector("[data-attempt]")
    assert errors == [] and buyer_errors == [] and other_errors == []
    for ctx in (context, phone, desktop):
        ctx.close()


def test_an_expired_a_deactivated_and_a_used_link_each_say_why(
        browser: Browser, server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=15,
                      headers={"Authorization": "Bearer sk_test_demo"}) as api:
        made = {name: api.post("/api/v1/payment_links", json={
            "currency": "RUB", "description": f"Invoice {name}", **fields}).json()
            for name, fields in (("expired", {"amount": 100_00}),
                                 ("deactivated", {"amount": 100_00}),
                                 ("used", {"amount": 100_00}),
                                 ("range", {"min_amount": 100_00, "max_amount": 900_00}))}
        api.post(f"/api/v1/payment_links/{made['deactivated']['id']}/deactivate")
    execute(server.settings.db_url, "UPDATE payment_links SET expires_at = :t WHERE id = :l",
            t=datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1),
            l=made["expired"]["id"])
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    errors = watch_console(page)
    _pay_on(page, made["used"]["url"], mobile=False)
    for state in ("expired", "deactivated", "used"):
        page.goto(made[state]["url"])
        page.wait_for_selector(f"[data-state=link_{state}]")
        assert page.locator("[data-action=pay-link]").count() == 0
        assert_accessible(page, f"payment link, {state}")
    page.goto(made["range"]["url"])
    page.fill("#amount", "5")
    page.click("[data-action=pay-link]")
    page.wait_for_selector("#amount[aria-invalid=true]")
    assert_accessible(page, "payment link, an amount out of range")
    assert query(server.settings.db_url, "SELECT count(*) FROM payments WHERE "
                 "payment_link_id = :l", l=made["range"]["id"])[0][0] == 0
    assert [e for e in errors if "status of 4" not in e] == []
    context.close()
