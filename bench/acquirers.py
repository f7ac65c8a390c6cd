"""How fast does each acquirer's path run, end to end, through its real driver and emulator?

Run: `make bench` (or `.venv/bin/python bench/acquirers.py`). Loopback only, bounded in time.
Starts the checkout in sandbox mode on SQLite and, for each acquirer's demo merchant, pays
`--payments` times the way a buyer does: the merchant creates the payment, the buyer's page
starts it and waits for the link (the acquirer's session, confirm step included), the buyer
approves on the acquirer's page, and we wait until the merchant API says `succeeded`.
Run twice: with the acquirers' webhooks, and with them off (our status polling alone).
Prints p50 / p95 in milliseconds of each step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import wait_up  # noqa: E402
from checkout.sandbox.registry import DEMO_MERCHANTS  # noqa: E402
from tests.buyer import decide, pay_link, start  # noqa: E402
from tests.server import free_port  # noqa: E402

CURRENCY = {"tbc": "GEL"}
T = TypeVar("T")


def until(probe: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.01)
    return found


def run(base: str, acquirer: str, payments: int) -> dict[str, list[float]]:
    key = next(m.api_key for m in DEMO_MERCHANTS if m.acquirer == acquirer)
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    buyer = httpx.Client(base_url=base, timeout=30)
    steps: dict[str, list[float]] = {"create": [], "to link": [], "approval to final": []}
    for _ in range(payments):
        t0 = time.perf_counter()
        payment = api.post("/api/v1/payments", json={
            "amount": 150_00, "currency": CURRENCY.get(acquirer, "RUB"), "description": "bench",
            "return_url": f"{base}/shop/return"}).json()
        t1 = time.perf_counter()
        url = httpx.URL(payment["checkout_url"]).raw_path.decode()
        start(buyer, payment["checkout_url"])
        link = until(lambda: pay_link(buyer.get(url).text))  # noqa: B023
        t2 = time.perf_counter()
        decide(buyer, link, approve=True)
        until(lambda: api.get(f"/api/v1/payments/{payment['id']}")  # noqa: B023
              .json()["status"] == "succeeded" or None)
        t3 = time.perf_counter()
        steps["create"].append(t1 - t0)
        steps["to link"].append(t2 - t1)
        steps["approval to final"].append(t3 - t2)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=30)
    args = parser.parse_args()
    print(f"{args.payments} payments per acquirer, loopback, SQLite, one uvicorn worker")
    print(f"{'webhooks':9} {'acquirer':12} " + " ".join(
        f"{step + ' p50/p95 ms':>26}" for step in ("create", "to link", "approval to final")))
    for webhooks in ("on", "off"):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            env = {**os.environ, "CHECKOUT_DATA_DIR": tmp, "CHECKOUT_PORT": str(port),
                   "CHECKOUT_SANDBOX_WEBHOOKS": webhooks,
                   "CHECKOUT_ACQUIRER_POLL_SECONDS": "1",
                   "CHECKOUT_RECONCILE_INTERVAL_SECONDS": "0.5"}
            server = subprocess.Popen(
                [sys.executable, "-m", "checkout.cli", "serve", "--port", str(port),
                 "--no-access-log"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_up(base + "/healthz")
                for acquirer in [m.acquirer for m in DEMO_MERCHANTS]:
                    steps = run(base, acquirer, args.payments)
                    cells = []
                    for values in steps.values():
                        ms = sorted(v * 1000 for v in values)
                        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
                        cells.append(f"{statistics.median(ms):>11.1f} / {p95:>10.1f}")
                    print(f"{webhooks:9} {acquirer:12} " + " ".join(f"{c:>26}" for c in cells))
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
