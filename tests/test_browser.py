"""The pages in a real browser: Debian's Chromium driven by Playwright, on loopback only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright

from tests.browsers import decode_qr, watch_console
from tests.buyer import TELEGRAM_ANDROID, new_payment, query
from tests.server import LiveServer

pytestmark = pytest.mark.browser

def action_url(server: LiveServer) -> str:
    return str(query(server.settings.db_url, "SELECT action_url FROM attempts")[0][0])


@pytest.mark.parametrize("acquirer", ["bank131", "tbank"])
def test_desktop_buyer_scans_a_real_qr_and_returns_to_the_shop(
        browser: Browser, server: LiveServer, tmp_path: Path, acquirer: str) -> None:
    """Link-returning acquirers: we show their T-Pay link as our own QR."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.select_option("form:has(button[data-product=mug]) select[name=acquirer]", acquirer)
    page.click("button[data-product=mug]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    assert page.get_attribute("html", "data-platform") == "desktop"
    shot = tmp_path / "qr.png"
    page.locator(".qr").screenshot(path=str(shot))
    assert decode_qr(shot) == action_url(server)
    assert page.get_attribute("a[data-action=open-here]", "href") == action_url(server)

    countdown = page.locator("time[data-countdown]")
    first = countdown.inner_text()
    page.wait_for_function(
        "t => document.querySelector('time[data-countdown]').textContent !== t", arg=first)
    assert first.startswith(("19:", "20:"))

    page.click("a[data-action=open-here]")  # "open on this device": the simulated T-Bank app
    page.click("form[data-action=approve] button")
    page.click("a[data-action=back-to-checkout]")
    page.wait_for_selector("[data-state=succeeded]", timeout=15_000)
    # The page returns the buyer to the shop by itself, which reads the status from our API.
    page.wait_for_url("**/shop/return?*payment_id=*", timeout=15_000)
    assert page.get_attribute(".payment-status", "data-status") == "succeeded"
    assert errors == []
    context.close()


def test_phone_buyer_taps_the_app_button_and_sees_success_by_polling(
        browser: Browser, iphone: dict[str, Any], server: LiveServer) -> None:
    context = browser.new_context(**iphone, locale="ru-RU")
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.click("button[data-product=coffee]")
    button = page.wait_for_selector("a[data-action=open-app]", timeout=15_000)
    assert page.get_attribute("html", "data-platform") == "mobile"
    assert button.get_attribute("href") == action_url(server)
    assert page.locator(".qr").count() == 0  # "pay from another phone" makes a QR link
    assert page.locator("button[data-action=switch-to-qr]").is_visible()
    checkout_url = page.url

    app = context.new_page()  # the T-Bank app, beside the checkout tab
    app.goto(button.get_attribute("href") or "")
    app.click("form[data-action=approve] button")
    # The checkout tab learns of it by polling, without a reload.
    page.wait_for_selector("[data-state=succeeded]", timeout=15_000)
    assert page.url == checkout_url or "/shop/return" in page.url
    assert errors == []
    context.close()


def test_declined_payment_offers_a_retry_in_the_browser(
        browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(server.url + "/")
    page.click("button[data-product=kettle]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    first = action_url(server)
    app = context.new_page()
    app.goto(first)
    app.click("form[data-action=decline] button")
    page.wait_for_selector("[data-state=attempt_failed]", timeout=15_000)
    page.click("button[data-action=retry]")
    page.wait_for_function(
        "u => { const q = document.querySelector('.qr'); return q && q.dataset.qrUrl !== u }",
        arg=first, timeout=15_000)
    context.close()


@pytest.mark.parametrize("acquirer", ["yookassa", "tbc"])
def test_buyer_pays_on_the_acquirers_own_page_and_comes_back(
        browser: Browser, iphone: dict[str, Any], server: LiveServer, acquirer: str) -> None:
    """Page-returning acquirers: our page sends the buyer to theirs, which sends them back."""
    context = browser.new_context(**iphone, locale="en-US")
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.select_option("form:has(button[data-product=mug]) select[name=acquirer]", acquirer)
    page.click("button[data-product=mug]")
    button = page.wait_for_selector("a[data-action=open-acquirer-page]", timeout=15_000)
    assert button.get_attribute("href") == action_url(server)
    assert f"/sandbox/{acquirer}/checkout/" in action_url(server)
    assert page.locator(".qr").count() == 0  # their page shows T-Pay's button or QR
    checkout_url = page.url
    button.click()
    page.click("form[data-action=approve] button")
    # Back on our checkout page (their return_url), which shows the true status at once.
    page.wait_for_selector("[data-state=succeeded]", timeout=15_000)
    assert page.url.split("?")[0] == checkout_url.split("?")[0] or "/shop/return" in page.url
    assert errors == []
    context.close()


@contextmanager
def merchant_site(host: str, html: str) -> Iterator[str]:
    """A merchant's own page on another origin (another loopback address or name)."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    bind = "127.0.0.1" if host == "localhost" else host
    site = ThreadingHTTPServer((bind, 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{site.server_address[1]}/"
    finally:
        site.shutdown()


def test_the_checkout_embeds_only_in_the_merchants_own_origins(
        browser: Browser, server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=15,
                      headers={"Authorization": "Bearer sk_test_demo"}) as api:
        payment = new_payment(api, server.url)
    frame = ('<!doctype html><title>shop</title><script>window.got = []; '
             'addEventListener("message", e => got.push({origin: e.origin, data: e.data}));'
             f'</script><iframe id="checkout" src="{payment["checkout_url"]}" width="420" '
             'height="760"></iframe>')
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    errors = watch_console(page)
    # The demo merchant's embed origins are http://127.0.0.1:* and http://localhost:*.
    with merchant_site("localhost", frame) as allowed:
        page.goto(allowed)
        framed = page.frame_locator("#checkout")
        framed.locator(".qr svg").wait_for(timeout=15_000)  # started and polling, in a frame
        assert framed.locator("a[data-action=open-here]").get_attribute("target") == "_top"
        app = context.new_page()  # the buyer approves in the T-Bank app
        app.goto(action_url(server))
        app.click("form[data-action=approve] button")
        # The parent hears of it by postMessage from the checkout's origin, and the frame
        # stays on the checkout: the parent decides where the buyer goes next.
        page.wait_for_function("got.some(m => m.data.final && m.data.status === 'succeeded')",
                               timeout=15_000)
        got = page.evaluate("got")
        assert {m["origin"] for m in got} == {server.url}
        assert {m["data"]["payment_id"] for m in got} == {payment["id"]}
        assert all(m["data"]["source"] == "tpay-checkout" and m["data"]["height"] > 100
                   for m in got)
        assert [m["data"]["status"] for m in got][0] == "pending"
        page.wait_for_timeout(3000)  # past the return delay: no navigation inside the frame
        assert "/c/" in page.frames[1].url
    assert errors == []
    with merchant_site("127.0.0.2", frame) as foreign:
        page.goto(foreign)
        page.wait_for_timeout(1500)
        assert page.frame_locator("#checkout").locator("[data-state]").count() == 0
    assert any("frame-ancestors" in e for e in errors), errors
    context.close()


def test_wrong_device_switch_in_the_browser(browser: Browser, iphone: dict[str, Any],
                                            server: LiveServer, tmp_path: Path) -> None:
    """A phone buyer whose T-Bank app is on another phone asks for a QR, and back."""
    context = browser.new_context(**iphone, locale="en-US")
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.click("button[data-product=coffee]")
    app_link = page.wait_for_selector("a[data-action=open-app]", timeout=15_000)
    first = app_link.get_attribute("href") or ""
    page.click("button[data-action=switch-to-qr]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    shot = tmp_path / "switched.png"
    page.locator(".qr").screenshot(path=str(shot))
    qr = decode_qr(shot)
    assert qr != first and "platform=desktop" in qr
    page.click("button[data-action=switch-to-app]")
    again = page.wait_for_selector("a[data-action=open-app]", timeout=15_000)
    assert "platform=mobile" in (again.get_attribute("href") or "")
    assert errors == []
    context.close()


def test_the_demo_shop_opens_the_checkout_in_a_modal_with_embed_js(
        browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.click("button[data-product-embedded=mug]")
    modal = page.wait_for_selector("[data-tpay-checkout=modal][role=dialog]", timeout=15_000)
    framed = page.frame_locator("[data-tpay-checkout] iframe")
    framed.locator(".qr svg").wait_for(timeout=15_000)
    # The frame grew to its content (the checkout told embed.js its height).
    height = page.evaluate("document.querySelector('[data-tpay-checkout] iframe').style.height")
    assert height.endswith("px") and int(height[:-2]) > 300
    assert page.get_attribute("[data-embed-checkout]", "data-last-status") == "pending"
    app = context.new_page()
    app.goto(action_url(server))
    app.click("form[data-action=approve] button")
    # On the final status embed.js sends the shop's page to its return URL (returnOnFinish).
    page.wait_for_url("**/shop/return?*payment_id=*", timeout=15_000)
    assert page.get_attribute(".payment-status", "data-status") == "succeeded"
    assert modal is not None and errors == []
    context.close()


def test_polling_slows_down_while_nothing_happens_and_wakes_on_focus(
        browser: Browser, server: LiveServer) -> None:
    """At the tests' 0.5 s interval: 0.5 s for 7.5 s, then 1.25 s; a focus polls at once."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    polls: list[float] = []
    page.on("request", lambda r: polls.append(time.monotonic()) if "/status?" in r.url
            else None)
    page.goto(server.url + "/")
    page.click("button[data-product=mug]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    begun = time.monotonic()
    page.wait_for_timeout(11_000)
    early = [t for t in polls if begun <= t < begun + 4]
    late = [t for t in polls if begun + 8.5 <= t < begun + 11]
    assert len(early) >= 6, early  # ~every 0.5 s
    assert 1 <= len(late) <= 3, late  # ~every 1.25 s
    before = len(polls)
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.wait_for_timeout(300)
    assert len(polls) > before  # the buyer is back: asked at once
    context.close()


def test_an_ipad_posing_as_a_mac_is_caught_by_its_touch_points(
        browser: Browser, server: LiveServer) -> None:
    """iPadOS Safari sends a Mac User-Agent; the page sees touch and asks for the app link."""
    ipad = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Safari/605.1.15")
    context = browser.new_context(user_agent=ipad, has_touch=True, locale="en-US",
                                  viewport={"width": 1024, "height": 1366})
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.click("button[data-product=mug]")
    button = page.wait_for_selector("a[data-action=open-app]", timeout=15_000)
    assert "platform=mobile" in (button.get_attribute("href") or "")
    assert page.get_attribute("html", "data-platform") == "mobile"
    rows = query(server.settings.db_url, "SELECT platform_type, platform_os FROM attempts")
    assert [tuple(r) for r in rows] == [("mobile", "ios")]
    # The same User-Agent without touch is a Mac: the QR.
    mac = browser.new_context(user_agent=ipad, locale="en-US")
    other = mac.new_page()
    other.goto(server.url + "/")
    other.click("button[data-product=mug]")
    other.wait_for_selector(".qr svg", timeout=15_000)
    assert other.locator("[data-touch-mac-offer]").is_hidden()
    assert errors == []
    mac.close()
    context.close()


def test_the_waiting_page_fits_the_budget_with_no_third_party_request(
        browser: Browser, server: LiveServer) -> None:
    """First load of the waiting page (QR shown): ≤ 60 KB over the wire, all from us, and the
    static assets fingerprinted, compressed and cached for a year."""
    with httpx.Client(base_url=server.url, timeout=15,
                      headers={"Authorization": "Bearer sk_test_demo"}) as api:
        payment = new_payment(api, server.url)
    context = browser.new_context(locale="en-US")
    warm = context.new_page()  # start it, so a fresh load shows the waiting page with its QR
    warm.goto(payment["checkout_url"])
    warm.wait_for_selector(".qr svg", timeout=15_000)
    warm.close()
    fresh = browser.new_context(locale="en-US")
    page = fresh.new_page()
    responses: list[Any] = []
    page.on("requestfinished", lambda r: responses.append(r))
    page.goto(payment["checkout_url"], wait_until="networkidle")
    page.wait_for_selector(".qr svg")
    loaded = [r for r in responses if "/status?" not in r.url]
    assert {r.url.split("/")[2] for r in responses} == {server.url.split("/")[2]}
    total = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
                for r in loaded)
    print(f"waiting page, first load: {total} bytes in {len(loaded)} responses")
    assert total <= 60_000, [(r.url, r.sizes()) for r in loaded]
    # The page, its stylesheet and one script (htmx and ours bundled).
    assert len(loaded) == 3, [r.url for r in loaded]
    for r in loaded:
        if "/static/" in r.url:
            headers = r.response().headers if r.response() else {}
            assert "?v=" in r.url and "immutable" in headers.get("cache-control", "")
            if r.url.split("?")[0].endswith((".js", ".css")) and \
                    r.sizes()["responseBodySize"] > 512:
                assert headers.get("content-encoding") == "gzip", r.url
    fresh.close()
    context.close()


def test_app_did_not_open_offers_the_ways_out(browser: Browser, iphone: dict[str, Any],
                                              server: LiveServer) -> None:
    """The tap on the app link leads nowhere (no app, or an app browser swallows it): 1.5 s
    later the page, still in front, offers to copy the link."""
    context = browser.new_context(**iphone, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    page.goto(server.url + "/")
    page.click("button[data-product=coffee]")
    page.wait_for_selector("a[data-action=open-app]", timeout=15_000)
    checkout = page.url
    # An app browser that swallows the tap: the link goes nowhere, the page stays.
    page.evaluate("document.addEventListener('click', e => { if (e.target.closest("
                  "'a[data-action=open-app]')) e.preventDefault(); }, true)")
    assert page.locator("[data-app-fallback]").is_hidden()
    page.click("a[data-action=open-app]")
    page.wait_for_selector("[data-app-fallback]:not([hidden])", timeout=5_000)
    page.click("button[data-action=copy-link]")
    assert page.evaluate("navigator.clipboard.readText()") == checkout.split("?")[0]
    context.close()


def test_the_qr_enlarges_to_the_full_screen_and_still_decodes(
        browser: Browser, server: LiveServer, tmp_path: Path) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 800, "height": 600})
    page = context.new_page()
    page.goto(server.url + "/")
    page.click("button[data-product=mug]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    small = page.locator(".qr svg").bounding_box()
    assert small and small["width"] >= 256
    assert page.inner_text(".qr-link") == action_url(server)  # the link, as text, beside it
    page.click("button[data-action=enlarge-qr]")
    big = page.locator(".qr-full svg").bounding_box()
    assert big and big["width"] >= 0.9 * 600
    shot = tmp_path / "full.png"
    page.screenshot(path=str(shot))
    assert decode_qr(shot) == action_url(server)
    page.keyboard.press("Escape")
    assert page.locator(".qr-full").count() == 0
    context.close()


def test_dark_mode_keeps_the_qr_black_on_white(browser: Browser, server: LiveServer,
                                                tmp_path: Path) -> None:
    context = browser.new_context(locale="en-US", color_scheme="dark")
    page = context.new_page()
    page.goto(server.url + "/")
    page.click("button[data-product=mug]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 15, 16)"
    assert page.evaluate("getComputedStyle(document.querySelector('.qr svg'))"
                         ".backgroundColor") == "rgb(255, 255, 255)"
    shot = tmp_path / "dark.png"
    page.locator(".qr").screenshot(path=str(shot))
    assert decode_qr(shot) == action_url(server)
    context.close()


@pytest.mark.server_settings(attempt_ttl_seconds=66)
def test_the_countdown_ticks_silently_and_announces_milestones(
        browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(server.url + "/")
    page.click("button[data-product=mug]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    assert page.get_attribute(".countdown", "aria-live") == "off"
    assert page.get_attribute("#status", "aria-live") == "polite"
    announce = page.locator("[data-countdown-announce]")
    assert announce.inner_text() == ""  # nothing said at 65 s left…
    page.wait_for_function("() => document.querySelector('[data-countdown-announce]')"
                           ".textContent !== ''", timeout=10_000)
    assert announce.inner_text() == "1 min left to approve"  # …once, at the minute
    context.close()


def test_coming_back_in_a_fresh_browser_shows_the_true_status_at_once(
        browser: Browser, playwright: Playwright, server: LiveServer) -> None:
    """iOS often returns from the T-Bank app to Safari, not to the tab that started: the
    checkout link alone (no cookie, no session) shows where the payment stands."""
    phone = dict(playwright.devices["Pixel 7"])
    first = browser.new_context(**phone, locale="ru-RU")  # Android, Russian
    page = first.new_page()
    page.goto(server.url + "/")
    page.click("button[data-product=coffee]")
    button = page.wait_for_selector("a[data-action=open-app]", timeout=15_000)
    assert page.get_attribute("html", "lang") == "ru"
    assert "Оплатить через T-Pay" in (button.inner_text() or "")
    checkout_url = page.url
    app = first.new_page()
    app.goto(button.get_attribute("href") or "")
    app.click("form[data-action=approve] button")
    first.close()  # the tab that started is gone
    fresh = browser.new_context(**phone, locale="ka-GE")  # another browser, in Georgian
    other = fresh.new_page()
    other.goto(checkout_url.split("?")[0])
    other.wait_for_selector("[data-state=succeeded]", timeout=15_000)
    assert other.get_attribute("html", "lang") == "ka"
    assert cookies_of(fresh) == []
    fresh.close()


def test_a_hidden_tab_that_comes_back_asks_for_the_page_as_it_stands(
        browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(server.url + "/")
    page.click("button[data-product=mug]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/status?" in r.url else None)
    # The tab was hidden for a while (e.g. the phone slept): pretend so, then come back.
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
        Date.now = ((real) => () => real() + 60000)(Date.now);
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(500)
    assert any("v=0" in url for url in asked), asked  # a full answer, countdown included
    context.close()


def cookies_of(context: Any) -> list[Any]:
    return list(context.cookies())


def tab_to(page: Page, selector: str, limit: int = 30) -> None:
    """Press Tab until `selector` has the focus, as a keyboard-only buyer does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never took the focus")


def test_a_keyboard_only_buyer_pays(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(server.url + "/")
    tab_to(page, "button[data-product=mug]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".qr svg", timeout=15_000)
    checkout = page.url
    tab_to(page, "a[data-action=open-here]")
    page.keyboard.press("Enter")  # the T-Pay link, on this device
    page.wait_for_selector("form[data-action=approve]")
    tab_to(page, "form[data-action=approve] button")
    page.keyboard.press("Enter")
    page.wait_for_selector(".tbank-state:has-text('Payment approved')", timeout=15_000)
    page.goto(checkout)
    page.wait_for_selector("[data-state=succeeded]", timeout=15_000)
    context.close()


def test_a_buyer_inside_telegram_is_told_and_still_pays(
        browser: Browser, playwright: Playwright, server: LiveServer) -> None:

    context = browser.new_context(**{**playwright.devices["Pixel 7"],
                                     "user_agent": TELEGRAM_ANDROID}, locale="en-US")
    page = context.new_page()
    errors = watch_console(page)
    page.goto(server.url + "/")
    page.click("button[data-product=coffee]")
    notice = page.wait_for_selector("[data-in-app=telegram]", timeout=15_000)
    assert notice.is_visible()
    assert (page.get_attribute("a[data-action=open-in-browser]", "href") or "").startswith(
        "intent://")
    app = context.new_page()
    app.goto(page.get_attribute("a[data-action=open-app]", "href") or "")
    app.click("form[data-action=approve] button")
    page.wait_for_selector("[data-state=succeeded]", timeout=15_000)
    assert errors == []
    context.close()
