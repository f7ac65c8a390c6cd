"""How fast the merchant console answers with 100,000 stored payments.

Run: `.venv/bin/python bench/console.py` (part of `make bench`). For each database (SQLite,
a throwaway PostgreSQL): 100,000 payments seeded straight into the tables, then the demo
owner signs in and each page is asked for in turn, one request at a time (a person clicking),
`--rounds` times: p50, p95 and the slowest, in milliseconds, as the client sees them
(loopback, `checkout serve`, one uvicorn worker). The CSV export of all 100,000 is timed
whole, with its size and the server's memory before and after.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Checkout, database, percentiles  # noqa: E402
from bench.seed import seed_sync  # noqa: E402
from tests.console import DEMO_OWNER, DEMO_PASSWORD, sign_in_form  # noqa: E402

M = "/console/m/mer_demo"


def pages(client: httpx.Client) -> dict[str, str]:
    """What a person opens: the list, filtered ones, the next page, a story, the others."""
    listing = client.get(f"{M}/payments").text
    older = re.search(r'rel="next" href="([^"]+)"', listing)
    story = re.search(rf'href="({M}/payments/pay_[0-9a-f]+)"', listing)
    assert older and story, "the seeded payments are not listed"
    return {
        "payments": f"{M}/payments",
        "payments, status": f"{M}/payments?status=failed",
        "payments, amount range": f"{M}/payments?min=100&max=150",
        "payments, one day": f"{M}/payments?from=2026-11-20&to=2026-11-20",
        "payments, reference": f"{M}/payments?q=seed-4242",
        "payments, page 2": older.group(1).replace("&amp;", "&"),
        "payment story": story.group(1),
        "webhooks": f"{M}/webhooks",
        "API keys": f"{M}/keys",
        "team": f"{M}/team",
        "audit log": f"{M}/audit",
    }


def run(kind: str, count: int, rounds: int) -> None:
    with database(kind) as url:
        with Checkout(url) as c, httpx.Client(base_url=c.url, timeout=60) as client:
            seed_sync(url, count)  # once the server has made the tables
            assert sign_in_form(client, DEMO_OWNER, DEMO_PASSWORD).status_code == 303
            paths = pages(client)
            for path in paths.values():  # warm: templates compiled, caches filled
                assert client.get(path).status_code == 200, path
            print(f"\n{kind}, {count:,} stored payments, {rounds} rounds, ms p50 / p95 / max")
            for name, path in paths.items():
                samples = []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    resp = client.get(path)
                    samples.append((time.perf_counter() - t0) * 1000)
                    assert resp.status_code == 200, (path, resp.status_code)
                p50, p95, top = percentiles(samples)
                print(f"  {name:24} {p50:6.1f} / {p95:6.1f} / {top:6.1f}")
            before = c.rss_kb()
            t0 = time.perf_counter()
            size = 0
            with client.stream("GET", f"{M}/export/payments.csv") as resp:
                for chunk in resp.iter_bytes():
                    size += len(chunk)
            took = time.perf_counter() - t0
            print(f"  CSV export of all: {size / 1e6:.1f} MB in {took:.1f} s; server RSS "
                  f"{before / 1024:.0f} → {c.rss_kb() / 1024:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--payments", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        run(kind, args.payments, args.rounds)


if __name__ == "__main__":
    main()
