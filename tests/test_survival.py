"""Faults on a running deployment — two instances on PostgreSQL behind a balancer, a shared
sandbox — while buyers pay and merchants capture, cancel and refund:

- kill -9 of either instance at random moments (and restarts),
- PostgreSQL crashed (immediate stop, no checkpoint) and brought back,
- the acquirer down (its process killed) and then slow (answers after our timeout),
- the merchant's webhook endpoint down for three hours,
- TBC, which keeps no keys, refusing refunds with a 5xx, and losing the answers of refunds and
  of saved-card charges that it carried out (its stories: two refunds of one payment, the
  second waiting for the first; a merchant's charge of a card saved by a buyer).

Hours cannot pass in a test: the instances run the production webhook retry schedule (first
wait 5 s, doubling to 6 h, for 3 days) 1,000 times faster, so "three hours down" is 10.8 s and
the retries fall where they would in production. Afterwards every payment must be in its true
final state, the bank must hold exactly one charge and the asked refund for each, and every
merchant event must have been delivered. The test prints what it injected and what survived.
"""

from __future__ import annotations

import functools
import json
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from checkout.notify.signing import new_secret
from tests.buyer import form_token, has_start_form, path_of, pay_link, query, wait_for
from tests.cluster import Cluster
from tests.postgres import TempPostgres
from tests.receiver import Receiver

# A deployment under injected faults: alone, after the parallel part (see the Makefile).
pytestmark = pytest.mark.solo

SCALE = 1000  # the webhook retry clock runs this much faster than production's
SCHEDULE = {"CHECKOUT_WEBHOOK_RETRY_BASE_SECONDS": str(5 / SCALE),
            "CHECKOUT_WEBHOOK_RETRY_MAX_SECONDS": str(6 * 3600 / SCALE),
            "CHECKOUT_WEBHOOK_RETRY_WINDOW_SECONDS": str(3 * 24 * 3600 / SCALE)}
KINDS = ("refund", "hold", "cancel", "tbc-refund", "tbc-charge")
PER_KIND = 4
DEADLINE = 240.0


def retrying(what: str, call: Callable[[], httpx.Response], ok: tuple[int, ...],
             until: float) -> httpx.Response:
    """What a sensible client does while parts are down: the same request (the same
    Idempotency-Key) again, until it is answered."""
    last = ""
    while time.monotonic() < until:
        try:
            resp = call()
            if resp.status_code in ok:
                return resp
            last = f"HTTP {resp.status_code} {resp.text[:400]}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.3)
    raise AssertionError(f"{what}: never answered ({last})")


class Shop:
    """A merchant and its buyers, each payment one of three stories."""

    def __init__(self, c: Cluster) -> None:
        self.c = c
        self.api = httpx.Client(base_url=c.url, timeout=10,
                                headers={"Authorization": "Bearer sk_test_demo"},
                                limits=httpx.Limits(max_keepalive_connections=0))
        self.tbc = httpx.Client(base_url=c.url, timeout=10,
                                headers={"Authorization": "Bearer sk_test_demo_tbc"},
                                limits=httpx.Limits(max_keepalive_connections=0))
        self.buyer = httpx.Client(base_url=c.url, timeout=10,
                                  limits=httpx.Limits(max_keepalive_connections=0))
        self.bank = httpx.Client(base_url=c.sandbox.url, timeout=10)
        self.lock = threading.Lock()
        self.done: dict[str, str] = {}  # payment id -> story
        self.took: dict[str, float] = {}  # payment id -> seconds its story took

    def story(self, kind: str, n: int) -> None:
        if kind.startswith("tbc-"):
            self.tbc_story(kind, n)
            return
        began = time.monotonic()
        until = began + DEADLINE
        key = f"{kind}-{n}"
        payment = retrying("create", lambda: self.api.post("/api/v1/payments", json={
            "amount": 10_000 + n, "currency": "RUB", "description": f"Survival {key}",
            "capture": kind != "hold", "return_url": f"{self.c.url}/shop/return"},
            headers={"Idempotency-Key": key}), (201,), until).json()
        pid, page = payment["id"], path_of(payment["checkout_url"])
        with self.lock:
            self.done[pid] = kind
        link = self.approvable(page, until)
        if kind == "cancel":
            retrying("cancel", lambda: self.api.post(f"/api/v1/payments/{pid}/cancel",
                                                     headers={"Idempotency-Key": key + "-c"}),
                     (200,), until)
            self.took[pid] = time.monotonic() - began
            return
        retrying("approve", lambda: self.bank.post(httpx.URL(link).path + "/approve"),
                 (303,), until)
        want = "waiting_for_capture" if kind == "hold" else "succeeded"
        wait_for(lambda: _status(self.api, pid) == want, timeout=DEADLINE, what=want)
        if kind == "hold":
            retrying("capture", lambda: self.api.post(
                f"/api/v1/payments/{pid}/capture", json={"amount": 10_000 + n - 500},
                headers={"Idempotency-Key": key + "-cap"}), (200,), until)
        else:
            retrying("refund", lambda: self.api.post(
                f"/api/v1/payments/{pid}/refunds", json={"amount": 4_000},
                headers={"Idempotency-Key": key + "-r"}), (201,), until)
        self.took[pid] = time.monotonic() - began

    def tbc_story(self, kind: str, n: int) -> None:
        """At TBC: paid, then refunded twice (the second waits, 409, while the first is in
        flight); or paid saving the card, which the merchant then charges."""
        began = time.monotonic()
        until = began + DEADLINE
        key = f"{kind}-{n}"
        fields: dict[str, Any] = {
            "amount": 10_000 + n, "currency": "GEL", "description": f"Survival {key}",
            "return_url": f"{self.c.url}/shop/return"}
        if kind == "tbc-charge":
            fields.update(save_payment_method=True, customer={"reference": f"cust-{n}"})
        payment = retrying("create", lambda: self.tbc.post(
            "/api/v1/payments", json=fields, headers={"Idempotency-Key": key}), (201,),
            until).json()
        pid = payment["id"]
        with self.lock:
            self.done[pid] = "tbc-save" if kind == "tbc-charge" else kind
        link = self.approvable(path_of(payment["checkout_url"]), until)
        retrying("approve", lambda: self.bank.post(httpx.URL(link).path + "/approve"),
                 (303,), until)
        wait_for(lambda: _status(self.tbc, pid) == "succeeded", timeout=DEADLINE,
                 what="succeeded")
        if kind == "tbc-refund":
            # Part, then the rest in one go (TBC takes one partial cancel on the payment's
            # day): the second waits (409) while the first is in flight.
            for i, body in enumerate(({"amount": 4_000}, {})):
                retrying("refund", functools.partial(
                    self.tbc.post, f"/api/v1/payments/{pid}/refunds", json=body,
                    headers={"Idempotency-Key": f"{key}-r{i}"}), (201,), until)
        else:
            method = wait_for(lambda: _payment(self.tbc, pid).get("payment_method"),
                              timeout=DEADLINE, what="a saved card")
            charge = retrying("charge", lambda: self.tbc.post("/api/v1/payments", json={
                "amount": 5_000 + n, "currency": "GEL", "description": f"Monthly {key}",
                "payment_method_id": method["id"], "initiator": "merchant"},
                headers={"Idempotency-Key": key + "-ch"}), (201,), until).json()
            with self.lock:
                self.done[charge["id"]] = "tbc-charge"
        self.took[pid] = time.monotonic() - began

    def approvable(self, page: str, until: float) -> str:
        """The buyer starts paying (again, while parts are down) until the page shows the
        link to approve at."""
        def start() -> httpx.Response:
            html = self.buyer.get(page)
            if html.status_code != 200:
                return html
            if pay_link(html.text) or not has_start_form(html.text):
                # Started before and the answer was lost: the page shows the link, or is
                # between states (started, no link yet). Either way, wait for the link.
                return httpx.Response(200, text=html.text)
            return self.buyer.post(page + "/attempts", data={"ft": form_token(html.text)},
                                   headers={"HX-Request": "true"})
        retrying("start", start, (200,), until)
        return wait_for(lambda: _link(self.buyer, page), timeout=DEADLINE, what="a link")


def _link(buyer: httpx.Client, page: str) -> str | None:
    try:
        resp = buyer.get(page)
    except httpx.HTTPError:
        return None
    return pay_link(resp.text) if resp.status_code == 200 else None


def _payment(api: httpx.Client, pid: str) -> dict[str, Any]:
    """The payment as the API shows it now; empty while no instance answers (one may be
    killed mid-request: the story asks again)."""
    try:
        resp = api.get(f"/api/v1/payments/{pid}")
    except httpx.HTTPError:
        return {}
    return dict(resp.json()) if resp.status_code == 200 else {}


def _status(api: httpx.Client, pid: str) -> str:
    return str(_payment(api, pid).get("status", "?"))


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[Cluster, TempPostgres]]:
    # Its own PostgreSQL server: this test crashes it.
    pg = TempPostgres(crashable=True)
    pg.start()
    c = Cluster(tmp_path, pg.create_database("survival"), env=SCHEDULE)
    try:
        yield c.start(), pg
    finally:
        c.stop()
        pg.stop()


def test_every_payment_survives_crashes_outages_and_a_long_dead_webhook_endpoint(
        deployment: tuple[Cluster, TempPostgres]) -> None:
    c, pg = deployment
    a, b = c.instances
    seed = int(os.environ.get("SURVIVAL_SEED") or random.SystemRandom().randrange(10_000))
    # First, so that a failure anywhere below can be replayed: SURVIVAL_SEED=<seed>.
    print(f"\nsurvival: random seed {seed} (replay with SURVIVAL_SEED={seed})", flush=True)
    rng = random.Random(seed)  # noqa: S311 - when to strike, not secrets
    began = time.monotonic()
    injected: list[tuple[str, str]] = []
    with Receiver(new_secret()) as receiver:
        receiver.secret = c.cli("merchant", "add-webhook", "mer_demo", receiver.url)["secret"]
        shop = Shop(c)
        faults_over = threading.Event()
        with ThreadPoolExecutor(8) as pool:
            stories: list[Any] = []

            def buyers_keep_coming() -> None:
                # Payments begin all through the faults, so every fault strikes mid-flow.
                n = 0
                while not faults_over.is_set():
                    stories.append(pool.submit(shop.story, KINDS[n % len(KINDS)], n))
                    n += 1
                    time.sleep(0.8)
            arrivals = threading.Thread(target=buyers_keep_coming)
            arrivals.start()

            def strike(what: str, detail: str, act: Callable[[], object]) -> None:
                time.sleep(rng.uniform(0.5, 2.5))
                act()
                injected.append((what, detail))

            def tbc_fault(kind: str, operation: str, times: int) -> Callable[[], object]:
                return lambda: httpx.post(f"{c.sandbox.url}/sandbox/faults", json={
                    "acquirer": "tbc", "kind": kind, "operation": operation,
                    "times": times}).raise_for_status()
            strike("TBC refunds refused", "the next 3 answered 5xx, nothing done",
                   tbc_fault("error", "POST payments/{id}/cancel", 3))
            strike("TBC refund answers lost", "the next 3 done, their answers lost",
                   tbc_fault("lost", "POST payments/{id}/cancel", 3))
            strike("TBC charge answers lost", "the next 2 done, their answers lost",
                   tbc_fault("lost", "POST payments/execution", 2))
            strike("kill -9", "instance a, mid-flow", a.kill)
            time.sleep(rng.uniform(0.5, 2))
            a.start()
            strike("PostgreSQL crash", "immediate stop, 3 s down", pg.crash)
            time.sleep(3)
            pg.up()
            strike("merchant endpoint down", "3 h (10.8 s at ×1000)",
                   lambda: setattr(receiver, "down", True))
            down_since, refused_from = time.monotonic(), len(receiver.receipts)
            # Before the sandbox (and its fault book) goes: how many of TBC's faults struck.
            left = httpx.get(f"{c.sandbox.url}/sandbox/faults").json()["faults"]
            tbc_struck = 8 - sum(f["times"] for f in left if f["acquirer"] == "tbc")
            strike("acquirer down", "sandbox process killed, 8 s", c.sandbox.kill)
            time.sleep(8)
            c.sandbox.start()
            strike("acquirer slow", "every answer 4 s late (timeout 3 s), 8 s", lambda: httpx.post(
                f"{c.sandbox.url}/sandbox/faults",
                json={"kind": "timeout", "seconds": 4, "times": 0}).raise_for_status())
            time.sleep(8)
            httpx.delete(f"{c.sandbox.url}/sandbox/faults").raise_for_status()
            strike("kill -9", "instance b, mid-flow", b.kill)
            time.sleep(rng.uniform(0.5, 2))
            b.start()
            time.sleep(max(0.0, 3 * 3600 / SCALE - (time.monotonic() - down_since)))
            receiver.down = False
            refused = len(receiver.receipts) - refused_from
            strike("kill -9", "instance a again", a.kill)
            a.start()
            faults_over.set()
            faults_done = time.monotonic()
            arrivals.join()
            for story in stories:
                story.result(timeout=DEADLINE)
            stories_done = time.monotonic()

        final = _settle(c, shop, receiver)
        final["TBC refunds and charges struck (of 8)"] = tbc_struck
        final["deliveries refused while the endpoint was down"] = refused
        # Where the time went, for whoever reads a slow run: faults, the stories' tails, and
        # how long the deployment took to settle once the last buyer was done.
        final["seconds: faults / last story / settled"] = (
            f"{faults_done - began:.0f} / {stories_done - faults_done:.0f} / "
            f"{time.monotonic() - stories_done:.0f}")
        slowest = max(shop.took.items(), key=lambda item: item[1])
        final["slowest story (kind, seconds)"] = f"{shop.done[slowest[0]]} {slowest[1]:.0f}"
    _print_table(seed, injected, final)
    assert final["payments in their true final state"] == len(shop.done) >= 30
    assert final["deliveries refused while the endpoint was down"] > 0  # it struck mid-flow
    assert final["TBC refunds and charges struck (of 8)"] > 0
    for what in ("charged twice", "refunded twice or wrongly", "events missing at the merchant",
                 "events told twice", "deliveries given up"):
        assert final[what] == 0, (what, final)


ALL = -1  # refunded: all that was captured
WANT = {"refund": ("succeeded", 4_000), "hold": ("succeeded", 0), "cancel": ("canceled", 0),
        "tbc-refund": ("succeeded", ALL), "tbc-save": ("succeeded", 0),
        "tbc-charge": ("succeeded", 0)}


def _settle(c: Cluster, shop: Shop, receiver: Receiver) -> dict[str, Any]:
    unknown: set[str] = set()
    off: list[str] = []  # the payments not yet where they should be, as last seen

    def true_state() -> dict[str, tuple[str, int, int]] | None:
        rows = {r[0]: (r[1], r[2], r[3]) for r in query(
            c.database_url, "SELECT id, status, captured_amount, refunded_amount FROM payments")}
        bank = _bank(c)
        unknown.clear()
        off.clear()
        for pid, kind in shop.done.items():
            status, captured, refunded = rows[pid]
            if kind == "tbc-charge" and status == "pending" and pid not in bank:
                # A charge whose every call failed before TBC could take it may still wait
                # for a person (TBC cannot say it never got one): pending, and no money.
                unknown.add(pid)
                continue
            if (status, refunded) != _wanted(kind, captured):
                off.append(f"{pid} ({kind}): {status}, refunded {refunded}, at the bank "
                           f"{bank.get(pid)}")
        return None if off else rows
    try:
        rows = wait_for(true_state, timeout=120, what="every payment's true final state")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {'; '.join(off)}") from None
    # The merchant with the endpoint under test: the Bank 131 demo shop's events.
    events = {r[0]: r[1] for r in query(c.database_url, "SELECT id, payment_id FROM events "
                                        "WHERE merchant_id = 'mer_demo'")}

    def delivered() -> bool:
        got = {r.headers["webhook-id"] for r in receiver.receipts if r.verified}
        return set(events) <= got
    wait_for(delivered, timeout=60, what="every event at the merchant")
    bank = _bank(c)
    charged_twice = sum(1 for pid in shop.done if bank.get(pid, {}).get("charges", 0) > 1)
    wrong_money = 0
    for pid, kind in shop.done.items():
        if pid in unknown:
            continue
        captured = rows[pid][1]
        expect_captured = 0 if kind == "cancel" else captured
        at_bank = bank.get(pid, {"charges": 0, "captured": 0, "refunded": 0})
        if kind != "cancel" and (at_bank["charges"] != 1 or at_bank["captured"] != captured):
            wrong_money += 1
        if at_bank["refunded"] != _wanted(kind, captured)[1] or \
                expect_captured != at_bank["captured"]:
            wrong_money += 1
    kinds = Counter((r[0], r[1]) for r in query(
        c.database_url, "SELECT payment_id, type FROM events WHERE type LIKE 'payment.%'"))
    given_up = query(c.database_url, "SELECT count(*) FROM deliveries WHERE status = 'failed'")
    got = {r.headers["webhook-id"] for r in receiver.receipts if r.verified}
    stories = Counter(shop.done.values())
    return {
        "payments (pay+refund / hold+capture / cancel)":
            f"{stories['refund']} / {stories['hold']} / {stories['cancel']}",
        "TBC (pay+refund twice / pay+save / charge)":
            f"{stories['tbc-refund']} / {stories['tbc-save']} / {stories['tbc-charge']}",
        "payments in their true final state": len(shop.done),
        "TBC charges waiting for a person (none taken)": len(unknown),
        "charged twice": charged_twice,
        "refunded twice or wrongly": wrong_money,
        "events": len(events),
        "events missing at the merchant": len(set(events) - got),
        "events told twice": sum(1 for v in kinds.values() if v > 1),
        "deliveries given up": int(given_up[0][0]),
    }


def _wanted(kind: str, captured: int) -> tuple[str, int]:
    status, refunded = WANT[kind]
    return status, captured if refunded == ALL else refunded


def _bank(c: Cluster) -> dict[str, dict[str, int]]:
    """Per payment, what the emulated banks themselves hold: charges, captured, refunded."""
    path = Path(c.sandbox.env["CHECKOUT_DATA_DIR"]) / "sandbox" / "bank131.db"
    with sqlite3.connect(path) as con:
        docs = [json.loads(r[0]) for r in con.execute("SELECT doc FROM sessions")]
    out: dict[str, dict[str, int]] = {}
    # TBC echoes no metadata: its payments name our attempt (`merchantPaymentId`, as sent).
    payment_of = dict(query(c.database_url, "SELECT id, payment_id FROM attempts"))
    with sqlite3.connect(path.with_name("tbc.db")) as con:
        for (raw,) in con.execute("SELECT doc FROM docs WHERE kind = 'payment'"):
            doc = json.loads(raw)
            if doc["status"] not in ("Succeeded", "PartialReturned", "Returned",
                                     "CancelPaymentProcessing"):
                continue
            mine = out.setdefault(payment_of.get(doc["merchantPaymentId"], "?"),
                                  {"charges": 0, "captured": 0, "refunded": 0})
            mine["charges"] += 1
            mine["captured"] += round(float(doc["confirmedAmount"] or doc["amount"]) * 100)
            mine["refunded"] += round(float(doc["returnedAmount"]) * 100)
    for doc in docs:
        pid = (doc.get("metadata") or {}).get("payment_id", "?")
        mine = out.setdefault(pid, {"charges": 0, "captured": 0, "refunded": 0})
        if doc["status"] == "accepted":
            pay = doc["acquiring_payments"][0]
            mine["charges"] += 1
            mine["captured"] += pay["captured"]  # the emulated bank's own note of it
            mine["refunded"] += sum(r["amount_details"]["amount"]
                                    for r in pay.get("refunds", []) if r["status"] == "accepted")
    return out


def _print_table(seed: int, injected: list[tuple[str, str]], final: dict[str, Any]) -> None:
    print(f"\nfaults injected (random seed {seed}):")
    print(f"  {'fault':<26}{'detail'}")
    for what, detail in injected:
        print(f"  {what:<26}{detail}")
    print("afterwards:")
    for what, count in final.items():
        print(f"  {what:<48}{count:>10}")
