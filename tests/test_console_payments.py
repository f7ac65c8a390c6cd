"""The console's payments: a merchant's own only, filtered as asked, paged by key, and the rows
that may still change asking for themselves again."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from tests.buyer import (
    add_merchant,
    decide,
    new_payment,
    query,
    start,
    wait_for_link,
    wait_for_status,
)
from tests.console import signed_in
from tests.server import LiveServer

PAGE = "/console/m/mer_demo/payments"


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-payment="(pay_[0-9a-f]+)"', html)


def test_the_list_shows_the_merchants_payments_filtered_as_asked(
        server: LiveServer, api: httpx.Client) -> None:
    small = new_payment(api, server.url, amount=10_00, reference="order-small")
    large = new_payment(api, server.url, amount=2_500_00, reference="order-large")
    headers = add_merchant(server.settings.db_url, "mer_else", "sk_test_else",
                           return_origins='["http://127.0.0.1:*"]')
    with httpx.Client(base_url=server.url, headers=headers, timeout=20) as other:
        elsewhere = new_payment(other, server.url)
    with signed_in(server) as client:
        everything = _ids(client.get(PAGE).text)
        assert everything == [large["id"], small["id"]]  # newest first, ours only
        assert elsewhere["id"] not in client.get(PAGE).text
        assert _ids(client.get(PAGE, params={"min": "100"}).text) == [large["id"]]
        assert _ids(client.get(PAGE, params={"max": "10,00"}).text) == [small["id"]]
        assert _ids(client.get(PAGE, params={"q": "order-small"}).text) == [small["id"]]
        assert _ids(client.get(PAGE, params={"q": large["id"]}).text) == [large["id"]]
        assert _ids(client.get(PAGE, params={"status": "succeeded"}).text) == []
        assert _ids(client.get(PAGE, params={"acquirer": "bank131"}).text) == everything
        assert _ids(client.get(PAGE, params={"acquirer": "tbc"}).text) == []
        today = large["created_at"][:10]
        assert _ids(client.get(PAGE, params={"from": today, "to": today}).text) == everything
        assert _ids(client.get(PAGE, params={"to": "2020-01-01"}).text) == []
        # A filter that cannot be read is a clear error, not an empty list or a crash.
        for bad in ({"status": "paid"}, {"min": "ten"}, {"min": "1.001"}, {"from": "01/02"},
                    {"acquirer": "visa"}, {"before": "yesterday|x"}):
            resp = client.get(PAGE, params=bad)
            assert resp.status_code == 400 and 'role="alert"' in resp.text, bad


def test_pages_follow_by_key_and_keep_the_filters(server: LiveServer,
                                                  api: httpx.Client) -> None:
    made = [new_payment(api, server.url, reference=f"r{i}")["id"] for i in range(53)]
    with signed_in(server) as client:
        first = client.get(PAGE, params={"status": "pending"}).text
        assert _ids(first) == made[::-1][:50]
        link = re.search(r'<a rel="next" href="([^"]+)"', first)
        assert link and "status=pending" in link.group(1)
        second = client.get(link.group(1).replace("&amp;", "&")).text
        assert _ids(second) == made[::-1][50:]
        assert 'rel="next"' not in second


def test_a_waiting_row_asks_for_itself_again_until_it_is_final(server: LiveServer,
                                                               api: httpx.Client) -> None:
    payment = new_payment(api, server.url)
    with signed_in(server) as client:
        row = client.get(f"{PAGE}/{payment['id']}/row")
        assert row.status_code == 200 and 'hx-trigger="every 5s"' in row.text
        assert 'data-status="pending"' in row.text
        with httpx.Client(base_url=server.url, timeout=20) as buyer:
            start(buyer, payment["checkout_url"])
            decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
        wait_for_status(api, payment["id"], "succeeded")
        done = client.get(f"{PAGE}/{payment['id']}/row")
        assert 'data-status="succeeded"' in done.text and "hx-trigger" not in done.text


def test_a_payments_story_tells_every_step(server: LiveServer, api: httpx.Client) -> None:
    payment = new_payment(api, server.url)
    with httpx.Client(base_url=server.url, timeout=20) as buyer:
        start(buyer, payment["checkout_url"])
        decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
    wait_for_status(api, payment["id"], "succeeded")
    with signed_in(server) as client:
        story = client.get(f"{PAGE}/{payment['id']}").text
    attempt = query(server.settings.db_url, "SELECT id FROM attempts WHERE payment_id = :p",
                    p=payment["id"])[0][0]
    assert f'data-attempt="{attempt}"' in story
    assert "payment.succeeded" in story  # the event told to the merchant, with its delivery
    assert "succeeded" in story and "150.00" in story.replace("\u00a0", "").replace(",", ".")


def test_the_csv_export_has_every_matching_payment_and_defuses_formulas(
        server: LiveServer, api: httpx.Client) -> None:
    import csv
    import io

    made = [new_payment(api, server.url, reference=f"exp-{n}", amount=100_00 + n)
            for n in range(5)]
    new_payment(api, server.url, reference="=HYPERLINK(\"http://evil.example\")")
    with signed_in(server) as client:
        every = client.get("/console/m/mer_demo/export/payments.csv")
        assert every.status_code == 200
        assert every.headers["content-type"].startswith("text/csv")
        assert "attachment" in every.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(every.text)))
        assert len(rows) == 6
        assert rows[0]["reference"] == "'=HYPERLINK(\"http://evil.example\")"
        assert {r["id"] for r in rows[1:]} == {p["id"] for p in made}
        assert rows[1]["amount"] == "100.04" and rows[1]["currency"] == "RUB"
        some = client.get("/console/m/mer_demo/export/payments.csv?min=100.02&max=100.03")
        assert sorted(r["reference"] for r in csv.DictReader(io.StringIO(some.text))) == [
            "exp-2", "exp-3"]
        bad = client.get("/console/m/mer_demo/export/payments.csv?from=yesterday")
        assert bad.status_code == 400 and 'role="alert"' in bad.text
    audit = query(server.settings.db_url, "SELECT detail FROM audit_log WHERE action = "
                  "'payments.export'")
    assert len(audit) == 2 and "100.02" in audit[1][0]


def test_the_story_shows_every_delivery_try_and_its_answer(
        make_server: Callable[..., LiveServer]) -> None:
    from checkout.notify.signing import new_secret
    from tests.buyer import FAST_RETRIES, execute, pay, wait_for
    from tests.receiver import Receiver

    server = make_server(**FAST_RETRIES)
    secret = new_secret()
    with Receiver(secret, script=[500, 503]) as receiver:
        execute(server.settings.db_url,
                "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at) "
                "VALUES ('we_flaky', 'mer_demo', :url, :secret, CURRENT_TIMESTAMP)",
                url=receiver.url, secret=secret)
        paid = pay(server)
        wait_for(lambda: sum(1 for r in receiver.receipts if r.verified) >= 3,
                 what="two refusals, then a delivery")
        def tries() -> list[object] | None:
            codes = [c for (c,) in query(
                server.settings.db_url, "SELECT t.status_code FROM delivery_tries t JOIN "
                "deliveries d ON d.id = t.delivery_id WHERE d.endpoint_id = 'we_flaky' "
                "ORDER BY t.id")]
            return codes if len(codes) >= 3 else None
        assert wait_for(tries, what="three tries recorded")[:3] == [500, 503, 200]
        with signed_in(server) as client:
            story = client.get(f"{PAGE}/{paid['id']}").text
        shown = " ".join(re.findall(r"<li>[^<]* · (\d{3}) · \d+ ms</li>", story))
        assert "500 503 200" in shown, shown  # the demo shop's own endpoint answers 204
