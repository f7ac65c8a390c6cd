"""A load run: thousands of simulated buyers through the whole sandbox flow, then a count of
what happened to the money. Loopback only, bounded in time.

Run: `make load` (or `.venv/bin/python bench/load.py [--cluster]`). Each buyer, as a real one:
the shop creates the payment through the merchant API; the buyer opens the hosted page (a
desktop or a phone, half each), presses start, polls as the page does (every 2 s, following
204 / fragment / 286) until the T-Pay link shows, thinks 1–4 s, approves in the emulated
T-Bank app, polls until the page says it is paid; the shop reads the payment back. Arrivals
are spread evenly over `--ramp` seconds.

Afterwards it checks, from the checkout's database and the emulated bank's own storage, that
every payment succeeded exactly once (one charge, one `payment.succeeded` event, delivered),
and prints what it measured. It exits non-zero on any error, lost or doubled payment.

`--cluster` runs the production shape instead of one process on SQLite: two instances on
PostgreSQL behind a round-robin balancer, sharing one sandbox host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Checkout, client_transport, database, percentiles  # noqa: E402
from tests.buyer import query, wait_for  # noqa: E402
from tests.cluster import Cluster  # noqa: E402
from tests.postgres import TempPostgres  # noqa: E402

DESKTOP = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0 Safari/537.36")
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
POLL_SECONDS = 2.0


class Run:
    """Buyers as real ones; `think` is how long one reads before approving (seconds, drawn
    from the range), `assets` makes each a first-time visitor who fetches the page's static
    files, `poll_seconds` is the page's polling interval, `tag` keeps the Idempotency-Keys of
    runs against the same instance apart."""

    def __init__(self, base: str, sandbox: str, *, think: tuple[float, float] = (1, 4),
                 assets: bool = False, poll_seconds: float = POLL_SECONDS,
                 tag: str = "load") -> None:
        self.base, self.sandbox, self.tag = base, sandbox, tag
        self.think, self.assets, self.poll_seconds = think, assets, poll_seconds
        self.refused = 0  # creates answered 503 (come back after Retry-After)
        self.completed = 0
        self.errors: Counter[str] = Counter()
        self.to_link: list[float] = []
        self.to_final: list[float] = []
        self.requests = 0
        self.retried = 0
        self.payments: list[str] = []
        # Wall-clock times by payment, to set beside the instance's own records (`hops`).
        self.approved_at: dict[str, float] = {}
        self.seen_paid_at: dict[str, float] = {}

    async def buyer(self, http: httpx.AsyncClient, n: int) -> None:
        try:
            await self._buy(http, n)
        except Exception as exc:  # every failure is counted, by kind
            self.errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1

    async def _get(self, http: httpx.AsyncClient, url: str, **kw: object) -> httpx.Response:
        self.requests += 1
        try:
            return await http.get(url, **kw)  # type: ignore[arg-type]
        except httpx.RemoteProtocolError:
            # A kept-alive connection the server closed as we reused it: a browser sends an
            # idempotent GET again on a new connection, and so do we, once (counted).
            self.retried += 1
            return await http.get(url, **kw)  # type: ignore[arg-type]

    async def _post(self, http: httpx.AsyncClient, url: str, **kw: object) -> httpx.Response:
        self.requests += 1
        return await http.post(url, **kw)  # type: ignore[arg-type]

    async def _buy(self, http: httpx.AsyncClient, n: int) -> None:
        ua = {"User-Agent": PHONE if n % 2 else DESKTOP}
        resp = await self._post(http, f"{self.base}/api/v1/payments", json={
            "amount": 10_000 + n, "currency": "RUB", "description": f"Load order {n}",
            "return_url": f"{self.base}/shop/return"},
            headers={"Authorization": "Bearer sk_test_demo", "Idempotency-Key": f"{self.tag}-{n}"})
        if resp.status_code == 503 and "retry-after" in resp.headers:
            self.refused += 1
            return
        _expect(resp, 201, "create")
        payment = resp.json()
        self.payments.append(payment["id"])
        page_url = payment["checkout_url"]
        page = await self._get(http, page_url, headers=ua)
        _expect(page, 200, "page")
        if self.assets:
            for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
                _expect(await self._get(http, self.base + unescape(asset), headers=ua), 200,
                        "asset")
        token = re.search(r'name="ft" value="([0-9a-f]+)"', page.text)
        assert token, "no start form"
        started = time.perf_counter()
        resp = await self._post(http, page_url + "/attempts", data={"ft": token.group(1)},
                                headers={**ua, "HX-Request": "true",
                                         "Sec-Fetch-Site": "same-origin"})
        _expect(resp, 200, "start")
        html = resp.text
        link = _link(html)
        while link is None:
            html, final = await self._poll(http, html, ua)
            assert not final, f"ended before a link: {_state(html)}"
            link = _link(html)
        self.to_link.append(time.perf_counter() - started)
        await asyncio.sleep(random.uniform(*self.think))  # noqa: S311 - reads, unlocks
        approved = time.perf_counter()
        self.approved_at[payment["id"]] = time.time()
        resp = await self._post(http, f"{self.sandbox}{httpx.URL(link).path}/approve")
        _expect(resp, 303, "approve")
        final = False
        while not final:
            html, final = await self._poll(http, html, ua)
        self.to_final.append(time.perf_counter() - approved)
        self.seen_paid_at[payment["id"]] = time.time()
        assert _state(html) == "succeeded", _state(html)
        resp = await self._get(http, f"{self.base}/api/v1/payments/{payment['id']}",
                               headers={"Authorization": "Bearer sk_test_demo"})
        _expect(resp, 200, "read")
        assert resp.json()["status"] == "succeeded", resp.json()["status"]
        self.completed += 1

    async def _poll(self, http: httpx.AsyncClient, html: str, ua: dict[str, str]
                    ) -> tuple[str, bool]:
        """One tick of the page's polling: wait, ask; returns the fragment now shown."""
        found = re.search(r'hx-get="([^"]+)"', html)
        assert found, "no polling in the fragment"
        await asyncio.sleep(self.poll_seconds)
        resp = await self._get(http, self.base + unescape(found.group(1)),
                               headers={**ua, "HX-Request": "true"})
        if resp.status_code == 204:
            return html, False
        if resp.status_code not in (200, 286):
            _expect(resp, 200, "poll")
        return resp.text, resp.status_code == 286


def hops(run: Run, database_url: str) -> dict[str, tuple[float, float, float]]:
    """Where approval → "paid" went, hop by hop, by the instance's own records: the bank's
    webhook arrives (its sender's delay and our accepting it), then the payment is recorded
    paid (capture and the bank's answer), then the page's next poll shows it.
    Each hop: p50, p95, max in seconds, over the payments the page saw paid."""
    paid = {p: t for p, t in run.seen_paid_at.items() if p in run.approved_at}
    first_notice: dict[str, float] = {}
    for payment_id, received in query(
            database_url, "SELECT a.payment_id, e.received_at FROM acquirer_events e "
            "JOIN attempts a ON a.acquirer = e.acquirer AND a.acquirer_ref = e.acquirer_ref"):
        at = _epoch(received)
        if payment_id in paid and at >= run.approved_at[payment_id] - 0.5:
            first_notice[payment_id] = min(first_notice.get(payment_id, at), at)
    recorded = {p: _epoch(t) for p, t in query(
        database_url, "SELECT payment_id, created_at FROM events "
                      "WHERE type = 'payment.succeeded'") if p in paid}
    both = [p for p in paid if p in first_notice and p in recorded]
    if not both:
        return {}
    return {
        "approval → bank's first webhook in": percentiles(
            [first_notice[p] - run.approved_at[p] for p in both]),
        "→ recorded paid": percentiles([recorded[p] - first_notice[p] for p in both]),
        "→ the page shows it": percentiles([paid[p] - recorded[p] for p in both]),
    }


def _epoch(value: Any) -> float:
    """A stored time (SQLite: naive UTC text; PostgreSQL: aware) as seconds since the epoch."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def _expect(resp: httpx.Response, status: int, what: str) -> None:
    if resp.status_code != status:
        raise AssertionError(f"{what}: HTTP {resp.status_code}")


def _link(html: str) -> str | None:
    found = re.search(r'data-pay-url="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def _state(html: str) -> str:
    found = re.search(r'data-state="([a-z_]+)"', html)
    return found.group(1) if found else "?"


async def drive(run: Run, buyers: int, ramp: float) -> float:
    async with httpx.AsyncClient(timeout=30, transport=client_transport(2000)) as http:
        t0 = time.perf_counter()
        tasks = []
        for n in range(buyers):
            delay = t0 + n * ramp / buyers - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(run.buyer(http, n)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0


def audit(run: Run, database_url: str, bank_db: Path) -> dict[str, int]:
    """What really happened, from storage: the checkout's database and the bank's own."""
    mine = set(run.payments)
    status = Counter(r[1] for r in query(database_url, "SELECT id, status FROM payments")
                     if r[0] in mine)
    won = Counter(r[0] for r in query(database_url, "SELECT payment_id FROM attempts "
                                                    "WHERE status = 'succeeded'") if r[0] in mine)
    told = Counter(r[0] for r in query(database_url, "SELECT payment_id FROM events WHERE "
                                                     "type = 'payment.succeeded'") if r[0] in mine)

    def delivered() -> bool:
        left = query(database_url, "SELECT count(*) FROM deliveries WHERE status <> 'succeeded'")
        return left[0][0] == 0
    wait_for(delivered, timeout=120, what="every merchant event to be delivered")
    with sqlite3.connect(bank_db) as con:
        docs = [json.loads(r[0]) for r in con.execute("SELECT doc FROM sessions")]
    charged = Counter((d.get("metadata") or {}).get("payment_id") for d in docs
                      if d["status"] == "accepted")
    return {
        "payments succeeded": status["succeeded"],
        "payments not succeeded (lost)": len(mine) - status["succeeded"],
        "payments with 2+ successful attempts": sum(1 for v in won.values() if v > 1),
        "payments charged 0 times at the bank": sum(1 for p in mine if charged[p] == 0),
        "payments charged 2+ times at the bank": sum(1 for p in mine if charged[p] > 1),
        "payment.succeeded events told twice": sum(1 for v in told.values() if v > 1),
        "payment.succeeded events missing": sum(1 for p in mine if told[p] == 0),
    }


# Every simulated buyer comes from 127.0.0.1: the per-address limit on presses of Pay is for
# real buyers, each at an address of their own (the per-payment limit still holds).
ONE_ADDRESS = {"CHECKOUT_RATE_LIMIT_ATTEMPT_STARTS_CLIENT": "1000000/minute"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--ramp", type=float, default=150.0, help="seconds over which they come")
    parser.add_argument("--cluster", action="store_true",
                        help="two instances on PostgreSQL behind a balancer")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.cluster:
            pg = TempPostgres()
            pg.start()
            stack.callback(pg.stop)
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            cluster = Cluster(folder, pg.create_database("load"),
                              env={"CHECKOUT_LOG_FORMAT": "json", **ONE_ADDRESS})
            stack.callback(cluster.stop)
            cluster.start()
            base, sandbox, url = cluster.url, cluster.sandbox.url, cluster.database_url
            bank_db = folder / "sandbox" / "sandbox" / "bank131.db"
            shape = "2 instances, PostgreSQL, balancer"
        else:
            url = stack.enter_context(database("sqlite"))
            c = stack.enter_context(Checkout(url, **ONE_ADDRESS))
            base, sandbox, bank_db = c.url, c.url, c.data / "sandbox" / "bank131.db"
            shape = "1 instance, SQLite"
        run = Run(base, sandbox)
        print(f"{args.buyers} buyers over {args.ramp:.0f} s against {shape}…", flush=True)
        took = asyncio.run(drive(run, args.buyers, args.ramp))
        checks = audit(run, url, bank_db)
        steps = hops(run, url)  # while the database is still there: the stack tears it down
    link = percentiles(run.to_link) if run.to_link else (0, 0, 0)
    final = percentiles(run.to_final) if run.to_final else (0, 0, 0)
    print(f"finished in {took:.0f} s: {run.requests} requests ({run.requests / took:.0f}/s), "
          f"{sum(run.errors.values())} errors, {run.retried} GETs retried once on a kept-alive "
          f"connection the server had closed")
    print(f"start → link on the page:      p50 {link[0]:.2f} s  p95 {link[1]:.2f} s  "
          f"max {link[2]:.2f} s")
    print(f"approval → page says paid:     p50 {final[0]:.2f} s  p95 {final[1]:.2f} s  "
          f"max {final[2]:.2f} s  (the page polls every {POLL_SECONDS:.0f} s)")
    for what, (p50, p95, top) in steps.items():
        print(f"  {what + ':':<30} p50 {p50:.2f} s  p95 {p95:.2f} s  max {top:.2f} s")
    for what, count in run.errors.most_common(10):
        print(f"  error ×{count}: {what}")
    print(f"{'check':<44}{'count':>8}")
    for what, count in checks.items():
        print(f"{what:<44}{count:>8}")
    bad = sum(run.errors.values()) + sum(v for k, v in checks.items() if k != "payments succeeded")
    sys.exit(1 if bad or checks["payments succeeded"] != args.buyers else 0)


if __name__ == "__main__":
    main()
