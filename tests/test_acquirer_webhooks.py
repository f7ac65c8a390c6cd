"""Inbound Bank 131 webhooks: only signed news counts, and no news moves a payment backwards."""

from __future__ import annotations

import asyncio
import base64
import copy
import json

import httpx
import pytest

from checkout.acquirers.base import Snapshot
from checkout.acquirers.package import Wiring
from checkout.acquirers.registry import BY_NAME
from checkout.domain.money import Money
from checkout.sandbox.remote import from_wire
from tests.bank131 import partner_call, send_webhook, session
from tests.buyer import (
    decide,
    new_payment,
    query,
    start,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.server import LiveServer


def _awaiting(api: httpx.Client, buyer: httpx.Client, server: LiveServer
              ) -> tuple[dict, str, str]:
    payment = new_payment(api, server.url)
    start(buyer, payment["checkout_url"])
    link = wait_for_link(buyer, payment["checkout_url"])
    ref = query(server.settings.db_url, "SELECT acquirer_ref FROM attempts WHERE payment_id=:p",
                p=payment["id"])[0][0]
    return payment, link, ref


def _snapshot_of_db(server: LiveServer) -> list[tuple]:
    return [tuple(r) for r in query(
        server.settings.db_url,
        "SELECT p.status, p.version, a.status, a.version FROM payments p "
        "JOIN attempts a ON a.payment_id = p.id ORDER BY a.created_at")]


def _finished(sess: dict, status: str) -> dict:
    doc = copy.deepcopy(sess)
    doc["status"] = "accepted" if status == "succeeded" else "error"
    doc["acquiring_payments"][0]["status"] = status
    doc["updated_at"] = "2030-01-01T00:00:00.000000Z"
    return doc


def test_unsigned_or_forged_webhooks_are_rejected_and_change_nothing(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment, _, ref = _awaiting(api, browser_client, server)
    before = _snapshot_of_db(server)
    forged = _finished(session(server, ref), "succeeded")
    assert send_webhook(server, "payment_finished", forged, signature=None).status_code == 401
    bad = base64.b64encode(b"\0" * 256).decode()
    assert send_webhook(server, "payment_finished", forged, signature=bad).status_code == 401
    assert send_webhook(server, "payment_finished", forged,
                        signature="not base64!").status_code == 401
    # A valid signature over other bytes: the body was altered on the way.
    body = json.dumps({"type": "payment_finished", "session": forged}).encode()
    from tests.bank131 import _sign

    sig = _sign(server.settings.data_dir / "sandbox" / "bank_private.pem", body)
    resp = httpx.post(f"{server.url}/webhooks/bank131", content=body + b" ",
                      headers={"X-PARTNER-SIGN": sig})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert _snapshot_of_db(server) == before
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "pending"


def test_webhook_for_an_unknown_session_is_404(server: LiveServer) -> None:
    resp = send_webhook(server, "payment_finished", {"id": "ps_unknown", "status": "accepted",
                                                     "acquiring_payments": []})
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_unreadable_signed_webhook_is_400(server: LiveServer) -> None:
    assert send_webhook(server, "", {}, raw=b"not json").status_code == 400
    assert send_webhook(server, "", {}, raw=b'{"type": "x"}').status_code == 400


def test_duplicate_webhook_is_recorded_once_and_applied_once(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment, _, ref = _awaiting(api, browser_client, server)
    finished = _finished(session(server, ref), "succeeded")
    first = send_webhook(server, "payment_finished", finished)
    assert first.status_code == 200 and first.json()["outcome"] == "applied"
    state = _snapshot_of_db(server)
    again = send_webhook(server, "payment_finished", finished)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert _snapshot_of_db(server) == state
    stored = query(server.settings.db_url,
                   "SELECT count(*) FROM acquirer_events WHERE event_type='payment_finished'")
    assert stored[0][0] == 1
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "succeeded"


def test_late_and_out_of_order_webhooks_never_undo_a_success(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    payment, link, ref = _awaiting(api, browser_client, server)
    early = session(server, ref)  # the session while the buyer still had to approve
    decide(browser_client, link, approve=True)
    wait_for_status(api, payment["id"], "succeeded")
    state = _snapshot_of_db(server)
    late_action = copy.deepcopy(early)
    late_action["updated_at"] = "2031-01-01T00:00:00.000000Z"
    resp = send_webhook(server, "action_required", late_action)
    assert resp.status_code == 200 and resp.json()["outcome"] == "stale"
    failed = _finished(early, "failed")
    failed["updated_at"] = "2032-01-01T00:00:00.000000Z"
    resp = send_webhook(server, "payment_finished", failed)
    assert resp.status_code == 200 and resp.json()["outcome"] == "stale"
    assert _snapshot_of_db(server) == state
    done = api.get(f"/api/v1/payments/{payment['id']}").json()
    assert done["status"] == "succeeded" and done["captured_amount"] == payment["amount"]


def test_the_emulator_refuses_unsigned_calls_and_reused_idempotency_keys(
        server: LiveServer) -> None:
    body = {"payment_details": {"type": "internet_banking",
                                "internet_banking": {"type": "tpay"}},
            "amount_details": {"amount": 100_00, "currency": "RUB"},
            "customer": {"reference": "c1"},
            "payment_options": {"platform_details": {"type": "desktop", "os": "windows",
                                                     "browser": "chrome"}}}
    unsigned = httpx.post(f"{server.url}/sandbox/bank131/api/v1/session/init/payment",
                          json=body, headers={"X-PARTNER-PROJECT": "sandbox-project"})
    assert unsigned.status_code == 401
    assert unsigned.json() == {"status": "error", "error": {
        "code": "authentication_error", "description": "invalid X-PARTNER-SIGN"}}
    first = partner_call(server, "session/init/payment", body, **{
        "X-PARTNER-IDEMPOTENCY-KEY": "k-1"})
    assert first.status_code == 200
    # Whether the bank replays a key's first answer is undocumented; the official SDK knows
    # only the refusal. The emulator takes that strict reading, same body or not.
    for repeat in (body, {**body, "metadata": {"x": "1"}}):
        again = partner_call(server, "session/init/payment", repeat,
                             **{"X-PARTNER-IDEMPOTENCY-KEY": "k-1"})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "idempotency_key_already_exists"
    bad = partner_call(server, "session/init/payment", {**body, "amount_details": {
        "amount": "100", "currency": "RUB"}})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    # The official PHP SDK defaults to /api/v2/: the same API answers there.
    v2 = partner_call(server, "session/status", {"session_id": first.json()["session"]["id"]},
                      version="v2")
    assert v2.json()["session"]["status"] == "in_progress"


def _overtaking(session_id: str, attempt_id: str, url: str) -> dict:
    return {"id": session_id, "status": "in_progress", "updated_at": "2030-01-01T00:00:00Z",
            "acquiring_payments": [{
                "id": "pm_x", "status": "pending", "metadata": {"checkout_attempt": attempt_id},
                "customer_interaction": {"type": "redirect", "redirect": {
                    "url": url, "base_url": url, "method": "GET", "params": {}}}}]}


def test_news_that_overtakes_our_start_call_finds_its_attempt_by_signed_metadata(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    server.app.state.sandbox.emulators["bank131"].outage = True  # our start call gets no answer
    payment = new_payment(api, server.url)
    start(browser_client, payment["checkout_url"])
    attempt_id = query(server.settings.db_url, "SELECT id FROM attempts")[0][0]
    url = f"{server.url}/sandbox/tpay/000000000001?platform=desktop"
    resp = send_webhook(server, "action_required", _overtaking("ps_fast", attempt_id, url))
    assert resp.status_code == 200 and resp.json()["outcome"] == "applied"
    row = query(server.settings.db_url, "SELECT acquirer_ref, status, action_url FROM attempts")
    assert tuple(row[0]) == ("ps_fast", "awaiting_buyer", url)
    # A hint cannot re-point an attempt that already has its session.
    other = send_webhook(server, "action_required", _overtaking("ps_other", attempt_id, url))
    assert other.status_code == 404


def test_a_session_in_error_is_not_final_and_a_later_acceptance_is_taken(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    # developer.131.ru, errors: "wait for a final transaction status"; `error` is not one.
    payment, _, ref = _awaiting(api, browser_client, server)
    early = session(server, ref)
    failed = _finished(early, "failed")
    failed["acquiring_payments"][0]["error"] = {"code": "internal_error",
                                                "description": "temporary"}
    assert send_webhook(server, "payment_finished", failed).json()["outcome"] == "applied"
    row = query(server.settings.db_url, "SELECT status, watch FROM attempts WHERE "
                "acquirer_ref = :r", r=ref)[0]
    assert tuple(row) == ("failed", "not_final")  # over for the buyer, still watched
    assert api.get(f"/api/v1/payments/{payment['id']}").json()["status"] == "pending"
    accepted = _finished(early, "succeeded")
    accepted["updated_at"] = "2031-01-01T00:00:00.000000Z"
    assert send_webhook(server, "payment_finished", accepted).json()["outcome"] == "applied"
    done = wait_for_status(api, payment["id"], "succeeded")
    assert done["captured_amount"] == payment["amount"]


def test_the_emulator_takes_only_the_documented_platform_values(server: LiveServer) -> None:
    def init(platform: dict) -> httpx.Response:
        return partner_call(server, "session/init/payment", {
            "payment_details": {"type": "internet_banking", "internet_banking": {"type": "tpay"}},
            "amount_details": {"amount": 100_00, "currency": "RUB"},
            "customer": {"reference": "c1"}, "payment_options": {"platform_details": platform}})
    for os_value in ("ios", "android", "windows", "linux"):
        for browser in ("chrome", "firefox", "microsoft edge", "miui", "jivo mobile"):
            kind = "mobile" if os_value in ("ios", "android") else "desktop"
            resp = init({"type": kind, "os": os_value, "browser": browser})
            assert resp.status_code == 200, (os_value, browser, resp.text)
    for wrong in ({"type": "desktop", "os": "macos", "browser": "chrome"},
                  {"type": "mobile", "os": "ios", "browser": "safari"},
                  {"type": "desktop", "browser": "chrome"},
                  {"type": "tablet", "os": "ios", "browser": "chrome"}):
        resp = init(wrong)
        assert resp.status_code == 400, wrong
        assert resp.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("status, code, attempt", [
    ("error", "confirm_timeout", "expired"),
    ("error", "provider_timeout", "expired"),
    ("cancelled", "session_cancelled_by_partner", "canceled"),
    ("error", "session_cancelled", "canceled"),
    ("error", "insufficient_funds", "failed"),
])
def test_bank131s_own_codes_for_time_running_out_and_ends(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer, status: str,
        code: str, attempt: str) -> None:
    # developer.131.ru, errors reference: time ran out or the session was ended, not declined.
    payment, _, ref = _awaiting(api, browser_client, server)
    ended = _finished(session(server, ref), "failed")
    ended["status"] = status
    ended["acquiring_payments"][0]["error"] = {"code": code, "description": code}
    assert send_webhook(server, "payment_finished", ended).json()["outcome"] == "applied"
    row = query(server.settings.db_url, "SELECT status, error_code FROM attempts WHERE "
                "acquirer_ref = :r", r=ref)[0]
    assert tuple(row) == (attempt, code)
    doc = api.get(f"/api/v1/payments/{payment['id']}").json()
    assert doc["status"] == "pending"  # the buyer may try again


def test_the_emulator_takes_a_recurrent_charge_as_the_official_sdk_sends_it(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    # bank131/php-sdk RecurrentPaymentMethod: `initiator` and `security_code` may be null.
    first = partner_call(server, "session/init/payment", {
        "payment_details": {"type": "internet_banking", "internet_banking": {"type": "tpay"}},
        "amount_details": {"amount": 100_00, "currency": "RUB"},
        "customer": {"reference": "c1"},
        "payment_options": {"recurrent": True, "platform_details": {
            "type": "desktop", "os": "windows", "browser": "chrome"}}}).json()["session"]
    partner_call(server, "session/confirm", {"session_id": first["id"]})
    link = session(server, first["id"])["acquiring_payments"][0]["customer_interaction"]
    decide(browser_client, link["redirect"]["url"], approve=True)
    paid = wait_for(lambda: session(server, first["id"]) if session(server, first["id"])
                    ["acquiring_payments"][0].get("recurrent") else None, what="a token")
    token = paid["acquiring_payments"][0]["recurrent"]["token"]
    for recurrent in ({"token": token}, {"token": token, "initiator": None,
                                         "security_code": None}):
        resp = partner_call(server, "session/init/payment", {
            "payment_details": {"type": "recurrent", "recurrent": recurrent},
            "amount_details": {"amount": 50_00, "currency": "RUB"},
            "customer": {"reference": "c1"}})
        assert resp.status_code == 200, resp.text
    wrong = partner_call(server, "session/init/payment", {
        "payment_details": {"type": "recurrent", "recurrent": {"token": token,
                                                               "initiator": "partner"}},
        "amount_details": {"amount": 50_00, "currency": "RUB"}, "customer": {"reference": "c"}})
    assert wrong.status_code == 400


def test_a_refund_asked_again_under_a_used_key_reads_the_session(
        api: httpx.Client, browser_client: httpx.Client, server: LiveServer) -> None:
    """The official SDK knows `idempotency_key_already_exists`; what a repeat returns is
    undocumented. Our driver, asked again (its first answer lost), reads the session rather
    than take the refusal for a refund that did not happen."""
    payment, link, ref = _awaiting(api, browser_client, server)
    decide(browser_client, link, approve=True)
    wait_for_status(api, payment["id"], "succeeded")
    conf = from_wire(httpx.get(f"{server.url}/sandbox/credentials").json())["bank131"]

    async def twice() -> tuple[Snapshot, Snapshot]:
        async with httpx.AsyncClient() as http:
            driver = BY_NAME["bank131"].build(conf, Wiring(http, 10.0, 1200, ""))
            first = await driver.refund(ref, Money(10_00, "RUB"), "rf_same")
            again = await driver.refund(ref, Money(10_00, "RUB"), "rf_same")
            return first, again
    first, again = asyncio.run(twice())
    assert [r.amount for r in first.refunds] == [10_00]
    assert [(r.ref, r.amount) for r in again.refunds] == [(first.refunds[0].ref, 10_00)]
    refunds = session(server, ref)["acquiring_payments"][0]["refunds"]
    assert len(refunds) == 1  # one refund at the bank, asked for twice
