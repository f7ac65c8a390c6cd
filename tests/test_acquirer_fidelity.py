"""What each acquirer's own current material says, held against our drivers and emulators
(issue 31): refunds never paid twice, charges never lost, holds released by the acquirer's
own window. Each runs the real driver against its emulator over HTTP, on both databases; the
money ones through the fault book.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from checkout.acquirers import registry
from checkout.acquirers.base import Platform, SessionState, StartRequest
from checkout.acquirers.package import Wiring
from checkout.acquirers.tbank import wire as tbank_wire
from checkout.acquirers.yookassa import wire as yookassa_wire
from checkout.domain.money import Money
from checkout.drivers import capabilities_of
from checkout.errors import AcquirerError
from checkout.store.tables import payments as payments_table
from tests.buyer import (
    decide,
    execute,
    query,
    start,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.server import LiveServer
from tests.shop import FAST, Shop, money_taken, shop_at

TBC_API = "/sandbox/tbc/v1/tpay"


def _refunds(shop: Shop, payment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(shop.api.get(f"/api/v1/payments/{payment['id']}/refunds").json()["data"])


def _refund(shop: Shop, payment: dict[str, Any], amount: int) -> httpx.Response:
    return shop.api.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount": amount})


def _paid(shop: Shop, **fields: Any) -> dict[str, Any]:
    payment = shop.create(**fields)
    shop.pay(payment)
    wait_for_status(shop.api, payment["id"], "waiting_for_capture" if
                    fields.get("capture") is False else "succeeded", timeout=30)
    return payment


def _settled(shop: Shop, payment: dict[str, Any], refunded: int) -> None:
    """Ours says `refunded`, and so does the acquirer's own storage."""
    wait_for(lambda: shop.api.get(f"/api/v1/payments/{payment['id']}").json()
             ["refunded_amount"] == refunded, timeout=30, what=f"{refunded} refunded here")
    wait_for(lambda: money_taken(shop, shop.paid_at_acquirer(payment))[1] >= refunded,
             timeout=30, what="the acquirer's refund")


def _events(shop: Shop, payment: dict[str, Any]) -> list[str]:
    return sorted(r[0] for r in query(shop.server.settings.db_url,
                                      "SELECT type FROM events WHERE payment_id = :p",
                                      p=payment["id"]))


# ---- TBC: no refund key, only a returned total -----------------------------------------------

@pytest.mark.server_settings(**FAST)
def test_tbc_takes_one_refund_at_a_time_and_never_credits_one_with_anothers_money(
        server: LiveServer) -> None:
    """The review's probe: a refund failing with a 5xx and another whose answer was lost, at
    once, ended with 200.00 GEL paid back where the ledger said 150.00. Now the second waits
    (409) while the first is in flight; each ends with exactly its own money."""
    with shop_at(server, "tbc") as shop:
        payment = _paid(shop)  # 150.00 GEL
        shop.fault("error", "refund")  # a 5xx: nothing happens at TBC
        first = _refund(shop, payment, 50_00)
        assert first.status_code == 201 and first.json()["status"] == "pending", first.text
        key = {"Idempotency-Key": "the-rest"}
        second = shop.api.post(f"/api/v1/payments/{payment['id']}/refunds",
                               json={"amount": 100_00}, headers=key)
        assert second.status_code == 409, second.text
        assert "in flight" in second.json()["detail"]
        _settled(shop, payment, 50_00)  # sent again once our call must have ended
        shop.fault("lost", "refund")  # done at TBC, the answer lost
        # The same request again (its key too) is not answered from memory: the 409 passed.
        again = shop.api.post(f"/api/v1/payments/{payment['id']}/refunds",
                              json={"amount": 100_00}, headers=key)
        assert again.status_code == 201, again.text
        _settled(shop, payment, 150_00)
        assert [r["status"] for r in _refunds(shop, payment)] == ["succeeded", "succeeded"]
        assert money_taken(shop, shop.paid_at_acquirer(payment)) == (150_00, 150_00)
        assert _events(shop, payment).count("refund.succeeded") == 2


@pytest.mark.server_settings(**FAST)
def test_a_tbc_refund_asked_again_after_its_instance_died_is_not_sent_again(
        server: LiveServer) -> None:
    """Found by the survival run: an instance reserved a refund under the merchant's
    Idempotency-Key, sent it to TBC, and was killed before answering. The merchant's retry
    found that refund pending and sent it again: TBC took 40.00 twice (or, refusing the
    second as more than is left, we marked the refund failed while TBC had paid it)."""
    with shop_at(server, "tbc") as shop:
        payment = _paid(shop)
        doc = shop.paid_at_acquirer(payment)
        with httpx.Client(base_url=server.url) as client:  # the dead instance's call
            assert client.post(f"{TBC_API}/payments/{doc['payId']}/cancel",
                               headers=_tbc_headers(client), json={"amount": 40}
                               ).status_code == 200
        [(attempt_id,)] = query(server.settings.db_url, "SELECT id FROM attempts")
        then = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
        execute(server.settings.db_url,
                "INSERT INTO refunds (id, payment_id, attempt_id, amount, status, request_key, "
                "created_at, updated_at) VALUES ('rf_dead', :p, :a, 4000, 'pending', 'k-1', "
                ":t, :t)", p=payment["id"], a=attempt_id, t=then)
        again = shop.api.post(f"/api/v1/payments/{payment['id']}/refunds",
                              json={"amount": 40_00}, headers={"Idempotency-Key": "k-1"})
        assert again.status_code == 201 and again.json()["id"] == "rf_dead", again.text
        _settled(shop, payment, 40_00)
        assert [r["status"] for r in _refunds(shop, payment)] == ["succeeded"]
        assert money_taken(shop, shop.paid_at_acquirer(payment)) == (150_00, 40_00)


def _tbc_headers(client: httpx.Client) -> dict[str, str]:
    token = client.post(f"{TBC_API}/access-token", headers={"apikey": "sandbox-apikey"},
                        data={"client_id": "sandbox-client",
                              "client_secret": "sandbox-client-secret"})
    return {"apikey": "sandbox-apikey", "Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.mark.server_settings(**FAST)
def test_a_tbc_refund_is_never_sent_again_while_tbc_is_still_processing_a_cancel(
        server: LiveServer) -> None:
    with shop_at(server, "tbc") as shop:
        payment = _paid(shop)
        server.app.state.sandbox.emulators["tbc"].settle_seconds = 4.0
        shop.fault("lost", "refund")
        assert _refund(shop, payment, 40_00).status_code == 201
        # Past our wait (2 × the 1 s timeout), TBC still says CancelPaymentProcessing and its
        # total has not moved: the refund is neither sent again nor given up.
        _settled(shop, payment, 40_00)
        assert [r["status"] for r in _refunds(shop, payment)] == ["succeeded"]
        assert money_taken(shop, shop.paid_at_acquirer(payment)) == (150_00, 40_00)


@pytest.mark.server_settings(**FAST)
def test_a_tbc_total_no_refund_explains_is_parked_for_a_person_never_resent(
        server: LiveServer) -> None:
    with shop_at(server, "tbc") as shop:
        payment = _paid(shop)
        shop.fault("lost", "refund")
        assert _refund(shop, payment, 40_00).status_code == 201
        # Meanwhile someone returns the other 110.00 in TBC's own dashboard: the total moved by
        # 150.00, which no refund of ours explains.
        doc = shop.paid_at_acquirer(payment)
        with httpx.Client(base_url=server.url) as client:
            assert client.post(f"{TBC_API}/payments/{doc['payId']}/cancel",
                               headers=_tbc_headers(client), json={"amount": 110}
                               ).status_code == 200
        wait_for(lambda: query(server.settings.db_url, "SELECT review FROM refunds")[0][0],
                 timeout=20, what="the refund to be parked")
        assert query(server.settings.db_url, "SELECT status, review FROM refunds") == [
            ("pending", "returned_total_unexplained")]
        assert money_taken(shop, shop.paid_at_acquirer(payment)) == (150_00, 150_00)
        assert shop.api.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 0


@pytest.mark.server_settings(**FAST)
def test_a_tbc_refund_after_a_partial_completion_counts_from_its_baseline(
        server: LiveServer) -> None:
    """TBC's `returnedAmount` after a partial completion is undocumented; here it counts the
    30.00 returned of the hold. A refund of 20.00 refused with a 5xx must not be taken for done
    because the total already shows more than 20.00."""
    with shop_at(server, "tbc") as shop:
        server.app.state.sandbox.emulators["tbc"].completion_counts_rest = True
        payment = _paid(shop, capture=False)
        assert shop.api.post(f"/api/v1/payments/{payment['id']}/capture",
                             json={"amount": 120_00}).status_code == 200
        wait_for_status(shop.api, payment["id"], "succeeded", timeout=30)
        shop.fault("error", "refund")
        assert _refund(shop, payment, 20_00).status_code == 201
        _settled(shop, payment, 20_00)
        assert money_taken(shop, shop.paid_at_acquirer(payment)) == (120_00, 30_00 + 20_00)


@pytest.mark.server_settings(**FAST)
def test_tbc_takes_one_partial_refund_on_the_payments_day_refused_before_sending(
        server: LiveServer) -> None:
    with shop_at(server, "tbc") as shop:
        payment = _paid(shop)
        assert _refund(shop, payment, 10_00).status_code == 201
        _settled(shop, payment, 10_00)
        again = _refund(shop, payment, 10_00)
        assert again.status_code == 422, again.text
        assert again.json()["type"].endswith("unsupported-by-acquirer")
        assert again.json()["errors"] == [{"field": "amount", "message": "must be 14000"}]
        assert len(_refunds(shop, payment)) == 1  # nothing was made, nothing sent
        assert _refund(shop, payment, 140_00).status_code == 201  # the rest, in one go
        _settled(shop, payment, 150_00)


@pytest.mark.server_settings(**FAST, attempt_ttl_seconds=2)
def test_a_tbc_charge_whose_answer_was_lost_is_never_ended_unpaid(server: LiveServer) -> None:
    """TBC's GET does not echo our id: the lost charge is tied to its attempt by what TBC shows
    of it when its callback comes, however late. Until then it is watched, never failed."""
    with shop_at(server, "tbc") as shop:
        first = shop.create(save_payment_method=True, customer={"reference": "cust-9"})
        shop.pay(first)
        method = wait_for_status(shop.api, first["id"], "succeeded",
                                 timeout=30)["payment_method"]
        shop.fault("lost", "charge")
        shop.fault("drop", "callback Succeeded")  # and TBC's callback does not come yet
        resp = shop.api.post("/api/v1/payments", json={
            "amount": 99_00, "currency": "GEL", "description": "monthly",
            "payment_method_id": method["id"], "initiator": "merchant"})
        assert resp.status_code == 201, resp.text
        charge = resp.json()
        wait_for(lambda: shop.faults_left() == [], what="the faults to strike")
        [made] = shop.at_acquirer(charge)
        assert money_taken(shop, made) == (99_00, 0)  # TBC took the money
        # Twice our attempt time, and more: still starting, never "nothing can have been paid".
        deadline = datetime.now(UTC) + timedelta(seconds=6)
        while datetime.now(UTC) < deadline:
            assert query(server.settings.db_url, "SELECT status FROM attempts WHERE "
                         "payment_id = :p", p=charge["id"]) == [("starting",)]
            assert shop.api.get(f"/api/v1/payments/{charge['id']}").json()["status"] == \
                "pending"
        # TBC's callback comes at last: the payment it names is this charge.
        hint = httpx.post(f"{server.url}/webhooks/tbc", json={"PaymentId": made["payId"]})
        assert hint.status_code == 200, hint.text
        done = wait_for_status(shop.api, charge["id"], "succeeded", timeout=20)
        assert done["captured_amount"] == 99_00
        assert len(shop.at_acquirer(charge)) == 1


def test_tbcs_standard_limit_is_the_default_and_its_execution_has_no_page(
        server: LiveServer) -> None:
    with shop_at(server, "tbc") as shop:
        described = shop.api.get("/api/v1/acquirer").json()["capabilities"]
        assert described["currencies"]["GEL"] == {"min_amount": 1, "max_amount": 3000_00}
        assert described["partial_refunds_first_day"] == 1
        over = shop.api.post("/api/v1/payments", json={
            "amount": 3000_01, "currency": "GEL", "description": "too much",
            "return_url": f"{server.url}/shop/return"})
        assert over.status_code == 422 and over.json()["errors"][0]["field"] == "amount"
        with httpx.Client(base_url=server.url) as client:
            refused = client.post(f"{TBC_API}/payments/execution",
                                  headers=_tbc_headers(client), json={
                "recId": "nope", "money": {"amount": 1, "currency": "GEL"},
                "returnurl": "https://shop.example/"})
            assert refused.status_code == 400


# ---- T-Bank ---------------------------------------------------------------------------------

@pytest.mark.server_settings(**FAST)
def test_a_tbank_one_stage_payment_is_authorized_then_confirmed_by_tbank_not_by_us(
        server: LiveServer) -> None:
    """T-Bank notifies AUTHORIZED (with the RebillId) and then CONFIRMED for a PayType O
    payment. We send no Confirm; and the RebillId, which GetState never shows, is kept from the
    AUTHORIZED notification even when CONFIRMED's is lost."""
    with shop_at(server, "tbank") as shop:
        emulator = server.app.state.sandbox.emulators["tbank"]
        shop.fault("drop", "notification CONFIRMED")
        payment = _paid(shop, save_payment_method=True, customer={"reference": "cust-5"})
        done = shop.api.get(f"/api/v1/payments/{payment['id']}").json()
        assert done["payment_method"] is not None and done["payment_method"]["saved"]
        assert emulator.calls["Confirm"] == 0
        assert shop.faults_left() == []
        doc = shop.paid_at_acquirer(payment)
        assert doc["DATA"]["OperationInitiatorType"] == "1"  # saves credentials
        charge = shop.api.post("/api/v1/payments", json={
            "amount": 99_00, "currency": "RUB", "description": "monthly",
            "payment_method_id": done["payment_method"]["id"], "initiator": "merchant"})
        assert charge.status_code == 201, charge.text
        wait_for_status(shop.api, charge.json()["id"], "succeeded", timeout=30)
        [charged] = shop.at_acquirer(charge.json())
        assert charged["DATA"] == {"OperationInitiatorType": "R"}


@pytest.mark.server_settings(**FAST)
def test_a_tbank_refund_stays_pending_while_tbank_says_refunding(server: LiveServer) -> None:
    with shop_at(server, "tbank") as shop:
        payment = _paid(shop)
        server.app.state.sandbox.emulators["tbank"].refunding_seconds = 3.0
        made = _refund(shop, payment, 40_00)
        assert made.status_code == 201 and made.json()["status"] == "pending", made.text
        assert shop.api.get(f"/api/v1/payments/{payment['id']}").json()["refunded_amount"] == 0
        _settled(shop, payment, 40_00)
        assert [r["status"] for r in _refunds(shop, payment)] == ["succeeded"]
        assert money_taken(shop, shop.paid_at_acquirer(payment)) == (150_00, 40_00)


@pytest.mark.server_settings(**FAST)
@pytest.mark.parametrize("operation", ["refund", "charge"])
def test_tbanks_internal_error_is_never_taken_for_a_refusal(server: LiveServer,
                                                           operation: str) -> None:
    """ErrorCode 9999 (or 3): T-Bank's own failure, the outcome unknown. Here the call took
    effect: the refund or charge must end done, once, not failed."""
    with shop_at(server, "tbank") as shop:
        if operation == "refund":
            payment = _paid(shop)
            shop.fault("internal", "refund")
            assert _refund(shop, payment, 40_00).status_code == 201
            _settled(shop, payment, 40_00)
            assert [r["status"] for r in _refunds(shop, payment)] == ["succeeded"]
            assert money_taken(shop, shop.paid_at_acquirer(payment)) == (150_00, 40_00)
            return
        first = _paid(shop, save_payment_method=True, customer={"reference": "cust-6"})
        method = shop.api.get(f"/api/v1/payments/{first['id']}").json()["payment_method"]
        shop.fault("internal", "charge")
        resp = shop.api.post("/api/v1/payments", json={
            "amount": 99_00, "currency": "RUB", "description": "monthly",
            "payment_method_id": method["id"], "initiator": "merchant"})
        charge = resp.json()
        wait_for_status(shop.api, charge["id"], "succeeded", timeout=30)
        assert [money_taken(shop, d) for d in shop.at_acquirer(charge)] == [(99_00, 0)]


def test_the_tbank_emulator_answers_a_repeated_cancel_with_the_state_now(
        server: LiveServer) -> None:
    with shop_at(server, "tbank") as shop:
        payment = _paid(shop)
        doc = shop.paid_at_acquirer(payment)
        body = {"PaymentId": doc["id"], "Amount": 10_00, "ExternalRequestId": "r-1"}
        first = _tbank(server, "Cancel", body)
        assert first["Status"] == "PARTIAL_REFUNDED" and first["NewAmount"] == 140_00
        _tbank(server, "Cancel", {"PaymentId": doc["id"], "Amount": 140_00})
        again = _tbank(server, "Cancel", body)
        assert again["Status"] == "REFUNDED"  # the state now, and nothing done twice
        assert money_taken(shop, shop.paid_at_acquirer(payment)) == (150_00, 150_00)
        # A NEW payment is canceled whole, whatever Amount says.
        fresh = shop.create()
        start(shop.buyer, fresh["checkout_url"])
        wait_for_link(shop.buyer, fresh["checkout_url"])
        unpaid = shop.at_acquirer(fresh)[0]  # a slow start may have left two, both NEW
        assert _tbank(server, "Cancel", {"PaymentId": unpaid["id"], "Amount": 1})["Status"] \
            == "CANCELED"


def _tbank(server: LiveServer, method: str, fields: dict[str, Any]) -> dict[str, Any]:
    body = tbank_wire.signed(fields, "TinkoffBankTest", "TinkoffBankTest")
    doc = httpx.post(f"{server.url}/sandbox/tbank/v2/{method}", json=body).json()
    assert doc["Success"] is True, doc
    return dict(doc)


def test_a_tbank_terminal_on_tpay_2_1_is_asked_for_2_1_links(server: LiveServer) -> None:
    resp = httpx.post(f"{server.url}/sandbox/tbank/terminals/TinkoffBankTest/tpay",
                      json={"allowed": True, "version": "2.1"})
    assert resp.status_code == 200, resp.text
    with shop_at(server, "tbank") as shop:
        payment = shop.create()
        start(shop.buyer, payment["checkout_url"])
        assert "/sandbox/tpay/" in wait_for_link(shop.buyer, payment["checkout_url"])


@pytest.mark.server_settings(**FAST)
def test_a_tbank_decline_keeps_tbanks_own_code(server: LiveServer) -> None:
    with shop_at(server, "tbank") as shop:
        payment = shop.create()
        start(shop.buyer, payment["checkout_url"])
        decide(shop.buyer, wait_for_link(shop.buyer, payment["checkout_url"]), False)
        wait_for(lambda: query(server.settings.db_url, "SELECT error_code FROM attempts")[0][0],
                 what="the decline")
        assert query(server.settings.db_url, "SELECT error_code FROM attempts") == [
            ("rejected:1051",)]


def test_a_tbank_hold_lasts_to_the_end_of_the_seventh_moscow_day() -> None:
    caps = capabilities_of("tbank")
    moscow = timezone(timedelta(hours=3))
    # Paid on 1 March: confirm by 7 March inclusive.
    for paid in (datetime(2026, 3, 1, 0, 5, tzinfo=moscow),
                 datetime(2026, 3, 1, 23, 55, tzinfo=moscow)):
        assert caps.hold_ends(paid) == datetime(2026, 3, 8, tzinfo=moscow)
    # 22:30 UTC on 28 February is already 1 March in Moscow.
    assert caps.hold_ends(datetime(2026, 2, 28, 22, 30, tzinfo=UTC)) == \
        datetime(2026, 3, 8, tzinfo=moscow)
    assert caps.describe()["hold_calendar_days"] == 7
    assert caps.describe()["hold_utc_offset"] == "+03:00"
    tbc = capabilities_of("tbc")
    start_ = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert tbc.hold_ends(start_) == start_ + timedelta(days=30)


@pytest.mark.server_settings(**FAST, hold_margin_seconds=0)
def test_a_tbank_hold_is_released_by_tbanks_window_not_a_week_of_hours(
        server: LiveServer) -> None:
    """Authorized late on a Moscow day, the hold lapses at T-Bank before 7 × 24 h pass: we
    release it by T-Bank's own window (here: backdated to the window's last minute)."""
    with shop_at(server, "tbank") as shop:
        payment = _held_past_tbanks_window(shop)
        done = wait_for_status(shop.api, payment["id"], "canceled", timeout=20)
        assert done["last_error"] == {"code": "hold_expired"}


@pytest.mark.server_settings(**FAST, hold_margin_seconds=0)
def test_a_due_tbank_hold_is_released_however_many_younger_tbc_holds_wait(
        server: LiveServer) -> None:
    """600 TBC holds, older than the T-Bank one but far from TBC's 30 days, must not fill the
    reconciler's page of candidates and hide the one that is due."""
    with shop_at(server, "tbank") as shop:
        payment = _held_past_tbanks_window(shop)
        names = [c.name for c in payments_table.c]
        made = {"id": "'pay_tbc_' || n.i", "acquirer": "'tbc'", "authorized_at": ":long_ago"}
        # The names are our own table's columns, not input.
        copies = (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "  # noqa: S608
                  f"i < 600) INSERT INTO payments ({', '.join(names)}) SELECT "
                  f"{', '.join(made.get(c, 'p.' + c) for c in names)} "
                  f"FROM payments p, n WHERE p.id = :p")
        execute(server.settings.db_url, copies,
                p=payment["id"], long_ago=(datetime.now(UTC) - timedelta(days=10))
                .replace(tzinfo=None))
        done = wait_for_status(shop.api, payment["id"], "canceled", timeout=20)
        assert done["last_error"] == {"code": "hold_expired"}
        assert query(server.settings.db_url, "SELECT count(*) FROM payments WHERE acquirer = "
                     "'tbc' AND status = 'waiting_for_capture'") == [(600,)]


def _held_past_tbanks_window(shop: Shop) -> dict[str, Any]:
    """A T-Bank hold authorized at 23:59 Moscow, six days and a bit ago: past T-Bank's window
    (the 7th day, that one counted), short of 7 × 24 h."""
    payment = _paid(shop, capture=False)
    moscow = timezone(timedelta(hours=3))
    today = datetime.now(moscow).date()
    authorized = datetime.combine(today - timedelta(days=7), datetime.min.time(),
                                  moscow) + timedelta(hours=23, minutes=59)
    assert datetime.now(UTC) - authorized < timedelta(days=7)
    execute(shop.server.settings.db_url,
            "UPDATE payments SET authorized_at = :t WHERE id = :p",
            t=authorized.astimezone(UTC).replace(tzinfo=None), p=payment["id"])
    return payment


# ---- Bank 131, YooKassa -------------------------------------------------------------------------

@pytest.mark.server_settings(**FAST)
def test_a_bank131_refund_in_error_is_not_final(server: LiveServer) -> None:
    with shop_at(server, "bank131") as shop:
        payment = _paid(shop)
        server.app.state.sandbox.emulators["bank131"].refunds_err_first = True
        assert _refund(shop, payment, 40_00).status_code == 201
        _settled(shop, payment, 40_00)
        assert [r["status"] for r in _refunds(shop, payment)] == ["succeeded"]
        assert "refund.failed" not in _events(shop, payment)


@pytest.mark.server_settings(**FAST)
def test_a_bank131_merchant_charge_carries_platform_details(server: LiveServer) -> None:
    with shop_at(server, "bank131") as shop:
        first = _paid(shop, save_payment_method=True, customer={"reference": "cust-3"})
        method = shop.api.get(f"/api/v1/payments/{first['id']}").json()["payment_method"]
        charge = shop.api.post("/api/v1/payments", json={
            "amount": 99_00, "currency": "RUB", "description": "monthly",
            "payment_method_id": method["id"], "initiator": "merchant"}).json()
        wait_for_status(shop.api, charge["id"], "succeeded", timeout=30)
        [session] = shop.at_acquirer(charge)
        assert session["acquiring_payments"][0]["payment_options"]["platform_details"] == {
            "type": "desktop", "os": "linux", "browser": "chrome"}


def test_yookassa_payment_expired_is_an_expiry_and_two_stage_is_its_default(
        server: LiveServer) -> None:
    expired = yookassa_wire.snapshot({"id": "p", "status": "canceled", "cancellation_details": {
        "party": "yoo_money", "reason": "payment_expired"}})
    assert expired.state is SessionState.EXPIRED
    with httpx.Client(base_url=server.url, auth=("100500", "test_sandbox_secret_key")) as client:
        made = client.post("/sandbox/yookassa/v3/payments", headers={"Idempotence-Key": "k1"},
                           json={"amount": {"value": "2.00", "currency": "RUB"},
                                 "payment_method_data": {"type": "tinkoff_bank"},
                                 "confirmation": {"type": "redirect",
                                                  "return_url": "https://shop.example/"}})
        assert made.status_code == 200, made.text
        page = made.json()["confirmation"]["confirmation_url"]
        approved = client.post(httpx.URL(page).path + "/approve")
        assert approved.status_code == 303, approved.text
        state = client.get(f"/sandbox/yookassa/v3/payments/{made.json()['id']}").json()
        assert state["status"] == "waiting_for_capture"  # no `capture`: two-stage


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the store plays no part
@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_that_is_json_but_not_an_object_is_a_temporary_error(
        server: LiveServer, status: int) -> None:
    """Every driver, built as production builds it, against an acquirer answering `[1, 2]`:
    a clean temporary `AcquirerError` (the call may have taken effect), never a crash."""
    endpoints = server.app.state.sandbox.endpoints()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/access-token"):  # TBC's token first
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(status, json=[1, 2])

    async def ask_each() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            for name, conf in endpoints.items():
                driver = registry.BY_NAME[name].build(conf, Wiring(http, 5.0, 1200, "https://x/w"))
                with pytest.raises(AcquirerError) as raised:
                    await driver.fetch("12345")
                assert raised.value.temporary, (name, raised.value.detail)

    asyncio.run(ask_each())


def test_a_tbc_call_that_never_left_is_told_from_one_that_may_have_arrived() -> None:
    """A saved card's charge that failed before it left us (no connection) is started again
    at once; one that may have reached TBC is never sent again (see the lost-charge test)."""
    from checkout.acquirers.tbc import TbcDriver

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/access-token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        if request.url.path.endswith("/execution"):
            raise httpx.ConnectError("connection refused", request=request)
        raise httpx.ReadTimeout("no answer", request=request)

    charge = StartRequest(idempotency_key="att_1", amount=Money(99_00, "GEL"),
                          platform=Platform("server", "", ""), return_url="",
                          customer_reference="c", token="rec1",  # noqa: S106 - made up
                          initiator="merchant")

    async def ask() -> tuple[AcquirerError, AcquirerError]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
            driver = TbcDriver(base_url="https://tbc.test/v1/tpay/", api_key="k", client_id="c",
                               client_secret="s",  # noqa: S106 - a made-up one
                               callback_url="https://x/w", client=http)
            with pytest.raises(AcquirerError) as unsent:
                await driver.start(charge)
            with pytest.raises(AcquirerError) as maybe:
                await driver.fetch("pay_1")
        return unsent.value, maybe.value

    unsent, maybe = asyncio.run(ask())
    assert unsent.temporary and unsent.unsent
    assert maybe.temporary and not maybe.unsent


def test_tbank_order_id_is_cut_the_same_way_in_init_and_check_order() -> None:
    from checkout.acquirers.tbank import TbankDriver

    key = "att_" + "x" * 40  # longer than T-Bank's 36
    sent: dict[str, str] = {}

    def record(request: httpx.Request) -> httpx.Response:
        body = httpx.Response(200, content=request.content).json() if request.content else {}
        method = request.url.path.rsplit("/", 1)[-1]
        if "OrderId" in body:
            sent[method] = body["OrderId"]
        if method == "status":
            return httpx.Response(200, json={"Success": True, "ErrorCode": "0",
                                             "Params": {"Allowed": True, "Version": "2.0"}})
        if method == "CheckOrder":
            return httpx.Response(200, json={"Success": False, "ErrorCode": "335"})
        return httpx.Response(200, json={"Success": False, "ErrorCode": "9999"})

    request = StartRequest(idempotency_key=key, amount=Money(100_00, "RUB"),
                           platform=Platform("desktop", "windows", "chrome"),
                           return_url="https://shop.example/", customer_reference="c")

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
            driver = TbankDriver(base_url="https://tbank.test/v2/", terminal_key="T",
                                 password="p",  # noqa: S106 - made up
                                 notification_url="https://x/w", client=http)
            assert await driver.find_start(request) is None
            with pytest.raises(AcquirerError) as internal:
                await driver.start(request)
            assert internal.value.temporary  # 9999: T-Bank's own failure, not a refusal

    asyncio.run(run())
    assert sent["Init"] == sent["CheckOrder"] == key[:36]
