"""One merchant's misbehaving webhook endpoints must not delay anyone else's events, nor grow
the server's memory: a dripping, a hanging and a 100 MB endpoint all belong to one merchant,
while another merchant's event must arrive in the normal delivery time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from checkout.notify.signing import new_secret
from tests.buyer import add_merchant, clients, execute, new_payment, query, wait_for
from tests.hostile import HostileEndpoints
from tests.receiver import Receiver
from tests.server import LiveServer

SETTINGS = {"webhook_timeout_seconds": 2.0, "webhook_retry_base_seconds": 0.2,
            "delivery_interval_seconds": 0.1, "payment_ttl_seconds": 1}
# What "normal" is here: an expiry pass (0.5 s) and a delivery tick (0.1 s), with room for a
# busy machine; the dripping endpoint alone held the old worker for ever.
NORMAL_DELIVERY_SECONDS = 3.0


def endpoint(server: LiveServer, merchant_id: str, endpoint_id: str, url: str,
             secret: str) -> None:
    execute(server.settings.db_url,
            "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, created_at) "
            "VALUES (:id, :m, :url, :secret, :now)", id=endpoint_id, m=merchant_id, url=url,
            secret=secret, now=datetime.now(UTC).replace(tzinfo=None))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class PeakMemory:
    """Samples this process's resident size (the server runs in it) every 20 ms."""

    def __init__(self) -> None:
        self.start = rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.start


def test_a_dripping_a_hanging_and_a_flooding_endpoint_delay_no_other_merchant(
        make_server: Callable[..., LiveServer]) -> None:
    server = make_server(**SETTINGS)
    secret = new_secret()
    other = add_merchant(server.settings.db_url, "mer_other", "sk_test_other",
                         return_origins='["http://127.0.0.1:*"]')
    with HostileEndpoints() as hostile, Receiver(secret) as receiver:
        for kind in ("drip", "hang", "flood"):
            endpoint(server, "mer_demo", f"we_{kind}", hostile.url(kind), secret)
        endpoint(server, "mer_other", "we_other", receiver.url, secret)
        memory = PeakMemory()
        with clients(server) as (api, _):
            for _ in range(6):  # each expires in a second: an event to every endpoint
                new_payment(api, server.url)
        wait_for(lambda: all(hostile.connections[k] for k in ("drip", "hang", "flood")),
                 timeout=10, what="every hostile endpoint to be called")
        wait_for(lambda: query(server.settings.db_url,
                               "SELECT 1 FROM deliveries WHERE endpoint_id = 'we_flood' "
                               "AND status = 'succeeded'"),
                 timeout=15, what="the flooding endpoint's 200 to be taken")

        # Now, while the hostile endpoints hold what they can, another merchant's event.
        with clients(server) as (_, buyer):
            buyer.headers.update(other)
            created = buyer.post("/api/v1/payments", json={
                "amount": 100_00, "currency": "RUB", "description": "Tea",
                "return_url": f"{server.url}/shop/return"})
            assert created.status_code == 201, created.text
        wait_for(lambda: receiver.receipts, timeout=15, what="the other merchant's event")
        arrived = time.time()
        with clients(server) as (_, buyer):
            buyer.headers.update(other)
            (event,) = buyer.get("/api/v1/events").json()["data"]
        late = arrived - datetime.fromisoformat(event["created_at"]).timestamp()
        time.sleep(2)  # the flood goes on; the memory must not follow it
        grown = memory.stop()
        hung = query(server.settings.db_url, "SELECT last_error FROM deliveries "
                     "WHERE endpoint_id = 'we_hang' AND attempts > 0")
        dripped = query(server.settings.db_url, "SELECT 1 FROM deliveries "
                        "WHERE endpoint_id = 'we_drip' AND status = 'succeeded'")

    print(f"\nanother merchant's event delivered {late:.2f} s after it was made; the server "
          f"grew by {grown / 2**20:.1f} MiB at its peak")
    assert receiver.receipts[0].verified["type"] == "payment.expired"  # type: ignore[index]
    assert late < NORMAL_DELIVERY_SECONDS, f"the other merchant's event took {late:.1f} s"
    assert grown < 40 * 1024 * 1024, f"the server grew by {grown / 2**20:.0f} MiB"
    # One deadline for the whole request, not one per read.
    assert hung and all(r[0] == "no answer within 2 s" for r in hung)
    assert dripped  # it did answer 200, and that is all a delivery needs
