"""An emulated acquirer retries its webhooks as the real one does: Bank 131 "at growing
intervals" until answered 200, not a fixed number of times."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from checkout.sandbox.faults import FaultBook
from checkout.sandbox.outbound import Outbound, _Journal


def test_a_webhook_is_retried_at_growing_intervals_until_answered() -> None:
    seen: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(asyncio.get_event_loop().time())
        return httpx.Response(200 if len(seen) > 9 else 503)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            out = Outbound("bank131", client, FaultBook(), None, first_delay=0.01,
                           max_delay=0.08)
            out.send("http://partner.test/webhooks", b"{}", {}, event="payment_finished",
                     subject="ps_1", meta={})
            for _ in range(400):
                await asyncio.sleep(0.01)
                if len(seen) >= 10:
                    break
            await out.close()

    asyncio.run(run())
    assert len(seen) == 10  # nine refusals, then the tenth is answered 200: no more
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    assert gaps[3] > gaps[0] * 2  # growing
    assert max(gaps) < 0.3  # up to the cap


def test_a_webhook_owed_when_the_bank_stops_is_sent_when_it_is_back(tmp_path: Path) -> None:
    """Killed or stopped between two tries, the emulated bank still owes the webhook: it sends
    it when it starts again (a real bank's retries outlive its restarts), and only once it is
    answered is it owed no more."""
    journal = tmp_path / "bank131-webhooks.db"
    seen: list[bytes] = []
    refusing = True

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(503 if refusing else 200)

    async def run() -> int:
        nonlocal refusing
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            first = Outbound("bank131", client, FaultBook(), None, first_delay=0.05,
                             journal=journal)
            first.send("http://partner.test/webhooks", b'{"n": 1}', {"X": "y"},
                       event="action_required", subject="ps_1", meta={})
            first.send("http://partner.test/webhooks", b'{"n": 2}', {}, event="payment_finished",
                       subject="ps_2", meta={})
            for _ in range(200):
                await asyncio.sleep(0.01)
                if len(seen) >= 3:  # both refused at least once
                    break
            await first.close()  # as the bank goes down, before anyone answered 200
            refusing = False
            again = Outbound("bank131", client, FaultBook(), None, first_delay=0.05,
                             journal=journal)
            resumed = again.resume()
            for _ in range(200):
                await asyncio.sleep(0.01)
                if seen.count(b'{"n": 1}') and seen.count(b'{"n": 2}') and \
                        not _Journal(journal).owed():
                    break
            await again.close()
            return resumed

    assert asyncio.run(run()) == 2
    assert not _Journal(journal).owed()  # answered: owed no more, not sent a third time on


def test_one_payments_webhooks_go_out_in_the_order_they_happened() -> None:
    """Two webhooks about one payment, queued a moment apart, once raced each other to the
    merchant (T-Bank's CONFIRMED came after PARTIAL_REFUNDED). The second now waits for the
    first's answer; another payment's waits for nothing."""
    log: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        n = request.content.decode()
        log.append(f"got {n}")
        if n == "1":
            await asyncio.sleep(0.3)  # a slow merchant
        log.append(f"answered {n}")
        return httpx.Response(200)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            out = Outbound("tbank", client, FaultBook(), first_delay=0.01)
            for n, subject in (("1", "p1"), ("2", "p1"), ("3", "p2")):
                out.send("http://shop.test/n", n.encode(), {}, event="notification",
                         subject=subject, meta={})
            for _ in range(200):
                await asyncio.sleep(0.01)
                if "answered 1" in log and "answered 2" in log:
                    break
            await out.close()

    asyncio.run(run())
    assert log.index("got 2") > log.index("answered 1"), log
    assert log.index("got 3") < log.index("answered 1"), log  # another payment: not held


def test_a_refused_webhook_holds_up_the_next_only_for_its_first_try() -> None:
    """A merchant refusing one webhook gets it again later, and the payment's next news
    meanwhile: the order of first tries is kept, retries do not block."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.content.decode())
        return httpx.Response(503 if request.content == b"1" else 200)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            out = Outbound("bank131", client, FaultBook(), first_delay=0.2)
            out.send("http://shop.test/n", b"1", {}, event="a", subject="ps_1", meta={})
            out.send("http://shop.test/n", b"2", {}, event="b", subject="ps_1", meta={})
            for _ in range(100):
                await asyncio.sleep(0.01)
                if seen.count("1") >= 2:
                    break
            await out.close()

    asyncio.run(run())
    assert seen[:3] == ["1", "2", "1"], seen
