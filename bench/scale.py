"""How the checkout's other hot paths hold up, and whether they grow with stored payments.

Run: `make bench` (or `.venv/bin/python bench/scale.py`). Loopback only, bounded in time.
For each database (SQLite, a throwaway PostgreSQL), with 1k and then 100k stored payments:

- payment creation per second through the merchant API (wrk, 16 connections);
- acquirer webhook ingestion per second: real Bank 131 `payment_finished` webhooks, signed
  with the sandbox bank's key, each finishing a different payment (verify, store, apply,
  write the merchant's event), 32 at a time;
- webhook to page: from the buyer's approval in the (emulated) T-Bank app, which sends the
  webhook at once, to the buyer's status poll answering "succeeded" (polled every 5 ms here;
  a real page adds up to its poll interval, 2 s, on top);
- memory per waiting buyer: the server's RSS growth per payment with a live attempt that is
  being polled, and per open polling connection.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Checkout, database, percentiles, wrk  # noqa: E402
from bench.seed import seed_sync  # noqa: E402
from tests.buyer import form_token, path_of, pay_link, query  # noqa: E402

API = {"Authorization": "Bearer sk_test_demo"}


def create_rate(c: Checkout, seconds: int) -> dict[str, float]:
    body = json.dumps({"amount": 15000, "currency": "RUB", "description": "bench",
                       "return_url": f"{c.url}/shop/return"})
    return wrk(c.url + "/api/v1/payments", 16, seconds, script=f"""wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk_test_demo"
""")


def waiting_buyers(c: Checkout, n: int) -> list[tuple[str, str, str]]:
    """n payments whose buyer started and sees a link: (payment id, poll path, link)."""
    out = []
    with httpx.Client(base_url=c.url, headers=API, timeout=30) as api, \
            httpx.Client(base_url=c.url, timeout=30) as buyer:
        started = []
        for i in range(n):
            p = api.post("/api/v1/payments", json={
                "amount": 20_000 + i, "currency": "RUB", "description": f"wait {i}",
                "return_url": f"{c.url}/shop/return"}).json()
            path = path_of(p["checkout_url"])
            page = buyer.get(path).text
            buyer.post(path + "/attempts", data={"ft": form_token(page)},
                       headers={"HX-Request": "true"})
            started.append((p["id"], path))
        for pid, path in started:
            for _ in range(200):
                html = buyer.get(path).text
                link = pay_link(html)
                if link:
                    poll = re.search(r'hx-get="([^"]+)"', html).group(1)  # type: ignore[union-attr]
                    out.append((pid, poll.replace("&amp;", "&"), link))
                    break
                time.sleep(0.05)
            else:
                raise SystemExit(f"no link for {path}")
    return out


def sign(pem: bytes, body: bytes) -> str:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def ingestion_rate(c: Checkout, buyers: list[tuple[str, str, str]]) -> tuple[float, int]:
    """Approve every buyer's session with the emulator's webhooks dropped, then deliver the
    bank's `payment_finished` webhooks ourselves, 32 at a time. (rate, errors)"""
    httpx.post(f"{c.url}/sandbox/faults", json={"kind": "drop", "times": 0}).raise_for_status()
    with httpx.Client(base_url=c.url, timeout=30) as client:
        for _, _, link in buyers:
            client.post(httpx.URL(link).path + "/approve")
        sessions = [query(c.database_url, "SELECT acquirer_ref FROM attempts "
                          "WHERE payment_id = :p", p=pid)[0][0] for pid, _, _ in buyers]
        partner_pem = (c.data / "sandbox" / "partner_private.pem").read_bytes()
        docs = []
        for sid in sessions:
            body = json.dumps({"session_id": sid}).encode()
            resp = client.post("/sandbox/bank131/api/v1/session/status", content=body, headers={
                "Content-Type": "application/json", "X-PARTNER-PROJECT": "sandbox-project",
                "X-PARTNER-SIGN": sign(partner_pem, body)})
            docs.append(resp.json()["session"])
    httpx.delete(f"{c.url}/sandbox/faults")
    bank_pem = (c.data / "sandbox" / "bank_private.pem").read_bytes()
    bodies = [json.dumps({"type": "payment_finished", "session": d}).encode() for d in docs]
    signed = [(b, sign(bank_pem, b)) for b in bodies]

    async def blast() -> tuple[float, int]:
        errors = 0
        queue = list(signed)
        async with httpx.AsyncClient(base_url=c.url, timeout=30) as http:
            async def worker() -> None:
                nonlocal errors
                while queue:
                    body, signature = queue.pop()
                    resp = await http.post("/webhooks/bank131", content=body, headers={
                        "Content-Type": "application/json", "X-PARTNER-SIGN": signature})
                    errors += resp.status_code != 200
            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(32)))
            return len(signed) / (time.perf_counter() - t0), errors
    return asyncio.run(blast())


def webhook_to_page(c: Checkout, buyers: list[tuple[str, str, str]]) -> list[float]:
    """ms from the approval (the bank sends its webhook at once) to the poll saying final."""
    out = []
    with httpx.Client(base_url=c.url, timeout=30) as client:
        for _, poll, link in buyers:
            done = threading.Event()
            seen: list[float] = []

            def watch(p: str = poll, done: threading.Event = done,
                      seen: list[float] = seen) -> None:
                with httpx.Client(base_url=c.url, timeout=30) as watcher:
                    while not done.is_set():
                        if watcher.get(p).status_code == 286:
                            seen.append(time.perf_counter())
                            return
                        time.sleep(0.005)
            t = threading.Thread(target=watch)
            t.start()
            t0 = time.perf_counter()
            client.post(httpx.URL(link).path + "/approve")
            t.join(30)
            done.set()
            if seen:
                out.append((seen[0] - t0) * 1000)
    return out


def report(db: str, stored: str, c: Checkout, seconds: int, buyers_n: int) -> None:
    created = create_rate(c, seconds)
    print(f"{db:<11}{stored:>7}  create      {created['rps']:>7.0f}/s  p50 "
          f"{created['p50']:.1f} ms  p99 {created['p99']:.1f} ms  "
          f"errors {created['non2xx'] + created['errors']:.0f}", flush=True)
    rss0 = c.rss_kb()
    buyers = waiting_buyers(c, buyers_n)
    with httpx.Client(base_url=c.url) as client:
        for _, poll, _ in buyers:
            client.get(poll)
    rss1 = c.rss_kb()
    print(f"{db:<11}{stored:>7}  memory      {(rss1 - rss0) / len(buyers):>7.1f} KB per "
          f"waiting buyer (RSS {rss0 // 1024} → {rss1 // 1024} MB for {len(buyers)})",
          flush=True)
    half = len(buyers) // 2
    rate, errors = ingestion_rate(c, buyers[:half])
    print(f"{db:<11}{stored:>7}  webhooks    {rate:>7.0f}/s  ({half} payment_finished, "
          f"errors {errors})", flush=True)
    lat = webhook_to_page(c, buyers[half:half + 50])
    p50, p95, worst = percentiles(lat)
    print(f"{db:<11}{stored:>7}  to the page p50 {p50:.0f} ms  p95 {p95:.0f} ms  "
          f"max {worst:.0f} ms  ({len(lat)} approvals)", flush=True)


def connection_memory(c: Checkout, buyers: list[Any]) -> None:
    import subprocess
    paths = c.data / "polls.txt"
    paths.write_text("\n".join(p for _, p, _ in buyers) + "\n")
    rss0 = c.rss_kb()
    lua = c.data / "paced.lua"
    from bench.common import PACED, ROTATE
    lua.write_text(ROTATE % {"paths": paths} + PACED)
    proc = subprocess.Popen(["wrk", "-t1", "-c1000", "-d8s", "-s", str(lua), c.url + "/"],
                            stdout=subprocess.DEVNULL)
    time.sleep(5)
    rss1 = c.rss_kb()
    proc.wait()
    print(f"memory per open polling connection: {(rss1 - rss0) / 1000:.1f} KB "
          f"(RSS {rss0 // 1024} → {rss1 // 1024} MB with 1,000 connections)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--buyers", type=int, default=400)
    parser.add_argument("--more", type=int, default=99_000)
    args = parser.parse_args()
    env = {"CHECKOUT_SANDBOX_AUTO_CONFIRM": "1", "CHECKOUT_SANDBOX_DELAYED_CAPTURE": "0"}
    for db in args.databases:
        with database(db) as url, Checkout(url, **env) as c:
            seed_sync(url, 1000 - 0)
            report(db, "1k", c, args.seconds, args.buyers)
            seed_sync(url, args.more)
            report(db, f"{(1000 + args.more) // 1000}k", c, args.seconds, args.buyers)
            if db == args.databases[0]:
                connection_memory(c, waiting_buyers(c, 200))


if __name__ == "__main__":
    main()
