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
