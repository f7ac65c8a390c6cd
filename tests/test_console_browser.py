"""The console in Debian's Chromium: signed in by keyboard alone, every page state free of axe
violations and console errors, and laid out from a 320 px phone to a wide screen."""

from __future__ import annotations

from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, Page

from tests.browsers import assert_accessible, watch_console
from tests.buyer import decide, new_payment, start, wait_for, wait_for_link, wait_for_status
from tests.console import DEMO_OWNER, DEMO_PASSWORD, TEST_PASSWORD, add_user
from tests.server import LiveServer

pytestmark = [pytest.mark.browser,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
ARTIFACTS = Path(__file__).parent / "artifacts"


def _watch(page: Page) -> list[str]:
    """Console errors and failed loads, but a page's own 4xx status: the refusal pages (401,
    400, 404) are meant, and Chromium reports their status as an error too."""
    errors = watch_console(page)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and r.request.resource_type != "document" else None)
    return errors


def _real(errors: list[str]) -> list[str]:
    return [e for e in errors if not e.startswith("Failed to load resource: the server "
                                                  "responded with a status of 4")]


def _sign_in_by_keyboard(page: Page, server: LiveServer, email: str = DEMO_OWNER,
                         password: str = DEMO_PASSWORD) -> None:
    page.goto(server.url + "/console/m/mer_demo/payments")
    page.wait_for_url("**/console/login?next=*")
    page.locator("#email").focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/m/mer_demo/payments")


def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user gets there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_an_owner_signs_in_by_keyboard_and_every_page_is_accessible(
        browser: Browser, server: LiveServer, api: httpx.Client) -> None:
    paid = new_payment(api, server.url, reference="order-7")
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        start(buyer, paid["checkout_url"])
        decide(buyer, wait_for_link(buyer, paid["checkout_url"]), approve=True)
    waiting = new_payment(api, server.url)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _watch(page)
    page.goto(server.url + "/console/login")
    assert_accessible(page, "console sign-in")
    page.fill("#email", DEMO_OWNER)
    page.fill("#password", "wrong, and long enough")
    page.click("button.primary")
    page.wait_for_selector("[role=alert]")
    assert_accessible(page, "console sign-in, refused")
    _sign_in_by_keyboard(page, server)
    page.wait_for_selector(f"tr[data-payment='{waiting['id']}'][hx-trigger]")
    assert_accessible(page, "console payments")
    page.goto(server.url + "/console/m/mer_demo/payments?min=ten")
    page.wait_for_selector("[role=alert]")
    assert_accessible(page, "console payments, a bad filter")
    page.goto(server.url + f"/console/m/mer_demo/payments/{paid['id']}")
    page.wait_for_selector("[data-attempt]")
    assert_accessible(page, "console payment story")
    page.goto(server.url + "/console/m/mer_nobody/payments")
    assert_accessible(page, "console not found")
    page.click("header a[href='/console/account']")
    page.wait_for_selector("[data-second-factor=off] ~ .qr svg")
    assert_accessible(page, "console account, second factor off")
    secret = page.input_value("[data-totp-secret]")
    page.fill("form:has([data-action=second-factor-on]) input[name=code]",
              pyotp.TOTP(secret).now())
    page.click("[data-action=second-factor-on]")
    page.wait_for_selector("[data-second-factor=on]")
    assert_accessible(page, "console account, second factor on")
    # Signing out by keyboard: the button is reachable and ends the session.
    page.goto(server.url + "/console/m/mer_demo/payments")
    page.locator("form.sign-out button[type=submit]").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/login")
    page.goto(server.url + "/console/m/mer_demo/payments")
    page.wait_for_url("**/console/login?next=*")
    assert _real(errors) == []
    context.close()


@pytest.mark.parametrize("width", [320, 768, 1280, 1920])
def test_the_console_holds_its_layout_at_every_width(browser: Browser, server: LiveServer,
                                                     api: httpx.Client, width: int) -> None:
    for i in range(3):
        new_payment(api, server.url, reference=f"a-rather-long-order-reference-{i}")
    context = browser.new_context(locale="en-US", viewport={"width": width, "height": 800})
    page = context.new_page()
    _sign_in_by_keyboard(page, server)
    # Nothing sticks out of the page sideways; the table scrolls inside its own box.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-payments-{width}.png"), full_page=True)
    assert_accessible(page, f"console payments at {width}px")
    context.close()


@pytest.mark.parametrize("width", [320, 768, 1280, 1920])
def test_the_demo_shop_keeps_its_items_inside_their_card(browser: Browser, server: LiveServer,
                                                         width: int) -> None:
    # Once, the "Buy here (embedded)" buttons stuck out past the card on a 1280 px desktop.
    context = browser.new_context(locale="en-US", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(server.url + "/")
    card = page.locator("main.card").bounding_box()
    assert card is not None
    for item in page.locator(".shop-item button, .shop-item select").all():
        box = item.bounding_box()
        assert box is not None
        assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"], \
            (width, item.inner_text(), box, card)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"shop-{width}.png"), full_page=True)
    context.close()


def test_a_support_user_refunds_part_of_a_payment_by_keyboard_alone(
        browser: Browser, server: LiveServer, api: httpx.Client) -> None:
    paid = new_payment(api, server.url, reference="order-k")
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        start(buyer, paid["checkout_url"])
        decide(buyer, wait_for_link(buyer, paid["checkout_url"]), approve=True)
    wait_for_status(api, paid["id"], "succeeded")
    email = add_user(server.settings.db_url, "sam@shop.example", "mer_demo", "support")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_console(page)
    _sign_in_by_keyboard(page, server, email, TEST_PASSWORD)
    _tab_to(page, f"a[href$='/payments/{paid['id']}']")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-action=refund]")
    assert_accessible(page, "console payment story, support")
    _tab_to(page, "form:has([data-action=refund]) input[name=amount]")
    page.keyboard.type("40.50")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-action=confirm]")
    assert "40.50" in page.inner_text("main")
    assert_accessible(page, "console confirm a refund")
    _tab_to(page, "[data-action=confirm]")
    page.keyboard.press("Enter")
    page.wait_for_selector("[role=status]")
    assert_accessible(page, "console refund asked for")
    assert wait_for_status(api, paid["id"], "succeeded")["refunded_amount"] in (0, 40_50)
    wait_for(lambda: api.get(f"/api/v1/payments/{paid['id']}").json()["refunded_amount"]
             == 40_50 or None, what="the refund to settle")
    assert errors == []
    context.close()


def test_an_owner_invites_a_developer_who_joins_and_makes_and_rolls_a_key(
        browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _watch(page)
    _sign_in_by_keyboard(page, server)
    page.click("nav a[href$='/team']")
    page.wait_for_selector("[data-member='owner@demo.test']")
    assert_accessible(page, "console team")
    page.fill("input[name=email]", "dev@shop.example")
    page.select_option("form:has([data-action=invite]) select[name=role]", "developer")
    page.click("[data-action=invite]")
    link = page.input_value("[data-invite-link]")
    assert "/console/invite/" in link
    assert_accessible(page, "console invitation made")
    page.click("nav a[href$='/audit']")
    page.wait_for_selector("[data-audit='team.invite']")
    assert_accessible(page, "console audit log")
    guest = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    newcomer = guest.new_page()
    newcomer_errors = _watch(newcomer)
    newcomer.goto(link)
    assert_accessible(newcomer, "console accept an invitation")
    newcomer.fill("#password", "a long new password")
    newcomer.fill("#again", "a long new password")
    newcomer.click("[data-action=join]")
    newcomer.wait_for_url("**/console/m/mer_demo/payments")
    assert "developer" in newcomer.inner_text("header")
    # The developer makes a payments key (a full one is not theirs to make, nor to roll),
    # then rolls it: the successor is shown once and works at once, the old key still works
    # through the overlap.
    newcomer.click("nav a[href$='/keys']")
    newcomer.wait_for_selector("[data-key='key_demo']")
    assert newcomer.locator("[data-key='key_demo'] [data-action=roll]").count() == 0
    assert_accessible(newcomer, "console API keys")
    newcomer.click("details.card summary")
    assert newcomer.locator("input[name=scope][value=full]").count() == 0
    newcomer.check("input[name=scope][value=payments]")
    assert_accessible(newcomer, "console API keys, a scope chosen")
    newcomer.click("[data-action=create-key]")
    made = newcomer.input_value("[data-api-key]")
    made_row = newcomer.locator("tr[data-scope=payments]").first
    made_id = made_row.get_attribute("data-key")
    made_row.locator("summary:has-text('Roll')").click()
    assert_accessible(newcomer, "console API keys, a roll explained")
    newcomer.click(f"[data-key='{made_id}'] [data-action=roll]")
    successor = newcomer.input_value("[data-api-key]")
    assert successor.startswith("sk_test_") and successor != made
    assert_accessible(newcomer, "console API key shown once")
    for key in (successor, made):
        with httpx.Client(base_url=server.url, timeout=15,
                          headers={"Authorization": f"Bearer {key}"}) as api:
            assert api.get("/api/v1/payments?limit=1").status_code == 200
    assert newcomer.locator(f"[data-key='{made_id}'][data-state='ending']").count() == 1
    # The owner removing the developer is offered to stop the keys they made.
    page.click("nav a[href$='/team']")
    offer = page.locator("[data-member='dev@shop.example'] [data-revoke-keys]")
    assert offer.is_checked()
    assert_accessible(page, "console team, a member with keys")
    assert _real(errors) == [] and _real(newcomer_errors) == []
    guest.close()
    context.close()


def test_a_colleague_with_an_account_signs_in_then_joins_in_the_browser(
        browser: Browser, server: LiveServer) -> None:
    add_user(server.settings.db_url, "ann@shop.example", "mer_demo_tbc", "owner")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _watch(page)
    _sign_in_by_keyboard(page, server)
    page.click("nav a[href$='/team']")
    page.fill("input[name=email]", "ann@shop.example")
    page.select_option("form:has([data-action=invite]) select[name=role]", "support")
    page.click("[data-action=invite]")
    link = page.input_value("[data-invite-link]")
    page.goto(link)  # the owner, signed in as someone else, is told whose it is
    page.wait_for_selector("#other-account")
    assert page.locator("[data-action=join]").count() == 0
    assert_accessible(page, "console an invitation for another account")
    guest = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    ann = guest.new_page()
    ann_errors = _watch(ann)
    ann.goto(link)
    assert ann.locator("#password").count() == 1  # the same form as for a new email
    ann.click("[data-action=sign-in-first]")
    ann.wait_for_url("**/console/login?next=*")
    ann.fill("#email", "ann@shop.example")
    ann.fill("#password", TEST_PASSWORD)
    ann.keyboard.press("Enter")
    ann.wait_for_url(link)
    assert ann.locator("#password").count() == 0
    assert_accessible(ann, "console take an invitation, signed in")
    ann.click("[data-action=join]")
    ann.wait_for_url("**/console/m/mer_demo/payments")
    assert "support" in ann.inner_text("header")
    assert _real(errors) == [] and _real(ann_errors) == []
    guest.close()
    context.close()


def test_a_developer_adds_and_rotates_a_webhook_endpoint_in_the_browser(
        browser: Browser, server: LiveServer) -> None:
    add_user(server.settings.db_url, "dev@shop.example", "mer_demo", "developer")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _watch(page)
    _sign_in_by_keyboard(page, server, "dev@shop.example", TEST_PASSWORD)
    page.click("nav a[href$='/webhooks']")
    page.wait_for_selector("[data-endpoint='we_demo']")
    assert_accessible(page, "console webhooks")
    page.fill("input[name=url]", "https://hooks.shop.example/tpay")
    page.click("[data-action=add-endpoint]")
    secret = page.input_value("[data-secret]")
    assert secret.startswith("whsec_")
    assert_accessible(page, "console webhook secret shown once")
    endpoint = page.locator("[data-endpoint]:has-text('hooks.shop.example')")
    endpoint.locator("[data-action=rotate]").click()
    assert page.input_value("[data-secret]") != secret
    assert "also signs until" in page.inner_text("main")
    page.locator("[data-endpoint]:has-text('hooks.shop.example') summary").click()
    assert_accessible(page, "console webhook deletion explained")
    page.locator("[data-endpoint]:has-text('hooks.shop.example') [data-action=delete]").click()
    page.wait_for_selector("[role=status]")
    assert page.locator("[data-endpoint]:has-text('hooks.shop.example')").count() == 0
    page.goto(server.url + "/console/m/mer_demo/webhooks?status=failed")
    assert_accessible(page, "console webhooks, delivery log filtered")
    assert _real(errors) == []
    context.close()


def _rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_an_export_of_100000_payments_streams_in_flat_memory(
        browser: Browser, server: LiveServer, tmp_path: Path) -> None:
    import csv
    import gc
    import threading

    from bench.seed import seed_sync

    # In a thread of its own: Playwright's sync API holds this thread's event loop.
    seeding = threading.Thread(target=seed_sync, args=(server.settings.db_url, 100_000))
    seeding.start()
    seeding.join()
    context = browser.new_context(locale="en-US", accept_downloads=True)
    page = context.new_page()
    errors = _watch(page)
    _sign_in_by_keyboard(page, server)
    gc.collect()
    # The server runs in this process: its resident memory, sampled through the download.
    baseline, peak, done = _rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            done.wait(0.02)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with page.expect_download(timeout=120_000) as download:
        page.click("[data-action=export]")
    saved = tmp_path / "payments.csv"
    download.value.save_as(saved)
    done.set()
    sampler.join()
    with saved.open(newline="") as f:
        assert sum(1 for _ in csv.reader(f)) == 100_001  # the header and every payment
    size = saved.stat().st_size
    grew = peak[0] - baseline
    print(f"export: {size / 1e6:.1f} MB of CSV, server memory grew {grew / 1e6:.1f} MB")
    # Held whole, 100,000 rows and their text would take far more than the file itself.
    assert size > 10_000_000 and grew < size / 2, (size, grew)
    assert _real(errors) == []
    context.close()


def test_a_developer_sees_the_checkout_change_in_the_preview_before_saving(
        browser: Browser, server: LiveServer) -> None:
    add_user(server.settings.db_url, "dev@shop.example", "mer_demo", "developer")
    context = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors = _watch(page)
    _sign_in_by_keyboard(page, server, "dev@shop.example", TEST_PASSWORD)
    page.click("nav a[href$='/settings']")
    page.wait_for_selector("#preview iframe")
    assert_accessible(page, "console checkout settings")
    page.fill("#name", "Kettle Bros")
    page.fill("#accent_color", "#0b3d91")
    # htmx asks for new frames as the form changes; the phone's frame shows the new look.
    phone = page.frame_locator(".frame-iphone iframe")
    phone.locator("text=Kettle Bros").first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "console-settings-preview.png"), full_page=True)
    page.click("[data-action=save-settings]")
    page.wait_for_selector("[role=status]")
    assert_accessible(page, "console checkout settings, saved")
    page.fill("#return_origins", "tea.example")  # not an origin: refused by the server
    page.click("[data-action=save-settings]")
    page.wait_for_selector("[role=alert]")
    assert_accessible(page, "console checkout settings, refused")
    assert _real(errors) == []
    context.close()


def test_an_operator_onboards_a_merchant_and_makes_a_reset_link_in_the_browser(
        browser: Browser, server: LiveServer) -> None:
    add_user(server.settings.db_url, "op@checkout.example", operator=True)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _watch(page)
    _sign_in_by_keyboard(page, server, "op@checkout.example", TEST_PASSWORD)
    page.goto(server.url + "/console")  # an operator's home: every merchant to choose from
    page.wait_for_selector(".choices a[href='/console/m/mer_demo/payments']")
    assert_accessible(page, "console merchants to choose from")
    page.click("header a.operator-link")
    page.wait_for_selector("[data-merchant='mer_demo']")
    assert_accessible(page, "console operator")
    page.fill("#on-name", "Tea & Co")
    page.fill("#on-return", "https://tea.example")
    page.select_option("#on-acquirer", "tbc")
    page.fill("#on-owner", "owner@tea.example")
    page.click("[data-action=onboard]")
    assert "/console/invite/" in page.input_value("[data-invite-link]")
    assert_accessible(page, "console operator, merchant onboarded")
    page.click(f"[data-user='{DEMO_OWNER}'] [data-action=reset-link]")
    link = page.input_value("[data-reset-link]")
    assert_accessible(page, "console operator, reset link made")
    person = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    reset = person.new_page()
    reset_errors = _watch(reset)
    reset.goto(link)
    assert_accessible(reset, "console set a new password")
    reset.fill("#password", "a new passphrase!")
    reset.fill("#again", "a new passphrase!")
    reset.click("[data-action=reset]")
    reset.wait_for_url("**/console/login?done=reset")
    assert_accessible(reset, "console sign-in after a reset")
    assert _real(errors) == [] and _real(reset_errors) == []
    person.close()
    context.close()


def test_an_owner_adds_checks_and_uses_an_acquirer_account_in_the_browser(
        browser: Browser, server: LiveServer) -> None:
    from checkout.sandbox import tbank

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = _watch(page)
    page.goto(server.url + "/console/m/mer_demo_tbank/acquirer")
    page.wait_for_url("**/console/login?next=*")
    page.fill("#email", "owner+tbank@demo.test")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button.primary")
    page.wait_for_url("**/console/m/mer_demo_tbank/acquirer")
    assert_accessible(page, "console acquirer, no account of its own")
    page.click("[data-add=tbank] summary")
    page.fill("#add-tbank-label", "Counter terminal")
    page.fill("#add-tbank-terminal_key", tbank.TERMINAL2)
    page.fill("#add-tbank-password", "not-the-password")
    page.click("[data-add=tbank] [data-action=add-account]")
    page.wait_for_selector("[data-account] [data-check=never]")
    assert_accessible(page, "console acquirer, an account added")
    page.click("[data-account] [data-action=check]")
    page.wait_for_selector("[data-account] [data-check=failed]")
    assert "refuses the password" in page.inner_text("[data-account]")
    page.click("[data-account] summary")
    assert page.input_value("[data-account] input[name=password]") == ""  # never sent back
    page.fill("[data-account] input[name=password]", tbank.PASSWORD2)
    assert_accessible(page, "console acquirer, replacing settings")
    page.click("[data-account] [data-action=change]")
    page.click("[data-account] [data-action=check]")
    page.wait_for_selector("[data-account] [data-check=passed]")
    page.click("[data-account] [data-action=use]")
    page.wait_for_selector("[data-account] .pill.ok:has-text('in use')")
    assert_accessible(page, "console acquirer, the account in use")
    assert _real(errors) == []
    context.close()
