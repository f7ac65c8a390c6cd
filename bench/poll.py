"""How cheap is the buyer's status poll? Throughput and latency against bare Starlette.

Run: `make bench` (or `.venv/bin/python bench/poll.py`). Loopback only, bounded in time.
For each database (SQLite, then a throwaway PostgreSQL) it starts the checkout in sandbox
mode with stored payments, 200 of them with a live attempt whose link the buyer looks at, and
loads with wrk (one thread, so the server — one uvicorn worker — has the other core):

- the status poll of those payments at their current version (the "nothing changed" answer
  every waiting buyer gets every 2 s), next to a bare Starlette "hello" served the same way:
  * flat out, 100 and 1,000 connections: the most each can serve, and the ratio;
  * 1,000 paced pollers, each polling every 2 s on average as a real page does: the latency
    a buyer sees;
- then the same after 99,000 more (finished) payments are stored: it must not move.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Checkout, bare_starlette, database, wrk  # noqa: E402
from bench.seed import seed_sync  # noqa: E402
from tests.buyer import form_token, path_of  # noqa: E402


def prepare(base: str, payments: int, live: int) -> list[str]:
    """Create payments; start attempts on `live` of them; return their poll paths."""
    paths = []
    api = httpx.Client(base_url=base, headers={"Authorization": "Bearer sk_test_demo"},
                       timeout=30)
    buyer = httpx.Client(base_url=base, timeout=30)
    for n in range(payments):
        p = api.post("/api/v1/payments", json={
            "amount": 10_000 + n, "currency": "RUB", "description": f"bench {n}",
            "return_url": f"{base}/shop/return"}).json()
        page = buyer.get(path_of(p["checkout_url"])).text
        if n < live:
            buyer.post(path_of(p["checkout_url"]) + "/attempts",
                       data={"ft": form_token(page)}, headers={"HX-Request": "true"})
        paths.append(path_of(p["checkout_url"]))
    time.sleep(1.0)  # let the sandbox's webhooks land, so versions are settled
    polls = []
    for path in paths:
        html = buyer.get(path).text
        polls.append(re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&"))  # type: ignore[union-attr]
    for poll in polls[:20]:
        assert buyer.get(poll).status_code == 204, "poll path is not the unchanged answer"
    return polls


def row(name: str, label: str, r: dict[str, float]) -> None:
    print(f"{name:<34}{label:>16}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
          f"{r['non2xx'] + r['errors']:>8.0f}", flush=True)


def measure(db: str, stored: str, base: str, hello: str, paths: Path, seconds: int) -> None:
    wrk(hello, 100, 2)  # warm-up: neither server is measured cold
    wrk(base + "/", 100, 2, paths)
    for conns in (100, 1000):
        bare = wrk(hello, conns, seconds)
        poll = wrk(base + "/", conns, seconds, paths)
        row("bare Starlette hello", f"{conns} flat out", bare)
        row(f"poll, {db}, {stored} stored", f"{conns} flat out", poll)
        print(f"{'  ratio poll / bare':<34}{conns:>16}{poll['rps'] / bare['rps']:>9.0%}")
    bare = wrk(hello, 1000, 2 * seconds, paced=True)
    poll = wrk(base + "/", 1000, 2 * seconds, paths, paced=True)
    row("bare Starlette hello", "1000 every 2 s", bare)
    row(f"poll, {db}, {stored} stored", "1000 every 2 s", poll)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--live", type=int, default=200)
    parser.add_argument("--more", type=int, default=99_000,
                        help="finished payments added before the second round (0: none)")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk (make bench does it)")
    tmp = Path(tempfile.mkdtemp(prefix="checkout-bench-poll-"))
    print(f"{'endpoint':<34}{'connections':>16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}")
    try:
        with bare_starlette() as hello:
            for db in args.databases:
                with database(db) as url, Checkout(url) as checkout:
                    polls = prepare(checkout.url, args.payments, args.live)
                    paths = tmp / f"{db}.txt"
                    paths.write_text("\n".join(polls) + "\n")
                    measure(db, f"{args.payments // 1000}k", checkout.url, hello, paths,
                            args.seconds)
                    if args.more:
                        seed_sync(url, args.more)
                        total = (args.payments + args.more) // 1000
                        measure(db, f"{total}k", checkout.url, hello, paths, args.seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
