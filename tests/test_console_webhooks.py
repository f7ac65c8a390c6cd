"""The console's webhooks page, over HTTP: a developer adds an endpoint (its secret shown once),
rotates the secret with an overlap, disables, enables, tests and deletes it, and resends an
event from the delivery log once per click; a viewer reads it all and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.buyer import FAST_RETRIES, query, wait_for
from tests.console import TEST_PASSWORD, add_user, csrf_of, hidden, signed_in
from tests.receiver import Receiver
from tests.server import LiveServer

PAGE = "/console/m/mer_demo/webhooks"


def _secret_on(html: str) -> str:
    match = re.search(r'value="(whsec_[^"]+)" data-secret', html)
    assert match, "no secret shown"
    return match.group(1)


def _endpoint_id(server: LiveServer, url: str) -> str:
    rows = query(server.settings.db_url, "SELECT id FROM webhook_endpoints WHERE url = :u "
                 "AND deleted_at IS NULL", u=url)
    assert len(rows) == 1, rows
    return str(rows[0][0])


def _post(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf": csrf_of(client, PAGE), **fields})


def test_a_developer_adds_an_endpoint_and_its_secret_is_shown_once(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**FAST_RETRIES)
    dev = add_user(server.settings.db_url, "dev@shop.example", "mer_demo", "developer")
    with Receiver("") as receiver, signed_in(server, dev, TEST_PASSWORD) as client:
        added = _post(client, PAGE + "/add", url=receiver.url)
        assert added.status_code == 201, added.text
        secret = _secret_on(added.text)
        receiver.secret = secret
        again = client.get(PAGE).text
        assert secret not in again and receiver.url in again  # never shown again
        endpoint = _endpoint_id(server, receiver.url)
        audit = query(server.settings.db_url,
                      "SELECT action, target, detail FROM audit_log WHERE action LIKE "
                      "'webhook.%'")
        assert [(a, t) for a, t, _ in audit] == [("webhook.add", endpoint)]
        assert secret not in audit[0][2]

        tested = _post(client, f"{PAGE}/{endpoint}/test")
        assert tested.status_code == 303 and tested.headers["location"].endswith("done=test")
        wait_for(lambda: any(r.verified and r.verified["type"] == "webhook.test"
                             for r in receiver.receipts), what="the test event, verified")
        log = wait_for(lambda: 'data-status="succeeded"' in client.get(
            f"{PAGE}?endpoint={endpoint}&status=succeeded").text or None,
            what="the delivery in the log")
        assert log

        rotated = _post(client, f"{PAGE}/{endpoint}/rotate")
        assert rotated.status_code == 200
        new = _secret_on(rotated.text)
        assert new != secret and "also signs until" in rotated.text
        receiver.secret = secret  # a receiver still on the old secret verifies, for now
        _post(client, f"{PAGE}/{endpoint}/test")
        wait_for(lambda: sum(1 for r in receiver.receipts if r.verified) >= 2,
                 what="the second test event, verified with the old secret")
        receiver.secret = new

        _post(client, f"{PAGE}/{endpoint}/rotate", now="1")
        assert "also signs until" not in client.get(PAGE).text

        off = _post(client, f"{PAGE}/{endpoint}/disable")
        assert off.status_code == 303
        assert 'data-action="enable"' in client.get(PAGE).text
        assert _post(client, f"{PAGE}/{endpoint}/test").status_code == 409
        assert _post(client, f"{PAGE}/{endpoint}/enable").status_code == 303

        unconfirmed = _post(client, f"{PAGE}/{endpoint}/delete")
        assert unconfirmed.status_code == 422 and 'role="alert"' in unconfirmed.text
        gone = _post(client, f"{PAGE}/{endpoint}/delete", confirm="1")
        assert gone.status_code == 303
        assert f'data-endpoint="{endpoint}"' not in client.get(PAGE).text
        actions = [a for (a,) in query(server.settings.db_url,
                                       "SELECT action FROM audit_log WHERE action LIKE "
                                       "'webhook.%' ORDER BY at")]
        assert actions == ["webhook.add", "webhook.test", "webhook.rotate", "webhook.test",
                           "webhook.rotate", "webhook.disable", "webhook.enable",
                           "webhook.delete"]


def test_a_bad_url_is_refused_with_a_reason_and_nothing_is_added(server: LiveServer) -> None:
    before = query(server.settings.db_url, "SELECT count(*) FROM webhook_endpoints")
    with signed_in(server) as client:
        for url in ("ftp://shop.example/hook", "not a url", "", "https://" + "a" * 3000):
            refused = _post(client, PAGE + "/add", url=url)
            assert refused.status_code == 422 and 'role="alert"' in refused.text, url
    assert query(server.settings.db_url, "SELECT count(*) FROM webhook_endpoints") == before


def test_an_event_resent_from_the_log_is_queued_once_per_click(server: LiveServer) -> None:
    from tests.buyer import pay

    pay(server)
    db = server.settings.db_url
    wait_for(lambda: query(db, "SELECT count(*) FROM deliveries")[0][0] or None,
             what="a delivery")
    with signed_in(server) as client:
        page = client.get(PAGE).text
        match = re.search(r'action="(/console/m/mer_demo/webhooks/events/[^"]+/resend)"', page)
        assert match
        key = hidden(page[match.start():], "key")
        event = match.group(1).split("/")[-2]
        before = query(db, "SELECT count(*) FROM deliveries WHERE event_id = :e", e=event)[0][0]
        for _ in range(3):  # a triple click: the same form, the same key
            done = _post(client, match.group(1), key=key)
            assert done.status_code == 303 and done.headers["location"].endswith("done=resend")
        after = query(db, "SELECT count(*) FROM deliveries WHERE event_id = :e", e=event)[0][0]
        assert after == before + 1


def test_a_viewer_reads_the_page_without_any_form_to_change_it(server: LiveServer) -> None:
    viewer = add_user(server.settings.db_url, "vi@shop.example", "mer_demo", "viewer")
    with signed_in(server, viewer, TEST_PASSWORD) as client:
        page = client.get(PAGE)
        assert page.status_code == 200 and 'data-endpoint="we_demo"' in page.text
        assert "data-action=" not in page.text
        assert _post(client, PAGE + "/add", url="https://x.example/").status_code == 403
