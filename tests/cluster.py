"""A real deployment in miniature: PostgreSQL, N checkout instances behind a load balancer,
and one sandbox host whose emulated acquirers every instance shares (as production instances
share the real acquirers). Every piece is its own process, so any of them can be killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.balancer import Balancer
from tests.buyer import wait_for
from tests.postgres import TempPostgres
from tests.server import free_port

FAST = {
    "CHECKOUT_RECONCILE_INTERVAL_SECONDS": "0.3",
    "CHECKOUT_ACQUIRER_POLL_SECONDS": "1",
    "CHECKOUT_POLL_INTERVAL_SECONDS": "0.5",
    "CHECKOUT_WEBHOOK_TIMEOUT_SECONDS": "2",
    "CHECKOUT_WEBHOOK_RETRY_BASE_SECONDS": "0.3",
    "CHECKOUT_WEBHOOK_RETRY_MAX_SECONDS": "2",
    "CHECKOUT_ACQUIRER_TIMEOUT_SECONDS": "3",
    "CHECKOUT_SHUTDOWN_GRACE_SECONDS": "10",
    "CHECKOUT_LOG_FORMAT": "json",
    # Two test workers and every process of a cluster share two cores: no shedding of new
    # payments here (it has its own tests, `tests/test_overload.py`).
    "CHECKOUT_OVERLOAD_DELAY_MS": "0",
    # Every test buyer comes from 127.0.0.1: the per-address limit on presses of Pay is for
    # real buyers at addresses of their own (the per-payment one still holds).
    "CHECKOUT_RATE_LIMIT_ATTEMPT_STARTS_CLIENT": "1000000/minute",
}


class Proc:
    """One `checkout serve` process."""

    def __init__(self, name: str, folder: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **FAST, "CHECKOUT_DATA_DIR": str(folder / name),
                    "CHECKOUT_PORT": str(self.port), "CHECKOUT_INSTANCE": name, **env}
        self.log_path = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "checkout.cli", "serve", "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                assert self.alive, f"{self.name} died: {self.log_path.read_text()[-3000:]}"
                return False
        wait_for(up, timeout=60, what=f"{self.name} to be ready")
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Cluster:
    def __init__(self, folder: Path, database_url: str, instances: int = 2,
                 sandbox_env: dict[str, str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.balancer = Balancer().start()
        self.url = self.balancer.url
        self.sandbox = Proc("sandbox", folder, {"CHECKOUT_SANDBOX_NOTIFY_URL": self.url,
                                                **(sandbox_env or {})})
        self.instances = [
            Proc(f"instance-{chr(ord('a') + n)}", folder, {
                "DATABASE_URL": database_url, "CHECKOUT_PUBLIC_URL": self.url,
                "CHECKOUT_SANDBOX_URL": self.sandbox.url, **(env or {})})
            for n in range(instances)]

    def start(self) -> Cluster:
        self.sandbox.start()
        for proc in self.instances:
            proc.start()
        self.balancer.backends = [p.port for p in self.instances]
        return self

    def stop(self) -> None:
        for proc in [*self.instances, self.sandbox]:
            if proc.alive:
                proc.kill()
        self.balancer.stop()

    def api(self, base: str | None = None, key: str = "sk_test_demo") -> httpx.Client:
        # No keep-alive: every request is a new connection, so the balancer spreads them.
        return httpx.Client(base_url=base or self.url, timeout=30,
                            headers={"Authorization": f"Bearer {key}"},
                            limits=httpx.Limits(max_keepalive_connections=0))

    def buyer(self, base: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=base or self.url, timeout=30,
                            limits=httpx.Limits(max_keepalive_connections=0))

    def cli(self, *args: str) -> Any:
        import json

        out = subprocess.run([sys.executable, "-m", "checkout.cli", *args],
                             env=self.instances[0].env, capture_output=True, text=True,
                             timeout=60, check=True)
        return json.loads(out.stdout)


@contextmanager
def cluster(folder: Path, postgres: TempPostgres, name: str, **kwargs: Any) -> Iterator[Cluster]:
    c = Cluster(folder, postgres.create_database(name), **kwargs)
    try:
        yield c.start()
    finally:
        c.stop()
