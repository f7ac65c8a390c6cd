"""The console's API keys page, over HTTP: a key made there is shown once and works at once;
a roll keeps the old key working for the overlap (or stops it now); a revoked key is refused;
each key says when it was last used, written at most once a minute."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from tests.buyer import execute, query
from tests.console import TEST_PASSWORD, add_user, csrf_of, signed_in
from tests.server import LiveServer

PAGE = "/console/m/mer_demo/keys"


def _key_on(html: str) -> str:
    match = re.search(r'value="(sk_test_[^"]+)" data-api-key', html)
    assert match, "no key shown"
    return match.group(1)


def _works(server: LiveServer, key: str) -> bool:
    with httpx.Client(base_url=server.url, timeout=15,
                      headers={"Authorization": f"Bearer {key}"}) as api:
        code = api.get("/api/v1/payments?limit=1").status_code
    assert code in (200, 401), code
    return code == 200


def _key_id(server: LiveServer, key: str) -> str:
    return str(query(server.settings.db_url, "SELECT id FROM merchant_keys WHERE hint = :h",
                     h=key[-4:])[0][0])


def test_a_developer_makes_rolls_and_revokes_keys(server: LiveServer) -> None:
    dev = add_user(server.settings.db_url, "dev@shop.example", "mer_demo", "developer")
    with signed_in(server, dev, TEST_PASSWORD) as client:
        csrf = csrf_of(client, PAGE)
        unconfirmed = client.post(PAGE + "/create", data={"csrf": csrf})
        assert unconfirmed.status_code == 422
        made = client.post(PAGE + "/create", data={"csrf": csrf, "confirm": "1",
                                                   "scope": "payments"})
        assert made.status_code == 201
        key = _key_on(made.text)
        assert _works(server, key)
        assert key not in client.get(PAGE).text  # shown once
        stored = query(server.settings.db_url, "SELECT key_hash FROM merchant_keys")
        assert all(key not in h for (h,) in stored)
        key_id = _key_id(server, key)

        rolled = client.post(f"{PAGE}/{key_id}/roll", data={"csrf": csrf, "confirm": "1"})
        assert rolled.status_code == 200
        successor = _key_on(rolled.text)
        assert _works(server, successor) and _works(server, key)  # the overlap
        assert f'data-key="{key_id}" data-state="ending"' in client.get(PAGE).text

        again = client.post(f"{PAGE}/{_key_id(server, successor)}/roll",
                            data={"csrf": csrf, "confirm": "1", "now": "1"})
        third = _key_on(again.text)
        assert _works(server, third) and not _works(server, successor)

        revoked = client.post(f"{PAGE}/{_key_id(server, third)}/revoke",
                              data={"csrf": csrf, "confirm": "1"})
        assert revoked.status_code == 303
        assert not _works(server, third)
        assert _works(server, "sk_test_demo")  # the others are untouched
        # A stopped key offers nothing more to do.
        stopped = client.post(f"{PAGE}/{_key_id(server, third)}/roll",
                              data={"csrf": csrf, "confirm": "1"})
        assert stopped.status_code == 409
    audit = query(server.settings.db_url, "SELECT action FROM audit_log WHERE action LIKE "
                  "'key.%' ORDER BY at")
    assert [a for (a,) in audit] == ["key.create", "key.roll", "key.roll", "key.revoke"]
    assert not any(k in str(query(server.settings.db_url, "SELECT detail FROM audit_log"))
                   for k in (key, successor, third))


def test_last_use_is_shown_and_written_at_most_once_a_minute(server: LiveServer) -> None:
    db = server.settings.db_url

    def last_used() -> object:
        return query(db, "SELECT last_used_at FROM merchant_keys WHERE id = 'key_demo'")[0][0]

    with signed_in(server) as client:
        assert "never" in client.get(PAGE).text
        assert _works(server, "sk_test_demo")
        first = last_used()
        assert first is not None
        for _ in range(5):
            assert _works(server, "sk_test_demo")
        assert last_used() == first  # within the minute: no more writes
        long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
        execute(db, "UPDATE merchant_keys SET last_used_at = :t WHERE id = 'key_demo'",
                t=long_ago)
        assert _works(server, "sk_test_demo")
        assert str(last_used()) > str(long_ago)
        assert 'data-key="key_demo" data-state="active"' in client.get(PAGE).text


def _api(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=15,
                        headers={"Authorization": f"Bearer {key}"})


def test_a_developer_makes_only_keys_that_move_no_money(server: LiveServer) -> None:
    """A developer cannot refund in the console; they could make a key and refund through the
    API. Now they make read or payments keys only, cannot roll a full one into another full
    one, and a payments key is refused (403) every call that moves money."""
    dev = add_user(server.settings.db_url, "dev@shop.example", "mer_demo", "developer")
    with signed_in(server, dev, TEST_PASSWORD) as client:
        csrf = csrf_of(client, PAGE)
        form = client.get(PAGE).text
        assert 'value="payments"' in form and 'value="read"' in form
        assert 'value="full"' not in form
        full = client.post(PAGE + "/create", data={"csrf": csrf, "confirm": "1",
                                                   "scope": "full"})
        assert full.status_code == 403 and "cannot make a key that moves money" in full.text
        rolled = client.post(f"{PAGE}/key_demo/roll", data={"csrf": csrf, "confirm": "1"})
        assert rolled.status_code == 403
        payments_key = _key_on(client.post(PAGE + "/create", data={
            "csrf": csrf, "confirm": "1", "scope": "payments"}).text)
        read_key = _key_on(client.post(PAGE + "/create", data={
            "csrf": csrf, "confirm": "1", "scope": "read"}).text)
        page = client.get(PAGE).text
        assert page.count("dev@shop.example") >= 2  # who made each
    order = {"amount": 100_00, "currency": "RUB", "description": "Order 9",
             "return_url": f"{server.url}/shop/return"}
    with _api(server, payments_key) as api:
        made = api.post("/api/v1/payments", json=order)
        assert made.status_code == 201, made.text
        payment_id = made.json()["id"]
        for path in (f"/api/v1/payments/{payment_id}/capture",
                     f"/api/v1/payments/{payment_id}/cancel",
                     f"/api/v1/payments/{payment_id}/refunds"):
            refused = api.post(path, json={})
            assert refused.status_code == 403, (path, refused.text)
            problem = refused.json()
            assert problem["type"].endswith("/forbidden")
            assert (problem["scope"], problem["required"]) == ("payments", "full")
        charge = api.post("/api/v1/payments", json={
            **order, "payment_method_id": "pm_any", "initiator": "merchant"})
        assert charge.status_code == 403, charge.text
        assert api.get(f"/api/v1/payments/{payment_id}").status_code == 200
    with _api(server, read_key) as api:
        assert api.get(f"/api/v1/payments/{payment_id}").status_code == 200
        assert api.post("/api/v1/payments", json=order).status_code == 403
    with _api(server, "sk_test_demo") as api:  # made before scopes: full, as it was
        assert api.post(f"/api/v1/payments/{payment_id}/cancel", json={}).status_code == 200


def test_removing_a_member_offers_to_revoke_the_keys_they_made(server: LiveServer) -> None:
    dev = add_user(server.settings.db_url, "dev@shop.example", "mer_demo", "developer")
    with signed_in(server, dev, TEST_PASSWORD) as client:
        key = _key_on(client.post(PAGE + "/create", data={
            "csrf": csrf_of(client, PAGE), "confirm": "1", "scope": "payments"}).text)
    user_id = query(server.settings.db_url, "SELECT id FROM console_users WHERE email = :e",
                    e=dev)[0][0]
    with signed_in(server) as owner:
        team = owner.get("/console/m/mer_demo/team").text
        assert "data-revoke-keys" in team and "(1)" in team
        gone = owner.post(f"/console/m/mer_demo/team/{user_id}/remove", data={
            "csrf": csrf_of(owner), "revoke_keys": "1"})
        assert gone.status_code == 303
        assert "dev@shop.example" in owner.get(PAGE).text  # the key says who made it
    assert not _works(server, key)
    detail = query(server.settings.db_url, "SELECT detail FROM audit_log WHERE action = "
                   "'team.remove'")[0][0]
    assert '"keys_revoked": 1' in detail
