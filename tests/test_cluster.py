"""Two checkout instances on one PostgreSQL behind a load balancer, sharing one sandbox.

Any instance takes any request for any payment; background work is claimed, so it is done
once; an instance killed with -9 mid-flow loses nothing; SIGTERM finishes what is in flight.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkout.notify.signing import new_secret
from tests.buyer import (
    decide,
    new_payment,
    open_page,
    query,
    start,
    state_of,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.cluster import Cluster, cluster
from tests.postgres import TempPostgres
from tests.receiver import Receiver

# A deployment under injected faults: alone, after the parallel part (see the Makefile).
pytestmark = pytest.mark.solo


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(new_secret()) as r:
        yield r


def hook_up(c: Cluster, receiver: Receiver) -> None:
    """The demo merchant's webhooks go to `receiver`, signed with the secret it was given."""
    receiver.secret = c.cli("merchant", "add-webhook", "mer_demo", receiver.url)["secret"]


def events_received(receiver: Receiver) -> Counter[str]:
    return Counter(r.headers["webhook-id"] for r in receiver.receipts if r.verified)


def assert_every_event_delivered_once(c: Cluster, receiver: Receiver) -> None:
    stored = {row[0] for row in query(c.database_url,
                                      "SELECT id FROM events WHERE merchant_id = 'mer_demo'")}
    wait_for(lambda: stored <= set(events_received(receiver)), timeout=60,
             what="every merchant event to be delivered")
    def settled() -> list[Any] | None:
        done = query(c.database_url, "SELECT d.status, count(*) FROM deliveries d JOIN "
                     "webhook_endpoints w ON w.id = d.endpoint_id WHERE w.url = :u "
                     "GROUP BY d.status", u=receiver.url)
        return done if dict(done) == {"succeeded": len(stored)} else None
    wait_for(settled, timeout=30, what="every delivery to be recorded as succeeded")
    # one event per status change of a payment: nothing told twice
    kinds = query(c.database_url, "SELECT payment_id, type, count(*) FROM events "
                                  "GROUP BY payment_id, type HAVING count(*) > 1")
    assert kinds == []


def test_any_instance_serves_any_payment_and_sees_the_others_changes(
        tmp_path: Path, postgres: TempPostgres, receiver: Receiver) -> None:
    with cluster(tmp_path, postgres, "cluster_any") as c:
        a, b = c.instances
        hook_up(c, receiver)
        payment = new_payment(c.api(a.url), c.url)
        start(c.buyer(b.url), payment["checkout_url"])  # created on a, started on b
        link = wait_for_link(c.buyer(a.url), payment["checkout_url"])
        assert wait_for_link(c.buyer(b.url), payment["checkout_url"]) == link

        page = open_page(c.buyer(a.url), payment["checkout_url"])
        poll_path = _poll_path(page)
        decide(httpx.Client(base_url=c.sandbox.url), link, approve=True)
        wait_for_status(c.api(a.url), payment["id"], "succeeded", timeout=30)
        seen_at = time.monotonic()
        # Both instances' buyers' polls now show it within one poll interval (0.5 s here).
        for proc in (a, b):
            def final(base: str = proc.url) -> bool:
                return httpx.get(base + poll_path, timeout=5).status_code == 286
            wait_for(final, timeout=5, what=f"{proc.name}'s poll to show the success")
        assert time.monotonic() - seen_at < 1.5
        assert state_of(open_page(c.buyer(b.url), payment["checkout_url"])) == "succeeded"
        assert_every_event_delivered_once(c, receiver)
        # JSON lines, each with its instance; the ids a line is about; no buyer token, no key
        token = payment["checkout_url"].rsplit("/", 1)[-1]
        for proc in (a, b):
            lines = [json.loads(line) for line in proc.log().splitlines()
                     if line.startswith("{")]
            assert len(lines) > 10 and {d["instance"] for d in lines} == {proc.name}
            assert token not in proc.log()
            assert not [d for d in lines if "sk_test_demo" in json.dumps(d)]
        both = [json.loads(line) for line in (a.log() + b.log()).splitlines()
                if line.startswith("{")]
        assert any(d.get("payment_id") == payment["id"] and d.get("attempt_id") for d in both)
        assert any(d.get("path", "").startswith("/c/…/status") for d in both)


def test_an_instance_killed_mid_flow_loses_nothing(
        tmp_path: Path, postgres: TempPostgres, receiver: Receiver) -> None:
    with cluster(tmp_path, postgres, "cluster_kill") as c:
        a, _ = c.instances
        hook_up(c, receiver)
        api, buyer = c.api(), c.buyer()
        payments = [new_payment(api, c.url, amount=1000 + n) for n in range(6)]
        links = []
        for p in payments:
            start(buyer, p["checkout_url"])
            links.append(wait_for_link(buyer, p["checkout_url"]))
        acquirer = httpx.Client(base_url=c.sandbox.url)
        for link in links[:3]:
            decide(acquirer, link, approve=True)
        a.kill()  # its webhooks in flight, its claims, its in-process state: gone
        for link in links[3:]:
            decide(acquirer, link, approve=True)
        for p in payments:
            wait_for_status(api, p["id"], "succeeded", timeout=60)
            assert state_of(open_page(buyer, p["checkout_url"])) == "succeeded"
        assert_every_event_delivered_once(c, receiver)
        charged = _sandbox_charges(c)
        assert sorted(charged.values()) == [1] * 6, charged


def test_sigterm_finishes_the_request_in_flight_and_hands_work_over(
        tmp_path: Path, postgres: TempPostgres, receiver: Receiver) -> None:
    with cluster(tmp_path, postgres, "cluster_term") as c:
        a, b = c.instances
        hook_up(c, receiver)
        payment = new_payment(c.api(a.url), c.url, capture=False)
        start(c.buyer(a.url), payment["checkout_url"])
        decide(httpx.Client(base_url=c.sandbox.url),
               wait_for_link(c.buyer(a.url), payment["checkout_url"]), approve=True)
        wait_for_status(c.api(a.url), payment["id"], "waiting_for_capture", timeout=30)
        # The acquirer answers the capture 2 s late; a is told to stop 1 s into it.
        httpx.post(f"{c.sandbox.url}/sandbox/faults", json={
            "kind": "timeout", "acquirer": "bank131", "operation": "session/capture",
            "seconds": 2, "times": 1}).raise_for_status()
        answer: dict[str, Any] = {}

        def capture() -> None:
            resp = c.api(a.url).post(f"/api/v1/payments/{payment['id']}/capture", json={})
            answer.update(status=resp.status_code, body=resp.json())
        worker = threading.Thread(target=capture)
        worker.start()
        time.sleep(1.0)
        # uvicorn re-raises the SIGTERM once it has shut down cleanly: exit status 143
        assert a.terminate() in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in a.log()
        worker.join(10)
        assert answer["status"] == 200, answer
        assert answer["body"]["status"] in ("succeeded", "waiting_for_capture")
        wait_for_status(c.api(b.url), payment["id"], "succeeded", timeout=30)
        c.balancer.backends = [b.port]
        assert_every_event_delivered_once(c, receiver)


def _poll_path(page: str) -> str:
    import re

    found = re.search(r'hx-get="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1).replace("&amp;", "&")


def _sandbox_charges(c: Cluster) -> dict[str, int]:
    """Per payment: how many sessions the emulated bank charged, from its own storage."""
    import sqlite3

    db = Path(c.sandbox.env["CHECKOUT_DATA_DIR"]) / "sandbox" / "bank131.db"
    with sqlite3.connect(db) as con:
        docs = [json.loads(r[0]) for r in con.execute("SELECT doc FROM sessions")]
    out: Counter[str] = Counter()
    for doc in docs:
        out[(doc.get("metadata") or {}).get("payment_id", "?")] += doc["status"] == "accepted"
    return dict(out)


def test_a_change_made_elsewhere_reaches_a_polls_cached_answer_through_the_feed(
        tmp_path: Path, postgres: TempPostgres) -> None:
    """With a 10 s poll interval an instance would trust its cached "unchanged" for 10 s;
    the version feed (every second) brings another instance's change sooner."""
    with cluster(tmp_path, postgres, "cluster_feed",
                 env={"CHECKOUT_POLL_INTERVAL_SECONDS": "10",
                      "CHECKOUT_ACQUIRER_POLL_SECONDS": "60"}) as c:
        a, b = c.instances
        # Only a hears the acquirer, and b's reconciler does not ask it in time: b can learn
        # the news only from the database.
        c.balancer.backends = [a.port]
        payment = new_payment(c.api(a.url), c.url)
        start(c.buyer(a.url), payment["checkout_url"])
        link = wait_for_link(c.buyer(a.url), payment["checkout_url"])
        poll_path = _poll_path(open_page(c.buyer(a.url), payment["checkout_url"]))
        assert httpx.get(b.url + poll_path).status_code == 204  # b now holds it in its map
        decide(httpx.Client(base_url=c.sandbox.url), link, approve=True)
        wait_for_status(c.api(a.url), payment["id"], "succeeded", timeout=30)
        changed_at = time.monotonic()
        wait_for(lambda: httpx.get(b.url + poll_path).status_code == 286, timeout=10,
                 what="b's poll to show the success")
        assert time.monotonic() - changed_at < 3.0
