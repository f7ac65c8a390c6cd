"""54-FZ receipts (issue 32), through the real drivers against their emulators over HTTP, on
both databases: a YooKassa shop with fiscalization on and a T-Bank terminal with an online cash
register (the sandbox's receipt demo merchants) refuse a payment without a receipt as the
acquirers do; we refuse it first, clearly, and carry a valid one on every money-moving call.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from checkout.flow.console import demo_email
from checkout.sandbox import tbank as tbank_sandbox
from checkout.sandbox import yookassa as yookassa_sandbox
from tests.buyer import decide, query, start, wait_for, wait_for_link, wait_for_status
from tests.console import signed_in
from tests.server import LiveServer

YOOKASSA_KEY = yookassa_sandbox.RECEIPTS.api_key
TBANK_KEY = tbank_sandbox.RECEIPTS.api_key

TEA = {"name": "Зелёный чай «Юн Ву», 100 г", "quantity": 2, "unit_price": 450_00,
       "amount": 900_00, "vat": "vat22", "payment_object": "commodity", "measure": "piece"}
MUG = {"name": "Кружка для чая", "quantity": 1, "unit_price": 600_00, "amount": 600_00,
       "vat": "vat22", "payment_method": "full_payment", "payment_object": "commodity"}
RECEIPT = {"email": "buyer@example.com", "taxation": "osn"}


@pytest.fixture
def clients(server: LiveServer) -> Iterator[dict[str, httpx.Client]]:
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Authorization": f"Bearer {YOOKASSA_KEY}"}) as yookassa, \
            httpx.Client(base_url=server.url, timeout=20,
                         headers={"Authorization": f"Bearer {TBANK_KEY}"}) as tbank, \
            httpx.Client(base_url=server.url, timeout=20) as buyer:
        yield {"yookassa": yookassa, "tbank": tbank, "buyer": buyer}


def _create(server: LiveServer, api: httpx.Client, **fields: Any) -> httpx.Response:
    return api.post("/api/v1/payments", json={
        "amount": 1500_00, "currency": "RUB", "description": "Order 54",
        "return_url": f"{server.url}/shop/return", **fields})


def _pay(server: LiveServer, buyer: httpx.Client, payment: dict[str, Any],
         status: str = "succeeded") -> None:
    start(buyer, payment["checkout_url"])
    decide(buyer, wait_for_link(buyer, payment["checkout_url"]), True)


def _docs(server: LiveServer, acquirer: str, kind: str) -> list[dict[str, Any]]:
    """What the emulated acquirer keeps, from its own storage."""
    path = server.settings.data_dir / "sandbox" / f"{acquirer}.db"
    with sqlite3.connect(path) as db:
        return [json.loads(r[0]) for r in
                db.execute("SELECT doc FROM docs WHERE kind = ? ORDER BY rowid", (kind,))]


def _errors(resp: httpx.Response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in resp.json().get("errors", [])}


# ---- YooKassa: a shop with fiscalization on ------------------------------------------------

def test_a_yookassa_shop_with_receipts_on_says_so_and_refuses_a_payment_without_one(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    api = clients["yookassa"]
    acquirer = api.get("/api/v1/acquirer").json()
    assert acquirer["capabilities"]["receipts"] == "required"  # from YooKassa's GET /me
    refused = _create(server, api)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/receipt-required")
    assert "receipt" in _errors(refused)
    assert _docs(server, "yookassa", "payment") == []  # no payment was asked of YooKassa


def test_a_yookassa_receipt_carries_the_mapped_codes_and_the_buyers_email(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    api = clients["yookassa"]
    created = _create(server, api, items=[TEA, MUG], receipt=RECEIPT)
    assert created.status_code == 201, created.text
    payment = created.json()
    assert payment["items"][0]["quantity"] == 2 and payment["items"][1]["vat"] == "vat22"
    assert payment["receipt"] == {"taxation": "osn", "contact_given": True, "status": None,
                                  "url": None, "settlement": None}
    _pay(server, clients["buyer"], payment)
    wait_for_status(api, payment["id"], "succeeded", timeout=30)
    [sent] = _docs(server, "yookassa", "receipt")
    assert sent["type"] == "payment" and sent["status"] == "succeeded"
    assert sent["request"] == {
        "customer": {"email": "buyer@example.com"}, "tax_system_code": 1,
        "items": [
            {"description": TEA["name"], "quantity": 2,
             "amount": {"value": "450.00", "currency": "RUB"}, "vat_code": 11,
             "payment_mode": "full_payment", "payment_subject": "commodity",
             "measure": "piece"},
            {"description": MUG["name"], "quantity": 1,
             "amount": {"value": "600.00", "currency": "RUB"}, "vat_code": 11,
             "payment_mode": "full_payment", "payment_subject": "commodity"}]}
    # YooKassa's `receipt_registration` lands on the payment.
    wait_for(lambda: api.get(f"/api/v1/payments/{payment['id']}").json()["receipt"]["status"]
             == "succeeded", timeout=30, what="the receipt registered")


def test_a_partial_yookassa_capture_and_a_refund_of_one_item_carry_their_receipts(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    api = clients["yookassa"]
    one = {**MUG, "unit_price": 900_00, "amount": 900_00}
    payment = _create(server, api, items=[one, MUG], receipt=RECEIPT, capture=False).json()
    _pay(server, clients["buyer"], payment)
    wait_for_status(api, payment["id"], "waiting_for_capture", timeout=30)
    # 60 %: with no items said, each single item in proportion.
    captured = api.post(f"/api/v1/payments/{payment['id']}/capture", json={"amount": 900_00})
    assert captured.status_code == 200, captured.text
    wait_for_status(api, payment["id"], "succeeded", timeout=30)
    receipts = [r for r in _docs(server, "yookassa", "receipt") if r["status"] != "canceled"]
    [capture] = receipts
    assert [(i["amount"]["value"], i["quantity"]) for i in capture["request"]["items"]] == [
        ("540.00", 1), ("360.00", 1)]  # 900.00 in proportion to 900.00 and 600.00
    refund = api.post(f"/api/v1/payments/{payment['id']}/refunds", json={
        "amount": 360_00, "items": [{**MUG, "unit_price": 360_00, "amount": 360_00}]})
    assert refund.status_code == 201, refund.text
    wait_for(lambda: api.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"]
             == 360_00, timeout=30, what="the refund")
    [returned] = [r for r in _docs(server, "yookassa", "receipt") if r["type"] == "refund"]
    assert returned["request"]["items"] == [{
        "description": MUG["name"], "quantity": 1,
        "amount": {"value": "360.00", "currency": "RUB"}, "vat_code": 11,
        "payment_mode": "full_payment", "payment_subject": "commodity"}]


# ---- T-Bank: a terminal with an online cash register (FFD 1.2) --------------------------------

def test_a_tbank_receipt_goes_with_init_confirm_and_cancel_and_its_registration_comes_back(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    api = clients["tbank"]
    assert api.get("/api/v1/acquirer").json()["capabilities"]["receipts"] == "required"
    assert _create(server, api).json()["type"].endswith("/receipt-required")
    payment = _create(server, api, items=[TEA, MUG],
                      receipt={"phone": "+7 (900) 123-45-67", "taxation": "usn_income"},
                      capture=False).json()
    _pay(server, clients["buyer"], payment)
    wait_for_status(api, payment["id"], "waiting_for_capture", timeout=30)
    [doc] = _docs(server, "tbank", "payment")
    assert doc["Receipt"] == {
        "FfdVersion": "1.2", "Taxation": "usn_income", "Phone": "+79001234567",
        "Items": [
            {"Name": TEA["name"], "Price": 450_00, "Quantity": 2, "Amount": 900_00,
             "Tax": "vat22", "PaymentMethod": "full_payment", "PaymentObject": "commodity",
             "MeasurementUnit": "шт"},
            {"Name": MUG["name"], "Price": 600_00, "Quantity": 1, "Amount": 600_00,
             "Tax": "vat22", "PaymentMethod": "full_payment", "PaymentObject": "commodity",
             "MeasurementUnit": "шт"}]}
    # A partial capture says which items: the tea only.
    captured = api.post(f"/api/v1/payments/{payment['id']}/capture",
                        json={"amount": 900_00, "items": [TEA]})
    assert captured.status_code == 200, captured.text
    wait_for_status(api, payment["id"], "succeeded", timeout=30)
    [doc] = _docs(server, "tbank", "payment")
    assert [i["Name"] for i in doc["Receipt"]["Items"]] == [TEA["name"]]
    # The cash register's RECEIPT notification: registered, with its address.
    done = wait_for(lambda: (lambda p: p if p["receipt"]["status"] == "succeeded" else None)(
        api.get(f"/api/v1/payments/{payment['id']}").json()), timeout=30,
        what="the receipt registered")
    assert done["receipt"]["url"].startswith(f"{server.url}/sandbox/tbank/receipts/")
    assert httpx.get(done["receipt"]["url"]).json()["Receipt"]["Items"][0]["Name"] == \
        TEA["name"]
    events = query(server.settings.db_url, "SELECT type FROM events WHERE payment_id = :p",
                   p=payment["id"])
    assert ("payment.receipt_registered",) in [tuple(e) for e in events]
    with signed_in(server, demo_email(tbank_sandbox.RECEIPTS.merchant_id)) as console:
        shown = console.get(f"/console/m/mer_demo_receipts_tbank/payments/{payment['id']}")
        assert shown.status_code == 200, shown.text
        assert 'data-receipt="succeeded"' in shown.text
        assert f'href="{done["receipt"]["url"]}"' in shown.text
    # A refund of one of the two teas: its own receipt on Cancel.
    half = {**TEA, "quantity": 1, "amount": 450_00}
    refund = api.post(f"/api/v1/payments/{payment['id']}/refunds",
                      json={"amount": 450_00, "items": [half]})
    assert refund.status_code == 201, refund.text
    wait_for(lambda: api.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"]
             == 450_00, timeout=30, what="the refund")
    [doc] = _docs(server, "tbank", "payment")
    assert [(r["Type"], r["Amount"], r["Receipt"]["Items"][0]["Quantity"])
            for r in doc["receipts"]] == [("IncomeReturn", 450_00, 1)]


def test_a_partial_capture_of_items_of_several_units_must_say_which(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    api = clients["tbank"]
    payment = _create(server, api, items=[TEA, MUG], receipt=RECEIPT, capture=False).json()
    _pay(server, clients["buyer"], payment)
    wait_for_status(api, payment["id"], "waiting_for_capture", timeout=30)
    resp = api.post(f"/api/v1/payments/{payment['id']}/capture", json={"amount": 900_00})
    assert resp.status_code == 422, resp.text
    assert "items" in _errors(resp)
    bad = api.post(f"/api/v1/payments/{payment['id']}/capture",
                   json={"amount": 900_00, "items": [MUG]})
    assert _errors(bad) == {"items": "the items' amounts must sum to the amount, 90000; they "
                                     "sum to 60000"}
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == \
        "waiting_for_capture"


# ---- refused before any call ------------------------------------------------------------------

@pytest.mark.parametrize(("item", "field", "message"), [
    ({**MUG, "amount": 599_00}, "items[1].amount", "must be quantity × unit_price: 60000"),
    ({**MUG, "quantity": 1.0005}, "items[1].quantity",
     "must be a number greater than 0 with at most 3 decimals (at most 99999.999)"),
    ({**MUG, "vat": "vat18"}, "items[1].vat",
     "must be one of none, vat0, vat5, vat7, vat10, vat20, vat22, vat105, vat107, vat110, "
     "vat120, vat122"),
    ({**MUG, "vat": "vat20"}, "items[1].vat", "vat20 may not be used from 2026-01-01: use vat22"),
    ({**MUG, "payment_object": "gizmo"}, "items[1].payment_object", "must be one of"),
])
def test_a_bad_item_is_refused_naming_its_field_before_any_call(
        server: LiveServer, clients: dict[str, httpx.Client], item: dict[str, Any],
        field: str, message: str) -> None:
    resp = _create(server, clients["tbank"], items=[TEA, item], receipt=RECEIPT)
    assert resp.status_code == 422, resp.text
    assert _errors(resp)[field].startswith(message)
    assert _docs(server, "tbank", "payment") == []


def test_items_must_sum_to_the_amount_and_a_receipt_needs_a_tax_system(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    resp = _create(server, clients["yookassa"], items=[TEA],
                   receipt={"email": "not an email", "taxation": "envd"})
    assert _errors(resp) == {
        "items": "the items' amounts must sum to the amount, 150000; they sum to 90000",
        "receipt.email": "must be an email address",
        "receipt.taxation": "envd may not be used from 2021-01-01"}


def test_an_acquirer_without_receipts_refuses_one_naming_itself(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Authorization": "Bearer sk_test_demo"}) as api:
        assert api.get("/api/v1/acquirer").json()["capabilities"]["receipts"] == "unsupported"
        resp = _create(server, api, items=[TEA, MUG], receipt=RECEIPT)
        assert resp.status_code == 422, resp.text
        assert resp.json()["type"].endswith("/unsupported-by-acquirer")
        assert _errors(resp) == {"receipt": "not carried by bank131"}
        # Items alone are fine anywhere: the page shows them.
        assert _create(server, api, items=[TEA, MUG]).status_code == 201


# ---- the buyer's contact, asked on the page ----------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_link_at_a_receipt_terminal_asks_the_buyer_where_to_send_it(
        browser: Any, server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    from tests.browsers import assert_accessible

    api = clients["tbank"]
    refused = api.post("/api/v1/payment_links", json={
        "amount": 1290_00, "currency": "RUB", "description": "Table 4"})
    assert refused.status_code == 422 and "receipt" in _errors(refused)
    made = api.post("/api/v1/payment_links", json={
        "amount": 1290_00, "currency": "RUB", "description": "Table 4", "reusable": True,
        "receipt": {"taxation": "patent", "vat": "none", "payment_object": "service"}})
    assert made.status_code == 201, made.text
    assert made.json()["receipt"] == {"taxation": "patent", "vat": "none",
                                      "payment_method": "full_payment",
                                      "payment_object": "service"}
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(made.json()["url"])
    page.click("[data-action=pay-link]")
    page.wait_for_selector("[data-state=contact]")
    assert page.locator("details.items").get_attribute("open") is not None
    assert "Table 4" in page.inner_text("details.items")
    assert_accessible(page, "checkout, asking for the receipt's contact")
    page.click("[data-action=give-contact]")  # empty: refused, nothing starts
    page.wait_for_selector("#contact-error")
    assert page.get_attribute("#contact", "aria-invalid") == "true"
    assert _docs(server, "tbank", "payment") == []
    assert_accessible(page, "checkout, the contact refused")
    page.fill("#contact", "nobody")
    page.click("[data-action=give-contact]")
    page.wait_for_selector("#contact-error")
    page.fill("#contact", "Buyer@Example.com")
    page.click("[data-action=give-contact]")
    page.wait_for_selector(".qr svg", timeout=15_000)
    [doc] = _docs(server, "tbank", "payment")
    assert doc["Receipt"]["Email"] == "Buyer@Example.com"
    assert doc["Receipt"]["Taxation"] == "patent"
    assert doc["Receipt"]["Items"] == [{
        "Name": "Table 4", "Price": 1290_00, "Quantity": 1, "Amount": 1290_00, "Tax": "none",
        "PaymentMethod": "full_payment", "PaymentObject": "service", "MeasurementUnit": "шт"}]
    context.close()


def test_without_script_an_empty_contact_is_asked_again_and_nothing_starts(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    from tests.buyer import form_token, open_page, path_of

    payment = _create(server, clients["yookassa"], items=[TEA, MUG],
                      receipt={"taxation": "osn"}).json()
    assert payment["receipt"]["contact_given"] is False
    buyer = clients["buyer"]
    page = open_page(buyer, payment["checkout_url"])
    assert 'data-state="contact"' in page
    resp = buyer.post(path_of(payment["checkout_url"]) + "/attempts",
                      data={"ft": form_token(page), "contact": " "},
                      headers={"Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 422 and 'id="contact-error"' in resp.text
    assert _docs(server, "yookassa", "payment") == []
    resp = buyer.post(path_of(payment["checkout_url"]) + "/attempts",
                      data={"ft": form_token(page), "contact": "+7 900 123 45 67"},
                      headers={"Sec-Fetch-Site": "same-origin"})
    assert resp.status_code == 303
    wait_for(lambda: _docs(server, "yookassa", "receipt"), timeout=15, what="the payment")
    [sent] = _docs(server, "yookassa", "receipt")
    assert sent["request"]["customer"] == {"phone": "79001234567"}
    assert clients["yookassa"].get(f"/api/v1/payments/{payment['id']}").json()["receipt"][
        "contact_given"] is True


# ---- closing receipts of a prepayment ----------------------------------------------------------

@pytest.mark.parametrize("acquirer", ["yookassa", "tbank"])
def test_a_prepaid_payment_gets_its_closing_receipt_once(
        server: LiveServer, clients: dict[str, httpx.Client], acquirer: str) -> None:
    api = clients[acquirer]
    prepaid = [{**TEA, "payment_method": "full_prepayment", "vat": "vat122"}, MUG]
    full = _create(server, api, items=[TEA, MUG], receipt=RECEIPT).json()
    payment = _create(server, api, items=prepaid, receipt=RECEIPT).json()
    for each in (full, payment):
        _pay(server, clients["buyer"], each)
        wait_for_status(api, each["id"], "succeeded", timeout=30)
    nothing = api.post(f"/api/v1/payments/{full['id']}/receipts")
    assert nothing.status_code == 409, nothing.text  # paid in full: nothing to settle
    settled = api.post(f"/api/v1/payments/{payment['id']}/receipts")
    assert settled.status_code == 201, settled.text
    assert settled.json()["receipt"]["settlement"] in ("pending", "succeeded")
    if acquirer == "yookassa":
        closing = [r for r in _docs(server, "yookassa", "receipt") if "settlements" in
                   r["request"]]
        [sent] = [r["request"] for r in closing]
        assert sent["settlements"] == [{"type": "prepayment",
                                        "amount": {"value": "1500.00", "currency": "RUB"}}]
    else:
        [doc] = [d for d in _docs(server, "tbank", "payment")
                 if d["OrderId"] in {a for (a,) in query(
                     server.settings.db_url, "SELECT id FROM attempts WHERE payment_id = :p",
                     p=payment["id"])}]
        [done] = [r for r in doc["receipts"] if r.get("closing")]
        sent = done["Receipt"]
        assert sent["Payments"] == {"AdvancePayment": 1500_00}
        sent = {"items": [{"payment_mode": i["PaymentMethod"], "vat": i["Tax"]}
                          for i in sent["Items"]]}
    items = sent["items"]
    # Delivered in full now, at the rate itself rather than the prepayment's 22/122.
    assert {i.get("payment_mode") for i in items} == {"full_payment"}
    assert items[0].get("vat_code", items[0].get("vat")) in (11, "vat22")
    wait_for(lambda: api.get(f"/api/v1/payments/{payment['id']}").json()["receipt"][
        "settlement"] == "succeeded", timeout=30, what="the closing receipt registered")
    again = api.post(f"/api/v1/payments/{payment['id']}/receipts")
    assert again.status_code == 409 and "sent already" in again.json()["detail"]


def test_a_charge_with_nobody_present_must_carry_the_buyers_contact(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    resp = clients["yookassa"].post("/api/v1/payments", json={
        "amount": 1500_00, "currency": "RUB", "description": "monthly",
        "payment_method_id": "pm_nonexistent", "initiator": "merchant",
        "items": [TEA, MUG], "receipt": {"taxation": "osn"}})
    assert resp.status_code == 422, resp.text
    assert _errors(resp) == {"receipt": "needs the buyer's email or phone"}


def test_tbanks_own_receipt_example_is_taken_by_a_cash_register_terminal(
        server: LiveServer) -> None:
    """T-Bank's Init_FULL example (tests/fixtures/tbank), byte for byte, at its public test
    terminal given an FFD 1.05 cash register; the same without its Receipt is error 309."""
    from pathlib import Path

    example = json.loads((Path(__file__).parent / "fixtures" / "tbank" /
                          "init_full_request.json").read_text())["request"]
    server.app.state.sandbox.emulators["tbank"].cash_registers["TinkoffBankTest"] = "1.05"
    bare = {k: v for k, v in example.items() if k != "Receipt"}  # Token: root scalars only
    refused = httpx.post(f"{server.url}/sandbox/tbank/v2/Init", json=bare).json()
    assert (refused["Success"], refused["ErrorCode"]) == (False, "309")
    taken = httpx.post(f"{server.url}/sandbox/tbank/v2/Init", json=example).json()
    assert taken["Success"] is True and taken["Status"] == "NEW", taken


def test_a_link_made_in_the_console_carries_a_tax_profile(
        server: LiveServer, clients: dict[str, httpx.Client]) -> None:
    from tests.console import csrf_of

    merchant = tbank_sandbox.RECEIPTS.merchant_id
    with signed_in(server, demo_email(merchant)) as console:
        page = f"/console/m/{merchant}/links"
        shown = console.get(page).text
        # The rates of today: 20 % has ended, so it is not offered.
        assert ">vat22</option>" in shown and ">vat20</option>" not in shown
        form = {"csrf": csrf_of(console, page), "description": "Table 4", "currency": "RUB",
                "kind": "fixed", "amount": "1290"}
        refused = console.post(f"{page}/create", data=form)
        assert refused.status_code == 422 and 'id="taxation-error"' in refused.text
        made = console.post(f"{page}/create", data={**form, "taxation": "usn_income",
                                                     "vat": "none", "payment_object": "service"})
        assert made.status_code == 303, made.text
    [link] = clients["tbank"].get("/api/v1/payment_links").json()["data"]
    assert link["receipt"] == {"taxation": "usn_income", "vat": "none",
                               "payment_method": "full_payment", "payment_object": "service"}
