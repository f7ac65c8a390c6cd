"""A stateful property test (hypothesis) over the whole flow, through real HTTP.

Random sequences of: create (charge or hold), buyer approves or declines, acquirer webhooks
replayed late and duplicated, capture (sometimes more than held), cancel, refunds (sometimes
two at once, sometimes too much). After every step, from the database itself: no payment
captures more than its amount or refunds more than it captured, no state moves backwards,
and every state change a merchant must hear of was told exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.bank131 import send_webhook
from tests.buyer import decide, query, start, wait_for, wait_for_link
from tests.server import LiveServer

FINAL = {"succeeded", "failed", "canceled", "expired"}
EVENT_OF = {"succeeded": "payment.succeeded", "waiting_for_capture":
            "payment.waiting_for_capture", "canceled": "payment.canceled",
            "failed": "payment.failed", "expired": "payment.expired"}
ALLOWED = {"pending": {"pending", "waiting_for_capture"} | FINAL,
           "waiting_for_capture": {"waiting_for_capture", "succeeded", "canceled"},
           **{s: {s} for s in FINAL}}


def test_money_and_events_hold_under_random_operations(server: LiveServer) -> None:
    api = httpx.Client(base_url=server.url, timeout=30,
                       headers={"Authorization": "Bearer sk_test_demo"})
    buyer = httpx.Client(base_url=server.url, timeout=30)
    db = server.settings.db_url
    done: Counter[str] = Counter()

    class Checkout(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.payments: list[dict[str, Any]] = []  # those whose buyer saw a link
            self.seen: dict[str, str] = {}

        @initialize(hold=st.booleans(), amount=st.integers(100, 500_000))
        def first(self, hold: bool, amount: int) -> None:
            # Every run starts with money taken (or held), so refunds and captures have work.
            self.create(hold, amount)
            decide(buyer, self.payments[-1]["link"], approve=True)
            wait_for(lambda: self._status(self.payments[-1]["id"]) != "pending", timeout=20,
                     what="the first approval")

        @rule(hold=st.booleans(), amount=st.integers(100, 500_000))
        def create(self, hold: bool, amount: int) -> None:
            p = api.post("/api/v1/payments", json={
                "amount": amount, "currency": "RUB", "description": "property",
                "capture": not hold, "return_url": f"{server.url}/shop/return"}).json()
            start(buyer, p["checkout_url"])
            self.payments.append({**p, "link": wait_for_link(buyer, p["checkout_url"])})
            done["create"] += 1

        @precondition(lambda self: self.payments)
        @rule(data=st.data(), approve=st.booleans())
        def buyer_decides(self, data: st.DataObject, approve: bool) -> None:
            p = data.draw(st.sampled_from(self.payments))
            decide(buyer, p["link"], approve=approve)
            # Settled once the attempt is no longer waiting for the buyer (a second tap on a
            # link already used, or on a canceled payment, changes nothing).
            wait_for(lambda: not query(
                db, "SELECT 1 FROM attempts WHERE payment_id = :p AND status IN "
                    "('starting', 'processing', 'awaiting_buyer')", p=p["id"]),
                timeout=20, what="the buyer's decision to land")
            done["decide"] += 1

        @precondition(lambda self: len(self.payments) > 1)
        @rule(data=st.data())
        def replay_acquirer_news(self, data: st.DataObject) -> None:
            bodies = [r[0] for r in query(db, "SELECT body FROM acquirer_events")]
            if not bodies:
                return
            # An index, not sampled_from(bodies): hypothesis must not see outside state.
            doc = json.loads(bodies[data.draw(st.integers(0, 10**6)) % len(bodies)])
            resp = send_webhook(server, doc["type"], doc["session"])
            assert resp.status_code == 200, resp.text
            assert resp.json()["outcome"] in ("duplicate", "stale", "unchanged")
            done["replay"] += 1

        @precondition(lambda self: self.payments)
        @rule(data=st.data(), percent=st.integers(1, 120))
        def capture(self, data: st.DataObject, percent: int) -> None:
            p = data.draw(st.sampled_from(self.payments))
            part = max(1, p["amount"] * percent // 100)  # above 100 %: more than held
            resp = api.post(f"/api/v1/payments/{p['id']}/capture", json={"amount": part})
            assert resp.status_code in (200, 409, 422), resp.text
            done["capture" if resp.status_code == 200 else "refused"] += 1

        @precondition(lambda self: self.payments)
        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            p = data.draw(st.sampled_from(self.payments))
            assert api.post(f"/api/v1/payments/{p['id']}/cancel").status_code in (200, 409)

        @precondition(lambda self: self.payments)
        @rule(data=st.data(), percents=st.lists(st.integers(1, 80), min_size=1, max_size=3))
        def refunds_at_once(self, data: st.DataObject, percents: list[int]) -> None:
            p = data.draw(st.sampled_from(self.payments))
            parts = [max(1, p["amount"] * pc // 100) for pc in percents]  # may sum over 100 %

            def refund(amount: int) -> int:
                return httpx.post(f"{server.url}/api/v1/payments/{p['id']}/refunds",
                                  json={"amount": amount}, headers=dict(api.headers),
                                  timeout=30).status_code
            with ThreadPoolExecutor(len(parts)) as pool:
                codes = list(pool.map(refund, parts))
            assert set(codes) <= {201, 409, 422}, codes
            done["refund"] += codes.count(201)

        def _status(self, payment_id: str) -> str:
            return str(query(db, "SELECT status FROM payments WHERE id = :p",
                             p=payment_id)[0][0])

        @invariant()
        def money_adds_up(self) -> None:
            # One statement, so the payment and its refunds are read at one moment.
            for pid, amount, captured, refunded, succeeded, reserved in query(db, """
                    SELECT p.id, p.amount, p.captured_amount, p.refunded_amount,
                           COALESCE(SUM(CASE WHEN r.status = 'succeeded' THEN r.amount END), 0),
                           COALESCE(SUM(CASE WHEN r.status <> 'failed' THEN r.amount END), 0)
                    FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id
                    GROUP BY p.id, p.amount, p.captured_amount, p.refunded_amount"""):
                assert 0 <= refunded <= captured <= amount, pid
                assert succeeded == refunded, pid
                assert reserved <= captured, pid

        @invariant()
        def states_only_move_forward_and_are_told_once(self) -> None:
            for pid, status in query(db, "SELECT id, status FROM payments"):
                before = self.seen.get(pid, "pending")
                assert status in ALLOWED[before], f"{pid}: {before} -> {status}"
                self.seen[pid] = status
                told = [t for (t,) in query(db, "SELECT type FROM events WHERE payment_id = :p "
                                                "AND type LIKE 'payment.%'", p=pid)]
                assert len(told) == len(set(told)), f"{pid} told twice: {told}"
                if status in EVENT_OF:
                    assert EVENT_OF[status] in told, f"{pid} is {status} but untold: {told}"

    run_state_machine_as_test(Checkout, settings=settings(
        max_examples=8, stateful_step_count=12, deadline=None,
        suppress_health_check=list(HealthCheck)))
    print(dict(done))
    # The run must have done real work, not only checked an empty database.
    assert done["create"] and done["decide"] and done["capture"] + done["refund"], done
