"""An emulated acquirer retries its webhooks as the real one does: Bank 131 "at growing
intervals" until answered 200, not a fixed number of times."""

from __future__ import annotations

import asyncio

import httpx

from checkout.sandbox.faults import FaultBook
from checkout.sandbox.outbound import Outbound


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
