"""kill -9 in the middle of a payment: after a restart the buyer's page carries on."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from checkout.notify.signing import new_secret
from tests.bank131 import bank_record, captured_at_bank
from tests.buyer import (
    checkout_with_link,
    decide,
    execute,
    new_payment,
    open_page,
    query,
    start,
    state_of,
    wait_for,
    wait_for_link,
    wait_for_status,
)
from tests.receiver import Receiver
from tests.server import free_port


class Process:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CHECKOUT_DATA_DIR": str(tmp_path / "data"),
                    "DATABASE_URL": database_url, "CHECKOUT_RECONCILE_INTERVAL_SECONDS": "0.3",
                    "CHECKOUT_ACQUIRER_POLL_SECONDS": "0.5",
                    "CHECKOUT_WEBHOOK_TIMEOUT_SECONDS": "2",
                    "CHECKOUT_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
                    # No shedding: the other test worker shares the cores (see test_overload).
                    "CHECKOUT_OVERLOAD_DELAY_MS": "0"}
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


def test_kill_9_during_a_webhook_delivery_delivers_it_again_with_the_same_id(
        process: Process) -> None:
    process.start()
    secret = new_secret()
    with Receiver(secret, script=[("sleep", 30)]) as receiver:
        subprocess.run([sys.executable, "-m", "checkout.cli", "merchant", "add-webhook",
                        "mer_demo", receiver.url], env={**process.env}, check=True,
                       capture_output=True, timeout=60)
        endpoint = [r for r in query(process.env["DATABASE_URL"],
                                     "SELECT id FROM webhook_endpoints WHERE url = :u",
                                     u=receiver.url)][0][0]
        execute(process.env["DATABASE_URL"],
                "UPDATE webhook_endpoints SET secret = :s WHERE id = :id", s=secret, id=endpoint)
        api = httpx.Client(base_url=process.url, timeout=15,
                           headers={"Authorization": "Bearer sk_test_demo"})
        buyer = httpx.Client(base_url=process.url, timeout=15)
        payment, link = checkout_with_link(api, buyer, process.url)
        decide(buyer, link, approve=True)
        wait_for(lambda: receiver.receipts, timeout=20, what="the first delivery to start")
        process.kill()  # while our worker waits for the receiver's answer
        process.start()
        wait_for(lambda: len(receiver.receipts) >= 2, timeout=40, what="the delivery again")
        ids = {r.headers["webhook-id"] for r in receiver.receipts}
        assert len(ids) == 1 and all(r.verified for r in receiver.receipts)
        assert receiver.receipts[0].verified["data"]["object"]["id"] == payment["id"]  # type: ignore[index]


def test_kill_9_during_a_capture_neither_loses_nor_doubles_it(tmp_path: Path,
                                                               database_url: str) -> None:
    process = Process(tmp_path, database_url)
    process.env["CHECKOUT_SANDBOX_SLOW"] = "session/capture=2"
    try:
        process.start()
        api = httpx.Client(base_url=process.url, timeout=15,
                           headers={"Authorization": "Bearer sk_test_demo"})
        buyer = httpx.Client(base_url=process.url, timeout=15)
        payment = new_payment(api, process.url, capture=False)
        start(buyer, payment["checkout_url"])
        decide(buyer, wait_for_link(buyer, payment["checkout_url"]), approve=True)
        wait_for_status(api, payment["id"], "waiting_for_capture")

        def capture() -> None:
            with contextlib.suppress(httpx.HTTPError):
                api.post(f"/api/v1/payments/{payment['id']}/capture", json={"amount": 60_00})
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(capture)
            wait_for(lambda: query(process.env["DATABASE_URL"],
                                   "SELECT pending_operation FROM payments")[0][0] == "capture",
                     what="the capture to be recorded")
            process.kill()  # the acquirer has not answered yet
            pending.result(timeout=20)
        process.start()
        done = wait_for_status(api, payment["id"], "succeeded", timeout=30)
        assert done["captured_amount"] == 60_00
        ref = query(process.env["DATABASE_URL"], "SELECT acquirer_ref FROM attempts")[0][0]
        kept = bank_record(Path(process.env["CHECKOUT_DATA_DIR"]), ref)
        assert captured_at_bank(kept) == 60_00
    finally:
        if process.proc and process.proc.poll() is None:
            process.kill()
