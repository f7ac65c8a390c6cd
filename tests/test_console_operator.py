"""The operators' pages, over HTTP: onboarding a merchant whose first owner joins by the link
and whose first key works; switching its acquirer; a one-time password-reset link; and none
of it to anyone but an operator (404), nor without the session's CSRF token (403)."""

from __future__ import annotations

import re

import httpx

from tests.buyer import query
from tests.console import (
    DEMO_OWNER,
    DEMO_PASSWORD,
    TEST_PASSWORD,
    add_user,
    csrf_of,
    hidden,
    sign_in_form,
    signed_in,
)
from tests.server import LiveServer

HOME = "/console/operator"


def _shown(html: str, marker: str) -> str:
    match = re.search(rf'value="([^"]+)" {marker}', html)
    assert match, f"nothing shown as {marker}"
    return match.group(1)


def test_an_operator_onboards_a_merchant_whose_owner_joins_and_whose_key_works(
        server: LiveServer) -> None:
    op = add_user(server.settings.db_url, "op@checkout.example", operator=True)
    with signed_in(server, op, TEST_PASSWORD) as client:
        csrf = csrf_of(client, HOME)
        bad = client.post(HOME + "/merchants", data={
            "csrf": csrf, "name": "Tea & Co", "return_origins": "https://tea.example",
            "acquirer": "tbc", "owner": "not an email"})
        assert bad.status_code == 422
        assert query(server.settings.db_url, "SELECT count(*) FROM merchants WHERE name = "
                     "'Tea & Co'") == [(0,)]  # a bad email leaves no merchant behind
        made = client.post(HOME + "/merchants", data={
            "csrf": csrf, "name": "Tea & Co", "return_origins": "https://tea.example",
            "embed_origins": "", "acquirer": "tbc", "owner": "Owner@Tea.Example"})
        assert made.status_code == 201, made.text
        link, key = _shown(made.text, "data-invite-link"), _shown(made.text, "data-api-key")
        merchant_id = re.search(r'data-onboarded="([^"]+)"', made.text).group(1)  # type: ignore[union-attr]
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Authorization": f"Bearer {key}"}) as api:
        assert api.get("/api/v1/acquirer").json()["name"] == "tbc"
    with httpx.Client(base_url=server.url, timeout=20) as owner:
        form = owner.get(link.replace(server.url, ""))
        joined = owner.post(link.replace(server.url, ""), data={
            "csrf": hidden(form.text, "csrf"), "password": "a tea owner's passphrase",
            "again": "a tea owner's passphrase"})
        assert joined.status_code == 303
        assert owner.get(f"/console/m/{merchant_id}/team").status_code == 200
    with signed_in(server, op, TEST_PASSWORD) as client:
        switched = client.post(f"{HOME}/merchants/{merchant_id}/acquirer",
                               data={"csrf": csrf_of(client, HOME), "acquirer": "yookassa"})
        assert switched.status_code == 303
        unknown = client.post(f"{HOME}/merchants/{merchant_id}/acquirer",
                              data={"csrf": csrf_of(client, HOME), "acquirer": "paypal"})
        assert unknown.status_code == 422
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Authorization": f"Bearer {key}"}) as api:
        assert api.get("/api/v1/acquirer").json()["name"] == "yookassa"
    audit = [a for (a,) in query(server.settings.db_url,
                                 "SELECT action FROM audit_log WHERE merchant_id = :m "
                                 "ORDER BY at", m=merchant_id)]
    assert audit[:2] == ["team.invite", "merchant.onboard"]
    assert "team.join" in audit and audit[-1] == "merchant.acquirer"


def test_a_reset_link_sets_a_new_password_once_and_ends_the_old_sessions(
        server: LiveServer) -> None:
    op = add_user(server.settings.db_url, "op@checkout.example", operator=True)
    with signed_in(server) as old_session, signed_in(server, op, TEST_PASSWORD) as client:
        user_id = query(server.settings.db_url, "SELECT id FROM console_users WHERE email "
                        "= :e", e=DEMO_OWNER)[0][0]
        made = client.post(f"{HOME}/users/{user_id}/reset", data={"csrf": csrf_of(client,
                                                                                  HOME)})
        assert made.status_code == 201
        link = _shown(made.text, "data-reset-link").replace(server.url, "")
        assert link not in client.get(HOME).text  # shown once
        stored = query(server.settings.db_url, "SELECT id_hash FROM console_resets")
        assert link.rsplit("/", 1)[1] not in str(stored)  # only its hash is kept
        with httpx.Client(base_url=server.url, timeout=20) as person:
            form = person.get(link)
            assert form.status_code == 200 and DEMO_OWNER in form.text
            # Each answer carries a fresh form token (and its cookie): the next post uses it.
            differ = person.post(link, data={"csrf": hidden(form.text, "csrf"),
                                             "password": "a new passphrase!",
                                             "again": "another one"})
            assert differ.status_code == 422
            weak = person.post(link, data={"csrf": hidden(differ.text, "csrf"),
                                           "password": "short", "again": "short"})
            assert weak.status_code == 422
            done = person.post(link, data={"csrf": hidden(weak.text, "csrf"),
                                           "password": "a new passphrase!",
                                           "again": "a new passphrase!"})
            assert done.status_code == 303
            assert person.get(link).status_code == 404  # once
        assert old_session.get("/console/m/mer_demo/payments").status_code == 303  # ended
    with httpx.Client(base_url=server.url, timeout=20) as fresh:
        assert sign_in_form(fresh, DEMO_OWNER, DEMO_PASSWORD).status_code == 401
        assert sign_in_form(fresh, DEMO_OWNER, "a new passphrase!").status_code == 303


def test_the_operator_pages_do_not_exist_for_anyone_else(server: LiveServer) -> None:
    before = query(server.settings.db_url, "SELECT count(*) FROM merchants")
    user_id = query(server.settings.db_url, "SELECT id FROM console_users")[0][0]
    op = add_user(server.settings.db_url, "op@checkout.example", operator=True)
    posts = [(f"{HOME}/merchants", {"name": "X", "return_origins": "https://x.example",
                                    "acquirer": "bank131", "owner": "x@x.example"}),
             (f"{HOME}/merchants/mer_demo/acquirer", {"acquirer": "tbc"}),
             (f"{HOME}/users/{user_id}/reset", {})]
    with signed_in(server) as owner:  # the demo merchant's owner: not an operator
        assert owner.get(HOME).status_code == 404
        csrf = csrf_of(owner)
        for path, data in posts:
            assert owner.post(path, data={"csrf": csrf, **data}).status_code == 404, path
    with signed_in(server, op, TEST_PASSWORD) as client:
        for path, data in posts:
            assert client.post(path, data=data).status_code == 403, path  # no CSRF token
    assert query(server.settings.db_url, "SELECT count(*) FROM merchants") == before
    assert query(server.settings.db_url, "SELECT count(*) FROM console_resets") == [(0,)]
    assert query(server.settings.db_url, "SELECT acquirer FROM merchants WHERE id = "
                 "'mer_demo'") == [("bank131",)]
    with httpx.Client(base_url=server.url, timeout=20) as stranger:
        assert stranger.get(HOME).status_code == 303  # to the sign-in page


def test_an_operator_reads_any_merchants_story_and_no_page_shows_a_secret(
        server: LiveServer) -> None:
    from checkout.vault import Vault
    from tests.buyer import clients, pay, wait_for

    payment = pay(server)
    pid = str(payment["id"])
    op = add_user(server.settings.db_url, "op@checkout.example", operator=True)
    db = server.settings.db_url
    with signed_in(server, op, TEST_PASSWORD) as client:
        listing = client.get("/console/m/mer_demo/payments")
        assert listing.status_code == 200 and f'data-payment="{pid}"' in listing.text
        assert listing.headers["cache-control"] == "no-store"
        story = client.get(f"/console/m/mer_demo/payments/{pid}")
        assert "data-attempt=" in story.text and "payment.succeeded" in story.text
        assert "payment_finished" in story.text  # the acquirer's webhook, as received
        log = wait_for(lambda: (t := client.get("/console/m/mer_demo/webhooks?status="
                                                "succeeded").text) and pid in t and t,
                       what="the delivery in the log")
        pages = [listing.text, story.text, log, client.get(HOME).text,
                 client.get("/console/m/mer_demo/keys").text,
                 client.get("/console/m/mer_demo/settings").text,
                 client.get("/console/m/mer_demo/export/payments.csv").text]
    vault = Vault(server.settings.secret_keys)
    secrets = [vault.open(s) for (s,) in query(db, "SELECT secret FROM webhook_endpoints")]
    sealed = [s for (s,) in query(db, "SELECT secret FROM webhook_endpoints")]
    hashes = [h for (h,) in query(db, "SELECT key_hash FROM merchant_keys")]
    passwords = [h for (h,) in query(db, "SELECT password_hash FROM console_users")]
    tokens = [t for (t,) in query(db, "SELECT token FROM payment_methods")]
    checkout_token = str(payment["checkout_url"]).rsplit("/", 1)[-1]
    for text in pages:
        for secret in [*secrets, *sealed, *hashes, *passwords, *tokens, checkout_token,
                       "sk_test_demo"]:
            assert secret not in text
    with clients(server) as (api, _):
        assert api.get(f"/api/v1/payments/{pid}").status_code == 200


def test_an_older_reset_link_stops_when_a_newer_is_made_or_the_password_changes(
        server: LiveServer) -> None:
    op = add_user(server.settings.db_url, "op@checkout.example", operator=True)
    user_id = query(server.settings.db_url, "SELECT id FROM console_users WHERE email = :e",
                    e=DEMO_OWNER)[0][0]
    with signed_in(server, op, TEST_PASSWORD) as client:
        def new_link() -> str:
            made = client.post(f"{HOME}/users/{user_id}/reset",
                               data={"csrf": csrf_of(client, HOME)})
            assert made.status_code == 201
            return _shown(made.text, "data-reset-link").replace(server.url, "")
        first, second = new_link(), new_link()
        assert httpx.get(server.url + first).status_code == 404  # replaced by the newer
        third = new_link()  # replaces the second; then the password changes another way
    with httpx.Client(base_url=server.url, timeout=20) as person:
        form = person.get(third)
        assert person.post(third, data={"csrf": hidden(form.text, "csrf"),
                                        "password": "a new passphrase!",
                                        "again": "a new passphrase!"}).status_code == 303
    for link in (first, second, third):
        assert httpx.get(server.url + link).status_code == 404
    assert query(server.settings.db_url, "SELECT count(*) FROM console_resets WHERE used_at "
                 "IS NULL") == [(0,)]
