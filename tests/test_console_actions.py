"""What the console lets each role do to payments, and that each action, confirmed, happens
once however often it is sent: the role matrix over every console route, and the actions."""

from __future__ import annotations

import httpx
import pytest

from tests.buyer import decide, new_payment, query, start, wait_for, wait_for_link, wait_for_status
from tests.console import TEST_PASSWORD, add_user, confirm_action, csrf_of, hidden, signed_in
from tests.server import LiveServer

STORY = "/console/m/mer_demo/payments/{p}"
# Every console route that is one merchant's, with what it needs. A route added without a
# line here fails `test_the_matrix_covers_every_console_route`.
MATRIX = [
    ("GET", "/console/m/{merchant_id}/payments", "read"),
    ("GET", "/console/m/{merchant_id}/export/payments.csv", "read"),
    ("GET", "/console/m/{merchant_id}/payments/{payment_id}", "read"),
    ("GET", "/console/m/{merchant_id}/payments/{payment_id}/row", "read"),
    ("POST", "/console/m/{merchant_id}/payments/{payment_id}/{action}", "move_money"),
    ("POST", "/console/m/{merchant_id}/payments/{payment_id}/events/{event_id}/resend",
     "move_money"),
    ("GET", "/console/m/{merchant_id}/team", "manage_team"),
    ("POST", "/console/m/{merchant_id}/team/invite", "manage_team"),
    ("POST", "/console/m/{merchant_id}/team/invite/revoke", "manage_team"),
    ("POST", "/console/m/{merchant_id}/team/{user_id}/{action}", "manage_team"),
    ("GET", "/console/m/{merchant_id}/audit", "manage_team"),
    ("GET", "/console/m/{merchant_id}/webhooks", "read"),
    ("POST", "/console/m/{merchant_id}/webhooks/add", "manage_webhooks"),
    ("POST", "/console/m/{merchant_id}/webhooks/events/{event_id}/resend", "manage_webhooks"),
    ("POST", "/console/m/{merchant_id}/webhooks/{endpoint_id}/{action}", "manage_webhooks"),
    ("GET", "/console/m/{merchant_id}/keys", "manage_keys"),
    ("POST", "/console/m/{merchant_id}/keys/create", "manage_keys"),
    ("POST", "/console/m/{merchant_id}/keys/{key_id}/{action}", "manage_keys"),
    ("GET", "/console/m/{merchant_id}/settings", "manage_settings"),
    ("POST", "/console/m/{merchant_id}/settings", "manage_settings"),
    ("GET", "/console/m/{merchant_id}/settings/frames", "manage_settings"),
    ("GET", "/console/m/{merchant_id}/settings/preview", "manage_settings"),
    ("GET", "/console/m/{merchant_id}/acquirer", "manage_acquirer"),
    ("POST", "/console/m/{merchant_id}/acquirer/accounts", "manage_acquirer"),
    ("POST", "/console/m/{merchant_id}/acquirer/own", "manage_acquirer"),
    ("POST", "/console/m/{merchant_id}/acquirer/accounts/{account_id}/{action}",
     "manage_acquirer"),
    ("GET", "/console/m/{merchant_id}/links", "read"),
    ("POST", "/console/m/{merchant_id}/links/create", "manage_links"),
    ("GET", "/console/m/{merchant_id}/links/{link_id}", "read"),
    ("GET", "/console/m/{merchant_id}/links/{link_id}/qr.{kind}", "read"),
    ("POST", "/console/m/{merchant_id}/links/{link_id}/deactivate", "manage_links"),
]
ALLOWED = {"owner": {"read", "move_money", "manage_team", "manage_webhooks", "manage_keys",
                     "manage_settings", "manage_acquirer", "manage_links"},
           "developer": {"read", "manage_webhooks", "manage_keys", "manage_settings",
                         "manage_links"},
           "support": {"read", "move_money", "manage_links"}, "viewer": {"read"}}
# The action a pattern's {action} is tried with: its first step changes nothing, and the
# confirmed one would (a refund, a new role, a deleted endpoint).
ACTION_FOR = {"team": "role", "webhooks": "delete", "payments": "refund", "keys": "revoke",
              "acquirer": "use"}


def _paid(server: LiveServer, api: httpx.Client, **fields: object) -> dict[str, object]:
    payment = new_payment(api, server.url, **fields)
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        start(buyer, str(payment["checkout_url"]))
        decide(buyer, wait_for_link(buyer, str(payment["checkout_url"])), approve=True)
    return payment


def _state(server: LiveServer, payment_id: str) -> list[object]:
    """What a refused request must not change: the payment, its refunds, deliveries, and the
    audit log's money actions."""
    db = server.settings.db_url
    return [query(db, "SELECT status, version, captured_amount, refunded_amount FROM payments "
                  "WHERE id = :p", p=payment_id),
            query(db, "SELECT count(*) FROM refunds WHERE payment_id = :p", p=payment_id),
            query(db, "SELECT count(*) FROM deliveries"),
            # An export is a read, but logged (who took which payments away).
            query(db, "SELECT count(*) FROM audit_log WHERE action NOT LIKE 'sign_%' "
                  "AND action != 'payments.export'"),
            query(db, "SELECT user_id, role FROM memberships ORDER BY user_id"),
            query(db, "SELECT count(*) FROM console_invites"),
            query(db, "SELECT id, url, secret, disabled_at, deleted_at FROM webhook_endpoints "
                  "ORDER BY id"),
            query(db, "SELECT id, expires_at FROM merchant_keys ORDER BY id"),
            query(db, "SELECT * FROM merchants ORDER BY id"),
            query(db, "SELECT * FROM acquirer_accounts ORDER BY id"),
            query(db, "SELECT * FROM payment_links ORDER BY id")]


def test_the_matrix_covers_every_console_route(server: LiveServer) -> None:
    from starlette.routing import Route

    served = {(m, r.path) for r in server.app.routes if isinstance(r, Route)
              and r.path.startswith("/console/m/") for m in (r.methods or ()) - {"HEAD"}}
    assert served == {(m, p) for m, p, _ in MATRIX}


@pytest.mark.parametrize("role", ["owner", "developer", "support", "viewer", "outsider"])
def test_every_role_gets_what_its_role_allows_and_nothing_else(
        server: LiveServer, api: httpx.Client, role: str) -> None:
    db = server.settings.db_url
    if role == "outsider":
        from tests.buyer import add_merchant
        add_merchant(db, "mer_outside", "sk_test_outside", return_origins='["http://x"]')
        email = add_user(db, "someone@outside.example", "mer_outside", "owner")
    else:
        email = add_user(db, f"{role}@shop.example", "mer_demo", role)
    paid = _paid(server, api)
    wait_for_status(api, str(paid["id"]), "succeeded")
    event = query(db, "SELECT id FROM events WHERE payment_id = :p", p=paid["id"])[0][0]
    with signed_in(server, email, TEST_PASSWORD) as client:
        home = "/console/m/mer_outside/payments" if role == "outsider" else None
        csrf = csrf_of(client, home or "/console/m/mer_demo/payments")
        for method, pattern, needs in MATRIX:
            path = pattern.format(merchant_id="mer_demo", payment_id=paid["id"],
                                  event_id=event, user_id="usr_nobody", endpoint_id="we_demo",
                                  key_id="key_demo", account_id="acct_nobody",
                                  link_id="plink_nobody", kind="svg",
                                  action=ACTION_FOR.get(pattern.split("/")[4], ""))
            before = _state(server, str(paid["id"]))
            if method == "GET":
                resp = client.get(path)
            else:
                resp = client.post(path, data={"csrf": csrf})  # the first, asking, step
            if role == "outsider":
                expected = 404
            else:
                expected = 200 if needs in ALLOWED[role] else 403
            if expected == 200:  # allowed: whatever the action says of its (empty) form
                assert resp.status_code not in (401, 403) and resp.status_code < 500, \
                    (role, method, path, resp.status_code)
            else:
                assert resp.status_code == expected, (role, method, path, resp.text[:300])
            if method == "POST":
                # Without the session's token: refused, whatever the role, and nothing moves.
                bare = client.post(path, data={"amount": "1"})
                assert bare.status_code == (404 if role == "outsider" else 403), (role, path)
                wrong = client.post(path, data={"csrf": csrf[::-1], "confirm": "1",
                                                "key": "k" * 32})
                assert wrong.status_code == (404 if role == "outsider" else 403)
                if expected != 200:
                    # Refused for the role: confirming does not help either.
                    confirmed = client.post(path, data={"csrf": csrf, "confirm": "1",
                                                        "key": "k" * 32})
                    assert confirmed.status_code == expected
            assert _state(server, str(paid["id"])) == before, (role, method, path)


def test_support_refunds_part_once_however_often_the_confirm_is_sent(
        server: LiveServer, api: httpx.Client) -> None:
    paid = _paid(server, api)
    wait_for_status(api, str(paid["id"]), "succeeded")
    email = add_user(server.settings.db_url, "sam@shop.example", "mer_demo", "support")
    path = STORY.format(p=paid["id"]) + "/refund"
    with signed_in(server, email, TEST_PASSWORD) as client:
        done = confirm_action(client, path, amount="40,50")
        assert "40.50" in done.review.text  # type: ignore[attr-defined]
        assert done.status_code == 303 and done.headers["location"].endswith("?done=refund")
        # A double click, a reload of the answer: the same key, the same one refund.
        again = client.post(path, data={"csrf": csrf_of(client), "confirm": "1",
                                        "key": hidden(done.review.text, "key"),  # type: ignore[attr-defined]
                                        "amount": "40,50"})
        assert again.status_code == 303
        story = client.get(done.headers["location"]).text
        assert 'role="status"' in story
        # The same key with another amount is another request: refused, nothing made.
        other = client.post(path, data={"csrf": csrf_of(client), "confirm": "1",
                                        "key": hidden(done.review.text, "key"),  # type: ignore[attr-defined]
                                        "amount": "10"})
        assert other.status_code == 422
    refunds = query(server.settings.db_url, "SELECT amount FROM refunds WHERE payment_id = :p",
                    p=paid["id"])
    assert refunds == [(40_50,)]
    wait_for(lambda: api.get(f"/api/v1/payments/{paid['id']}").json()["refunded_amount"]
             == 40_50 or None, what="the refund to settle")
    audit = query(server.settings.db_url, "SELECT action, email, merchant_id, target FROM "
                  "audit_log WHERE action = 'payment.refund' ORDER BY at")
    assert audit == [("payment.refund", email, "mer_demo", paid["id"])] * 3


def test_a_hold_is_captured_in_part_and_a_pending_payment_canceled(
        server: LiveServer, api: httpx.Client) -> None:
    held = _paid(server, api, capture=False)
    wait_for_status(api, str(held["id"]), "waiting_for_capture")
    waiting = new_payment(api, server.url)
    with signed_in(server) as client:
        story = client.get(STORY.format(p=held["id"])).text
        assert 'data-action="capture"' in story and 'data-action="refund"' not in story
        done = confirm_action(client, STORY.format(p=held["id"]) + "/capture", amount="100")
        assert done.status_code == 303
        captured = wait_for_status(api, str(held["id"]), "succeeded")
        assert captured["captured_amount"] == 100_00
        gone = confirm_action(client, STORY.format(p=waiting["id"]) + "/cancel")
        assert gone.status_code == 303
        assert api.get(f"/api/v1/payments/{waiting['id']}").json()["status"] == "canceled"
        # Too much, or not an amount: a page saying so, and nothing done.
        for amount in ("1000000", "ten", "-5"):
            refused = client.post(STORY.format(p=held["id"]) + "/refund",
                                  data={"csrf": csrf_of(client), "amount": amount,
                                        "confirm": "1", "key": f"k-{amount}"})
            assert 400 <= refused.status_code < 500 and 'role="alert"' in refused.text, amount
    assert query(server.settings.db_url, "SELECT count(*) FROM refunds") == [(0,)]


def test_an_event_is_sent_again_once_per_confirm(server: LiveServer,
                                                 api: httpx.Client) -> None:
    paid = _paid(server, api)
    wait_for_status(api, str(paid["id"]), "succeeded")
    db = server.settings.db_url
    event = query(db, "SELECT id FROM events WHERE payment_id = :p AND type = "
                  "'payment.succeeded'", p=paid["id"])[0][0]
    before = query(db, "SELECT count(*) FROM deliveries WHERE event_id = :e", e=event)[0][0]
    with signed_in(server) as client:
        path = STORY.format(p=paid["id"]) + f"/events/{event}/resend"
        done = confirm_action(client, path)
        assert done.status_code == 303
        client.post(path, data={"csrf": csrf_of(client), "confirm": "1",
                                "key": hidden(done.review.text, "key")})  # type: ignore[attr-defined]
    after = query(db, "SELECT count(*) FROM deliveries WHERE event_id = :e", e=event)[0][0]
    assert after == before + 1
