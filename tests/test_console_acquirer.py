"""The console's acquirer page: an owner (or an operator) adds the merchant's own acquirer
account, checks its connection, replaces a secret without ever seeing the old one, and sends
new payments there; a developer may not touch the merchant's contracts."""

from __future__ import annotations

import re

import httpx

from checkout.sandbox import tbank
from tests.buyer import query
from tests.console import TEST_PASSWORD, add_user, csrf_of, signed_in
from tests.server import LiveServer

PAGE = "/console/m/mer_demo_tbank/acquirer"


def _accounts(server: LiveServer) -> list[tuple[str, str, int, str | None]]:
    return [tuple(r) for r in query(server.settings.db_url,
                                    "SELECT id, label, version, check_problem FROM "
                                    "acquirer_accounts WHERE merchant_id = 'mer_demo_tbank'")]


def _merchant_account(server: LiveServer) -> str | None:
    return query(server.settings.db_url, "SELECT acquirer_account_id FROM merchants WHERE "
                 "id = 'mer_demo_tbank'")[0][0]  # type: ignore[no-any-return]


def test_an_owner_adds_checks_fixes_and_uses_an_account_of_its_own(server: LiveServer) -> None:
    with signed_in(server, "owner+tbank@demo.test") as client:
        csrf = csrf_of(client, PAGE)
        page = client.get(PAGE).text
        assert "this checkout&#39;s own account" in page or "this checkout's own account" in page
        added = client.post(f"{PAGE}/accounts", data={
            "csrf": csrf, "acquirer": "tbank", "label": "Counter terminal",
            "terminal_key": tbank.TERMINAL2, "password": "not-the-password"})
        assert added.status_code == 303 and added.headers["location"].endswith("done=added")
        ((account_id, label, version, problem),) = _accounts(server)
        assert label == "Counter terminal" and version == 1 and problem is None
        page = client.get(PAGE).text
        assert "not-the-password" not in page
        assert f"/webhooks/tbank/{account_id}" in page  # what to give T-Bank
        # A wrong password: the check says so, on the account.
        client.post(f"{PAGE}/accounts/{account_id}/check", data={"csrf": csrf})
        ((_, _, _, problem),) = _accounts(server)
        assert problem and "refuses the password" in problem
        assert 'data-check="failed"' in client.get(PAGE).text
        # A new password; the terminal key left as it is, shown, and kept.
        changed = client.post(f"{PAGE}/accounts/{account_id}/change", data={
            "csrf": csrf, "label": "", "terminal_key": tbank.TERMINAL2,
            "password": tbank.PASSWORD2})
        assert changed.status_code == 303
        client.post(f"{PAGE}/accounts/{account_id}/check", data={"csrf": csrf})
        ((_, label, version, problem),) = _accounts(server)
        assert (label, version, problem) == ("Counter terminal", 2, None)
        page = client.get(PAGE).text
        assert 'data-check="passed"' in page and tbank.PASSWORD2 not in page
        assert "…" + tbank.PASSWORD2[-4:] in page
        # A blank password keeps the stored one (the form never had it).
        client.post(f"{PAGE}/accounts/{account_id}/change", data={
            "csrf": csrf, "terminal_key": tbank.TERMINAL2, "password": ""})
        client.post(f"{PAGE}/accounts/{account_id}/check", data={"csrf": csrf})
        assert _accounts(server)[0][2:] == (3, None)
        assert _merchant_account(server) is None
        client.post(f"{PAGE}/accounts/{account_id}/use", data={"csrf": csrf})
        assert _merchant_account(server) == account_id
        back = client.post(f"{PAGE}/own", data={"csrf": csrf, "acquirer": "tbank"})
        assert back.status_code == 303 and _merchant_account(server) is None
        actions = [r[0] for r in query(server.settings.db_url,
                                       "SELECT action FROM audit_log WHERE target = :a",
                                       a=account_id)]
        assert sorted(set(actions)) == ["acquirer_account.add", "acquirer_account.change",
                                        "acquirer_account.check", "acquirer_account.use"]
        details = query(server.settings.db_url, "SELECT detail FROM audit_log")
        assert not any(tbank.PASSWORD2 in str(d) for d in details)


def test_bad_settings_are_shown_on_the_form_and_nothing_is_stored(server: LiveServer) -> None:
    with signed_in(server, "owner+tbank@demo.test") as client:
        csrf = csrf_of(client, PAGE)
        resp = client.post(f"{PAGE}/accounts", data={
            "csrf": csrf, "acquirer": "tbank", "terminal_key": tbank.TERMINAL2,
            "password": ""})
        assert resp.status_code == 422
        assert re.search(r'id="add-tbank-password"[^>]*aria-invalid="true"', resp.text)
        assert "required" in resp.text
        resp = client.post(f"{PAGE}/accounts", data={"csrf": csrf, "acquirer": "visa"})
        assert resp.status_code == 422
    assert _accounts(server) == []


def test_a_developer_may_not_touch_the_merchants_contracts(server: LiveServer) -> None:
    email = add_user(server.settings.db_url, "dev@shop.example", "mer_demo_tbank", "developer")
    with signed_in(server, email, TEST_PASSWORD) as client:
        csrf = csrf_of(client, "/console/m/mer_demo_tbank/payments")
        assert client.get(PAGE).status_code == 403
        assert client.post(f"{PAGE}/accounts", data={
            "csrf": csrf, "acquirer": "tbank", "terminal_key": tbank.TERMINAL2,
            "password": tbank.PASSWORD2}).status_code == 403
        assert "/acquirer" not in client.get("/console/m/mer_demo_tbank/payments").text
    assert _accounts(server) == []


def test_an_operator_manages_any_merchants_accounts(server: LiveServer) -> None:
    email = add_user(server.settings.db_url, "ops@checkout.example", operator=True)
    with signed_in(server, email, TEST_PASSWORD) as client:
        csrf = csrf_of(client, PAGE)
        client.post(f"{PAGE}/accounts", data={
            "csrf": csrf, "acquirer": "tbank", "terminal_key": tbank.TERMINAL2,
            "password": tbank.PASSWORD2})
        ((account_id, *_),) = _accounts(server)
        client.post(f"{PAGE}/accounts/{account_id}/use", data={"csrf": csrf})
    assert _merchant_account(server) == account_id
    with httpx.Client(base_url=server.url, timeout=10,
                      headers={"Authorization": "Bearer sk_test_demo_tbank"}) as api:
        assert api.get("/api/v1/acquirer").json()["account"]["id"] == account_id
