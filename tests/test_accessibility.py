"""axe-core (the engine, as packaged by axe-playwright-python) in Debian's Chromium: no
violation, of any impact, on any state of the buyer's pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright

from tests.browsers import assert_accessible, decode_qr
from tests.buyer import TELEGRAM_ANDROID, add_merchant, decide, new_payment, query
from tests.server import LiveServer

pytestmark = pytest.mark.browser


def _checkout(server: LiveServer, api: httpx.Client, page: Page) -> dict[str, Any]:
    payment = new_payment(api, server.url)
    page.goto(payment["checkout_url"])
    return payment


def _link(server: LiveServer, payment: dict[str, Any]) -> str:
    return str(query(server.settings.db_url, "SELECT action_url FROM attempts WHERE "
                     "payment_id = :p ORDER BY created_at DESC", p=payment["id"])[0][0])


STATES: dict[str, tuple[dict[str, Any], Callable[..., None]]] = {}


def state(name: str, **context: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        STATES[name] = (context, fn)
        return fn
    return register


@state("shop")
def _shop(server: LiveServer, api: httpx.Client, page: Page) -> None:
    page.goto(server.url + "/")


@state("waiting, QR", viewport={"width": 1280, "height": 900})
def _waiting_qr(server: LiveServer, api: httpx.Client, page: Page) -> None:
    _checkout(server, api, page)
    page.wait_for_selector("[data-state=awaiting] .qr svg")


@state("waiting, app button", device="iPhone 13")
def _waiting_button(server: LiveServer, api: httpx.Client, page: Page) -> None:
    _checkout(server, api, page)
    page.wait_for_selector("a[data-action=open-app]")


@state("in-app browser", device="Pixel 7", user_agent=TELEGRAM_ANDROID)
def _in_app(server: LiveServer, api: httpx.Client, page: Page) -> None:
    _checkout(server, api, page)
    page.wait_for_selector("[data-in-app=telegram]")


@state("succeeded")
def _succeeded(server: LiveServer, api: httpx.Client, page: Page) -> None:
    payment = _checkout(server, api, page)
    page.wait_for_selector(".qr svg")
    decide(httpx.Client(base_url=server.url), _link(server, payment), approve=True)
    page.wait_for_selector("[data-state=succeeded]")


@state("declined")
def _declined(server: LiveServer, api: httpx.Client, page: Page) -> None:
    payment = _checkout(server, api, page)
    page.wait_for_selector(".qr svg")
    decide(httpx.Client(base_url=server.url), _link(server, payment), approve=False)
    page.wait_for_selector("[data-state=attempt_failed]")


@state("canceled by the shop")
def _canceled(server: LiveServer, api: httpx.Client, page: Page) -> None:
    payment = _checkout(server, api, page)
    page.wait_for_selector(".qr svg")
    assert api.post(f"/api/v1/payments/{payment['id']}/cancel").status_code == 200
    page.wait_for_selector("[data-state=payment_canceled]")


@state("unknown link")
def _unknown(server: LiveServer, api: httpx.Client, page: Page) -> None:
    page.goto(server.url + "/c/not-a-token")


@state("acquirer's own page, waiting", device="iPhone 13")
def _page_family(server: LiveServer, api: httpx.Client, page: Page) -> None:
    headers = add_merchant(server.settings.db_url, "mer_yk", "sk_test_yk",
                           return_origins='["http://127.0.0.1:*"]', acquirer="yookassa")
    with httpx.Client(base_url=server.url, headers=headers) as yk:
        payment = new_payment(yk, server.url)
    page.goto(payment["checkout_url"])
    page.wait_for_selector("a[data-action=open-acquirer-page]")


@state("embedded, in the demo shop's modal")
def _embedded(server: LiveServer, api: httpx.Client, page: Page) -> None:
    page.goto(server.url + "/")
    page.click("button[data-product-embedded=mug]")
    page.frame_locator("[data-tpay-checkout] iframe").locator(".qr svg").wait_for()


@pytest.mark.parametrize("name", list(STATES))
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # pages, not storage
def test_no_accessibility_violation(playwright: Playwright, browser: Browser,
                                    server: LiveServer, api: httpx.Client, name: str) -> None:
    context_args, reach = STATES[name]
    context_args = dict(context_args)
    device = context_args.pop("device", None)
    base = dict(playwright.devices[device]) if device else {}
    context = browser.new_context(**{**base, **context_args, "locale": "en-US"})
    page = context.new_page()
    page.set_default_timeout(15_000)
    reach(server, api, page)
    assert_accessible(page, name)
    context.close()


EXPECTED_STATE = {
    "start": "start", "receipt-contact": "contact", "preparing": "preparing",
    "awaiting-qr": "awaiting",
    "awaiting-app": "awaiting", "awaiting-last-minute": "awaiting", "checking": "checking",
    "acquirer-page": "awaiting", "declined": "attempt_failed",
    "method-unavailable": "attempt_failed",
    "attempt-expired": "attempt_failed", "succeeded": "succeeded",
    "waiting-for-capture": "waiting_capture", "payment-expired": "payment_expired",
    "payment-failed": "payment_failed", "payment-canceled": "payment_canceled",
}
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_gallery_shows_every_state_accessible_screenshotted_and_scannable(
        playwright: Playwright, browser: Browser, server: LiveServer) -> None:
    """Each state, on a desktop, an iPhone and the smallest phone we support (320 px): no axe
    violation, a screenshot under tests/artifacts/, and every QR decodes to its link."""
    from checkout.pages.samples import SAMPLE_LINK, STATES

    assert set(STATES) == set(EXPECTED_STATE)
    ARTIFACTS.mkdir(exist_ok=True)
    devices = {"desktop": ({"viewport": {"width": 1280, "height": 900}}, "desktop"),
               "iphone": (dict(playwright.devices["iPhone 13"]), "iphone"),
               "small-phone": ({**playwright.devices["iPhone SE"],
                                "viewport": {"width": 320, "height": 568}}, "iphone")}
    for name, (options, ua) in devices.items():
        context = browser.new_context(**{**options, "locale": "en-US"})
        page = context.new_page()
        for state, expected in EXPECTED_STATE.items():
            page.goto(f"{server.url}/sandbox/gallery/{state}?ua={ua}&lang=en")
            assert page.get_attribute("#status", "data-state") == expected, (state, name)
            shot = ARTIFACTS / f"{state}-{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            if page.locator(".qr svg").count():
                qr = ARTIFACTS / f"{state}-{name}-qr.png"
                page.locator(".qr").screenshot(path=str(qr))
                assert decode_qr(qr) == SAMPLE_LINK, (state, name)
            assert_accessible(page, f"{state} on {name}")
        context.close()
