"""What the benchmarks share: servers started as a user starts them, wrk, and timing helpers.

Loopback only; every server is its own `checkout serve` process (one uvicorn worker).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checkout.http_pool import LeanTransport  # noqa: E402
from tests.postgres import TempPostgres  # noqa: E402
from tests.server import free_port  # noqa: E402


def client_transport(connections: int) -> httpx.AsyncBaseTransport:
    """The simulated buyers' connections: the checkout's own pool (`checkout.http_pool`).
    httpx's default walks all of its connections on every request, which with a thousand
    buyers at once made the load generator, not the server, the bottleneck."""
    return LeanTransport(max_connections=connections, max_idle_per_origin=connections)


def wait_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database URL: SQLite in a temp folder, or a throwaway PostgreSQL server."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="checkout-bench-db-"))
        try:
            yield f"sqlite+aiosqlite:///{folder / 'checkout.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    pg = TempPostgres()
    pg.start()
    try:
        yield pg.create_database("bench")
    finally:
        pg.stop()


class Checkout:
    """`checkout serve` in sandbox mode on a loopback port."""

    def __init__(self, database_url: str, **env: str) -> None:
        self.data = Path(tempfile.mkdtemp(prefix="checkout-bench-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.env = {**os.environ, "CHECKOUT_DATA_DIR": str(self.data),
                    "CHECKOUT_PORT": str(self.port), "DATABASE_URL": database_url,
                    "CHECKOUT_LOG_FORMAT": "json", **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Checkout:
        self.log = (self.data / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "checkout.cli", "serve", "--port", str(self.port),
             "--no-access-log"], env=self.env, cwd=ROOT, stdout=self.log,
            stderr=subprocess.STDOUT)
        wait_up(self.url + "/readyz")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)

    def rss_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


@contextmanager
def bare_starlette() -> Iterator[str]:
    with bare_starlette_process() as (url, _pid):
        yield url


@contextmanager
def bare_starlette_process() -> Iterator[tuple[str, int]]:
    """The yardstick's URL and its process id (to read its CPU from /proc)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.hello:app", "--port",
                             str(port), "--no-access-log", "--log-level", "warning"], cwd=ROOT)
    try:
        wait_up(f"http://127.0.0.1:{port}/")
        yield f"http://127.0.0.1:{port}/", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def merchant_receiver(checkout: str, api_key: str = "sk_test_demo"
                      ) -> Iterator[tuple[str, int]]:
    """The merchant's webhooks go to a receiver in a process of its own (`bench/merchant.py`),
    as a shop's server is elsewhere, not to the demo shop inside the instance: taking them is
    the shop's CPU. Made through the merchant API as a merchant would (a new endpoint, the
    demo shop's turned off). Yields its URL (`GET /taken`: how many webhooks it verified) and
    its process id."""
    port = free_port()
    auth = {"Authorization": f"Bearer {api_key}"}
    made = httpx.post(f"{checkout}/api/v1/webhook_endpoints",
                      json={"url": f"http://127.0.0.1:{port}/webhooks"},
                      headers={**auth, "Idempotency-Key": f"bench-receiver-{port}"}, timeout=10)
    made.raise_for_status()
    endpoint_id, secret = made.json()["id"], made.json()["secret"]
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.merchant:app", "--port",
                             str(port), "--no-access-log", "--log-level", "warning"], cwd=ROOT,
                            env={**os.environ, "BENCH_WEBHOOK_SECRET": secret})
    try:
        wait_up(f"http://127.0.0.1:{port}/taken")
        for endpoint in httpx.get(f"{checkout}/api/v1/webhook_endpoints", headers=auth,
                                  timeout=10).json()["data"]:
            if endpoint["id"] != endpoint_id:
                httpx.patch(f"{checkout}/api/v1/webhook_endpoints/{endpoint['id']}",
                            json={"enabled": False},
                            headers={**auth, "Idempotency-Key": f"bench-off-{endpoint['id']}"},
                            timeout=10).raise_for_status()
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@dataclass
class PaymentSetup:
    """One checkout instance as `bench/payment_cost.py` measures it, with what it talks to."""

    database_url: str
    instance: Checkout
    sandbox: Checkout
    receiver: str  # the shop's webhook receiver (`GET /taken`)

    @property
    def pid(self) -> int:
        assert self.instance.proc is not None
        return self.instance.proc.pid


@contextmanager
def payment_setup(kind: str) -> Iterator[PaymentSetup]:
    """The production shape on one machine: the instance on a fresh `kind` database, the
    emulated acquirers in a process of their own (the sandbox host, as the real bank is
    elsewhere), and the shop's webhook receiver in another (`merchant_receiver`)."""
    with ExitStack() as stack:
        url = stack.enter_context(database(kind))
        sandbox_db = stack.enter_context(database("sqlite"))
        instance = Checkout(url)
        sandbox = stack.enter_context(Checkout(sandbox_db,
                                               CHECKOUT_SANDBOX_NOTIFY_URL=instance.url))
        instance.env["CHECKOUT_SANDBOX_URL"] = sandbox.url
        stack.enter_context(instance)
        receiver, _ = stack.enter_context(merchant_receiver(instance.url))
        yield PaymentSetup(url, instance, sandbox, receiver)


ROTATE = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""
# A buyer's page polls every 2 s: each connection waits 0–4 s (mean 2 s) before each request,
# so N connections are N buyers, spread out rather than in step.
PACED = "delay = function() return math.random(0, 4000) end\n"


def wrk(url: str, connections: int, seconds: int, paths: Path | None = None,
        paced: bool = False, script: str = "") -> dict[str, float]:
    """Load `url`; `paths` rotates over request paths, `paced` spaces requests as a polling
    page does, `script` is any further wrk Lua (a POST body, headers)."""
    if paths is not None:
        script += ROTATE % {"paths": paths}
    if paced:
        script += PACED
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        lua = Path(tempfile.mkstemp(suffix=".lua")[1])
        lua.write_text(script)
        cmd += ["-s", str(lua)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"),
            "non2xx": float(bad.group(1)) if bad else 0.0,
            "errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0}


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95, max."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered), p95, ordered[-1]
