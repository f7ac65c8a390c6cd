"""How cheap is the buyer's status poll? Throughput and latency against bare Starlette.

Run: `make bench` (or `.venv/bin/python bench/poll.py`). Loopback only, bounded in time.
Starts the checkout in sandbox mode on SQLite with stored payments (some with a live attempt
whose T-Pay link the buyer is looking at), then loads, with wrk, (a) the status poll of those
payments at their current version — the "nothing changed" answer every waiting buyer gets every
2 s — and (b) a bare Starlette "hello" served by the same uvicorn, and prints both and the ratio.
wrk runs one thread, so the server (one uvicorn worker) has the other core to itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.buyer import form_token, path_of  # noqa: E402
from tests.server import free_port  # noqa: E402

WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


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


def wrk(url: str, script: Path | None, connections: int, seconds: int) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"),
            "non2xx": float(errors.group(1)) if errors else 0.0,
            "socket_errors": 1.0 if socket_errors else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--live", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk (make bench does it)")
    tmp = Path(tempfile.mkdtemp(prefix="checkout-bench-"))
    port, hello_port = free_port(), free_port()
    env = {**os.environ, "CHECKOUT_DATA_DIR": str(tmp), "CHECKOUT_PORT": str(port)}
    py = sys.executable
    servers = [
        subprocess.Popen([py, "-m", "checkout.cli", "serve", "--port", str(port),
                          "--no-access-log"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
        subprocess.Popen([py, "-m", "uvicorn", "bench.hello:app", "--port", str(hello_port),
                          "--no-access-log", "--log-level", "warning"], cwd=ROOT),
    ]
    try:
        base, hello = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hello_port}/"
        wait_up(base + "/healthz")
        wait_up(hello)
        t0 = time.perf_counter()
        polls = prepare(base, args.payments, args.live)
        print(f"prepared {args.payments} payments ({args.live} with a live attempt) "
              f"in {time.perf_counter() - t0:.1f}s")
        paths = tmp / "paths.txt"
        paths.write_text("\n".join(polls) + "\n")
        script = tmp / "rotate.lua"
        script.write_text(WRK_SCRIPT % paths)
        print(f"{'endpoint':<28}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
              f"{'non-2xx':>9}")
        wrk(hello, None, 100, 2)  # warm-up: neither server is measured cold
        wrk(base + "/", script, 100, 2)
        for conns in args.connections:
            bare = wrk(hello, None, conns, args.seconds)
            poll = wrk(base + "/", script, conns, args.seconds)
            for name, r in (("bare Starlette hello", bare), ("status poll (unchanged)", poll)):
                print(f"{name:<28}{conns:>6}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
                      f"{r['non2xx']:>9.0f}")
            print(f"{'ratio poll / bare':<28}{conns:>6}{poll['rps'] / bare['rps']:>10.0%}")
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
