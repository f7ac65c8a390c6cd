"""kill -9 in the middle of a payment: after a restart the buyer's page carries on."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.buyer import (
    decide,
    new_payment,
    open_page,
    start,
    state_of,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.server import free_port


class Process:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CHECKOUT_DATA_DIR": str(tmp_path / "data"),
                    "DATABASE_URL": database_url, "CHECKOUT_RECONCILE_INTERVAL_SECONDS": "0.3",
                    "CHECKOUT_ACQUIRER_POLL_SECONDS": "0.5"}
        self.log = (tmp_path / "server.log").open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "checkout.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                assert self.proc is not None and self.proc.poll() is None, "server died"
                return False
        wait_for(up, timeout=30, what="the server to start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def process(tmp_path: Path, database_url: str) -> Iterator[Process]:
    p = Process(tmp_path, database_url)
    yield p
    if p.proc and p.proc.poll() is None:
        p.kill()


def test_kill_9_mid_payment_loses_nothing(process: Process) -> None:
    process.start()
    api = httpx.Client(base_url=process.url, timeout=15,
                       headers={"Authorization": "Bearer sk_test_demo"})
    buyer = httpx.Client(base_url=process.url, timeout=15)
    payment = new_payment(api, process.url)
    start(buyer, payment["checkout_url"])
    link = wait_for_link(buyer, payment["checkout_url"])
    before = int(re.findall(r'data-countdown="(\d+)"', open_page(buyer,
                                                                  payment["checkout_url"]))[0])

    process.kill()  # while the buyer looks at the QR code
    process.start()
    page = open_page(buyer, payment["checkout_url"])
    assert state_of(page) == "awaiting"
    assert wait_for_link(buyer, payment["checkout_url"]) == link  # same session, same link
    after = int(re.findall(r'data-countdown="(\d+)"', page)[0])
    assert after <= before  # the deadline is the server's, kept across the restart

    decide(buyer, link, approve=True)
    process.kill()  # before the acquirer's webhook could be delivered or applied
    process.start()
    wait_for_status(api, payment["id"], "succeeded", timeout=30)
    assert state_of(open_page(buyer, payment["checkout_url"])) == "succeeded"
