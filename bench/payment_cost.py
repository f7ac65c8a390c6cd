"""What one whole payment costs the instance, in bare Starlette requests, and where it saturates.

Run: `make bench` (or `.venv/bin/python bench/payment_cost.py [--databases sqlite]`).
Loopback only, bounded in time. The production shape on one machine: the emulated acquirers
in a process of their own (the sandbox host, as the real bank is elsewhere), one checkout
instance (one uvicorn worker) using them, the shop's webhook receiver in a process of its own
too (`bench/merchant.py`: a shop's server is elsewhere, and taking a webhook is the shop's
CPU), and buyers as real ones (`bench/load.py`'s): the shop creates the payment, a first-time
buyer opens the page and its static files, presses start, polls as the page does until the
T-Pay link shows, approves in the emulated app, polls until paid; the shop reads the payment
back. Half are phones, half desktops.

It prints, for each database:
- the instance's CPU per whole payment, from `/proc` (user + system, every thread), net of what
  the same instance burns idle over as long;
- one bare Starlette request's CPU (`bench/hello.py`, the same uvicorn), sent by the same
  client in the same run, and the ratio between the two: the cost in bare requests. The
  payments go in rounds (3), the bare request measured before and after each, and each round
  is set against its own: the machine's speed drifts by a fifth within minutes. The median
  round's ratio is the figure;
- requests, statements and transactions per payment (the instance's own counters) and
  context switches per payment;
- then open-loop arrivals of buyers who take 1–4 s to approve: at 1.5× the rate that CPU
  would allow, which gives the saturation rate (what one instance completes when offered
  more), and at twice the saturation rate: payments completed per second (those done within
  the arrival window and 10 s more, over the window), creates refused with 503 + Retry-After,
  the buyers' latencies, the standing delay the instance sheds by, and how busy each process
  (instance, sandbox host, the buyers' client) kept its core.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import os
import re
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    bare_starlette_process,
    client_transport,
    payment_setup,
    percentiles,
)
from bench.load import Run, hops  # noqa: E402
from bench.seed import seed_sync  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PHASES = itertools.count(1)
GRACE = 10.0  # seconds after the last arrival in which a payment still counts as completed


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: every thread's


def idle_burn(pid: int, seconds: float) -> float:
    """CPU seconds a second the process spends with nothing asked of it (its timers)."""
    began, t = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - began) / (time.perf_counter() - t)


def context_switches(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        total += sum(int(n) for n in re.findall(r"ctxt_switches:\s+(\d+)", status))
    return total


def counters(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = {name: float(value) for name, value in
             re.findall(r"^(checkout_db_\w+_total) ([\d.e+]+)$", text, re.M)}
    found["requests"] = sum(float(v) for v in
                            re.findall(r"^checkout_http_requests_total\{.*\} ([\d.e+]+)$",
                                       text, re.M))
    for outcome in ("retry", "failed"):
        tried = re.search(rf'^checkout_webhook_deliveries_total{{outcome="{outcome}"}} '
                          r"([\d.e+]+)$", text, re.M)
        found[f"deliveries {outcome}"] = float(tried[1]) if tried else 0.0
    return found


async def bare_cost(url: str, pid: int, requests: int, concurrency: int) -> float:
    """CPU seconds of one bare request, sent as the buyers' client sends its requests."""
    async with httpx.AsyncClient(timeout=30, transport=client_transport(100)) as http:
        for _ in range(200):  # warm
            await http.get(url)
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                (await http.get(url)).raise_for_status()
        before = cpu_seconds(pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (cpu_seconds(pid) - before) / requests


async def closed_loop(run: Run, payments: int, concurrency: int) -> None:
    async with httpx.AsyncClient(timeout=60, transport=client_transport(500)) as http:
        queue = iter(range(payments))

        async def buyer() -> None:
            for n in queue:
                await run.buyer(http, n)
        await asyncio.gather(*(buyer() for _ in range(concurrency)))


async def open_loop(run: Run, rate: float, seconds: float, lags: list[float]) -> int:
    """Arrivals at `rate` a second for `seconds`; the count completed within GRACE after.
    `lags` gets the instance's event-loop lag, read every half second."""

    async def watch(http: httpx.AsyncClient) -> None:
        while True:
            await asyncio.sleep(0.5)
            text = (await http.get(f"{run.base}/metrics")).text
            found = re.search(r"^checkout_standing_delay_seconds ([\d.e+-]+)$", text, re.M)
            lags.append(float(found.group(1)) if found else 0.0)
    async with httpx.AsyncClient(timeout=60, transport=client_transport(4000)) as http:
        watcher = asyncio.create_task(watch(http))
        t0 = time.perf_counter()
        tasks = []
        for n in range(int(rate * seconds)):
            delay = t0 + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(run.buyer(http, n)))
        left = t0 + seconds + GRACE - time.perf_counter()
        await asyncio.wait(tasks, timeout=max(left, 0))
        done_in_time = run.completed
        await asyncio.wait(tasks, timeout=120)  # the rest finish (or fail) before we leave
        for task in [*tasks, watcher]:
            task.cancel()
        return done_in_time


def measure(kind: str, stored: int, args: argparse.Namespace, hello: str,
            hello_pid: int) -> None:
    with payment_setup(kind) as setup:
        url, instance, sandbox, receiver = (setup.database_url, setup.instance, setup.sandbox,
                                            setup.receiver)
        pid = setup.pid
        assert sandbox.proc is not None
        sandbox_pid = sandbox.proc.pid
        if stored:
            # What a checkout that has run for a while holds: finished payments, each with
            # its attempt, the bank's webhooks and (if paid) the merchant's event.
            began = time.perf_counter()
            seed_sync(url, stored, history=True)
            print(f"\n{kind}: stored {stored:,} finished payments and their history in "
                  f"{time.perf_counter() - began:.0f} s", flush=True)

        # Warm the instance (imports, template compilation, pools), then read its idle burn.
        warm = Run(instance.url, sandbox.url, think=(0, 0), assets=True, tag="warm")
        asyncio.run(closed_loop(warm, 20, 5))
        warmed = 20 - warm.refused
        time.sleep(2)
        idle_rate = idle_burn(pid, args.idle_seconds)

        # Rounds of payments, each between two measures of the bare request: the machine's
        # speed drifts by a fifth within minutes, so each round's ratio is taken against the
        # bare requests measured around it, and the median round is the figure.
        rounds = max(1, args.rounds)
        each = max(1, args.payments // rounds)
        bare_each = max(200, args.bare_requests // (rounds + 1))
        bares = [asyncio.run(bare_cost(hello, hello_pid, bare_each, args.concurrency))]
        errors: collections.Counter[str] = collections.Counter()
        ratios: list[float] = []
        cpu = took = 0.0
        refused = payments = 0
        s0, n0 = context_switches(pid), counters(instance.url)
        for number in range(rounds):
            run = Run(instance.url, sandbox.url, think=(0, 0), assets=True, tag=f"cost{number}")
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            asyncio.run(closed_loop(run, each, args.concurrency))
            spent = time.perf_counter() - t0
            round_cpu = cpu_seconds(pid) - c0 - idle_rate * spent
            bares.append(asyncio.run(bare_cost(hello, hello_pid, bare_each, args.concurrency)))
            # Per payment made: a create the instance refused at capacity (503, Retry-After)
            # cost it little, and counting it as a payment would flatter every figure.
            made = max(1, each - run.refused)
            ratios.append(round_cpu / made / ((bares[-2] + bares[-1]) / 2))
            cpu, took = cpu + round_cpu, took + spent
            refused, payments = refused + run.refused, payments + made
            errors.update(run.errors)
        n1 = counters(instance.url)
        switches = context_switches(pid) - s0
        # Every payment told the shop (one payment.succeeded each), warm-up's too; a delivery
        # the shop failed to take is tried again 5 s later (±20 %), so this waits past that.
        waited = time.monotonic()
        taken = 0
        while taken < payments + warmed and time.monotonic() < waited + 30:
            taken = int(httpx.get(f"{receiver}/taken", timeout=10).text)
            time.sleep(0.2)
        waited = time.monotonic() - waited
        redelivered = counters(instance.url)
        bad = sum(errors.values())
        per = cpu / payments
        bare_ms = statistics.fmean(bares) * 1000
        print(f"\n{kind}, {stored:,} stored: {payments} whole payments in {rounds} rounds "
              f"({refused} more creates refused at capacity, told to retry), "
              f"{args.concurrency} buyers at a time, in {took:.0f} s ({bad} errors); idle burn "
              f"{idle_rate * 1000:.1f} ms/s")
        for what, count in errors.most_common(5):
            print(f"  error ×{count}: {what}")
        print(f"  instance CPU per payment        {per * 1000:8.1f} ms")
        print(f"  bare Starlette request          {bare_ms:8.3f} ms (between rounds: "
              f"{', '.join(f'{b * 1000:.3f}' for b in bares)})")
        print(f"  ratio: a payment costs          {statistics.median(ratios):8.0f} bare requests "
              f"(the median round; rounds: {', '.join(f'{r:.0f}' for r in ratios)})")
        print(f"  requests in per payment         "
              f"{(n1['requests'] - n0['requests']) / payments:8.1f}")
        for name, label in (("statements", "statements"), ("transactions", "transactions"),
                            ("transactions_redone", "transactions redone")):
            key = f"checkout_db_{name}_total"
            print(f"  {label + ' per payment':<32}{(n1[key] - n0[key]) / payments:8.2f}")
        print(f"  context switches per payment    {switches / payments:8.0f}")
        print(f"  webhooks the shop verified      {taken:8d} (of {payments + warmed} payments, "
              f"{waited:.1f} s after the last; deliveries tried again "
              f"{redelivered['deliveries retry'] - n0['deliveries retry']:.0f}, failed "
              f"{redelivered['deliveries failed'] - n0['deliveries failed']:.0f})")
        print(f"  capacity that implies           {1 / per:8.1f} payments/s on one core",
              flush=True)
        if args.load_seconds:
            # What one instance completes when offered more than that (1.5×), then twice
            # what it completed: past capacity, it should still complete about as much.
            saturation = load_phase(url, instance.url, sandbox.url, (pid, sandbox_pid),
                                    1.5 / per, args.load_seconds, "1.5× the CPU's capacity")
            load_phase(url, instance.url, sandbox.url, (pid, sandbox_pid), 2 * saturation,
                       args.load_seconds, "2× saturation", saturation)


def histogram(text: str, metric: str, label: str) -> dict[float, float]:
    """One histogram's cumulative counts by upper bound, summed over the series whose labels
    hold `label`."""
    found: dict[float, float] = {}
    for labels, count in re.findall(rf"^{metric}_bucket\{{(.*?)\}} ([\d.e+]+)$", text, re.M):
        bound = re.search(r'le="([^"]+)"', labels)
        if bound and label in labels:
            key = float("inf") if bound[1] == "+Inf" else float(bound[1])
            found[key] = found.get(key, 0.0) + float(count)
    return found


def p95_within(before: dict[float, float], after: dict[float, float]) -> str:
    """The bucket bound under which 95 % of what happened between two reads fell."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return "–"
    for bound, count in zip(bounds, counts, strict=True):
        if count >= 0.95 * counts[-1]:
            return f"≤ {bound:g} s" if bound != float("inf") else "> 30 s"
    return "–"


def load_phase(database_url: str, base: str, sandbox: str, pids: tuple[int, int], rate: float,
               seconds: float, label: str, saturation: float = 0.0) -> float:
    """Open-loop arrivals of real buyers (1–4 s to approve); prints what happened and
    returns the completed payments per second."""
    # Each phase its own Idempotency-Keys: two phases at rates that round alike once shared
    # them, and the second phase's shop got the first phase's (paid) payments back.
    load = Run(base, sandbox, think=(1, 4), tag=f"load{next(PHASES)}")
    delays: list[float] = []
    seen = httpx.get(f"{base}/metrics", timeout=10).text
    used = (cpu_seconds(pids[0]), cpu_seconds(pids[1]), time.process_time(),
            time.perf_counter())
    done = asyncio.run(open_loop(load, rate, seconds, delays)) / seconds
    wall = time.perf_counter() - used[3]
    cores = ((cpu_seconds(pids[0]) - used[0]) / wall, (cpu_seconds(pids[1]) - used[1]) / wall,
             (time.process_time() - used[2]) / wall)
    delay = percentiles(delays) if delays else (0, 0, 0)
    link = percentiles(load.to_link) if load.to_link else (0, 0, 0)
    final = percentiles(load.to_final) if load.to_final else (0, 0, 0)
    share = f" = {done / saturation:.0%} of saturation" if saturation else ""
    print(f"  arrivals {rate:5.1f}/s ({label}) for {seconds:.0f} s: completed {done:5.1f}/s"
          f"{share}; refused with Retry-After {load.refused}, errors "
          f"{sum(load.errors.values())}")
    print(f"    p95 start → link {link[1]:.2f} s, approval → paid {final[1]:.2f} s; standing "
          f"delay p50 {delay[0] * 1000:.0f} ms, max {delay[2] * 1000:.0f} ms; cores busy: "
          f"instance {cores[0]:.2f}, sandbox {cores[1]:.2f}, buyers {cores[2]:.2f}",
          flush=True)
    now = httpx.get(f"{base}/metrics", timeout=10).text
    ours = "checkout_http_request_duration_seconds", 'route="/webhooks/'
    theirs = "checkout_acquirer_call_duration_seconds", ""
    answered = p95_within(histogram(seen, *ours), histogram(now, *ours))
    called = p95_within(histogram(seen, *theirs), histogram(now, *theirs))
    print(f"    p95 of the bank's webhooks answered by the instance {answered}, of the "
          f"instance's calls answered by the bank {called}")
    steps = hops(load, database_url)
    if steps:
        print("    approval → paid, hop by hop (p50 / p95 / max): " + "; ".join(
            f"{what} {p50:.2f} / {p95:.2f} / {top:.2f} s" for what, (p50, p95, top)
            in steps.items()), flush=True)
    for what, count in load.errors.most_common(3):
        print(f"    error ×{count}: {what}")
    time.sleep(3)
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--stored", nargs="+", type=int, default=[0],
                        help="finished payments stored first (one run for each count)")
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--bare-requests", type=int, default=6000,
                        help="in all, split between the measures around the rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--load-seconds", type=float, default=20.0,
                        help="each open-loop phase (0: none)")
    args = parser.parse_args()
    with bare_starlette_process() as (hello, hello_pid):
        for kind in args.databases:
            for stored in args.stored:
                measure(kind, stored, args, hello, hello_pid)


if __name__ == "__main__":
    main()
