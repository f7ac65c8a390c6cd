"""One webhook POST, bounded: one deadline for all of it, a few KB of the answer at most, and
(in production) the connection made to the very address that was checked to be public.

A merchant's endpoint is untrusted. Per-read timeouts let one that drips a byte every half
second hold a request for ever, and reading its whole answer lets one that sends 100 MB take
that much memory; only the status code matters here. Checking the host only when it is
registered lets DNS answer differently at send time (rebinding): so the host is resolved and
checked on every send, and the request goes to that address, with the Host header and TLS
(SNI and certificate checks) still on the host name.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from checkout.notify.addresses import Resolver, public_address

DEFAULT_PORTS = {"http": 80, "https": 443}
# After the status, at most this long is spent reading what else the endpoint says.
DRAIN_SECONDS = 0.5


async def post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], *,
               deadline: float, max_answer_bytes: int,
               resolver: Resolver | None) -> tuple[int, float | None]:
    """POST `body` to `url`; the answer's status code and its Retry-After seconds.

    Raises `TimeoutError` when no status came within the deadline, `httpx.HTTPError` on a
    network failure, `UnsafeAddress` when the host resolves to an address we must not reach
    (only checked when a `resolver` is given)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline
    async with asyncio.timeout_at(until):
        target = httpx.URL(url)
        headers = dict(headers)
        extensions: dict[str, object] = {}
        if resolver is not None:
            host, port = target.host, target.port or DEFAULT_PORTS.get(target.scheme, 443)
            address = await public_address(host, port, resolver)
            headers["Host"] = target.netloc.decode("ascii")
            if target.scheme == "https":
                extensions["sni_hostname"] = host
            target = target.copy_with(host=address)
        async with http.stream("POST", target, content=body, headers=headers,
                               extensions=extensions, timeout=deadline) as resp:
            # The status is the answer. A short body is still read, so that the connection
            # can serve the next delivery; a long or slow one is cut (the connection closes).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(min(until - 0.01, loop.time() + DRAIN_SECONDS)):
                    seen = 0
                    async for chunk in resp.aiter_raw():
                        seen += len(chunk)
                        if seen >= max_answer_bytes:
                            break
            retry_after = resp.headers.get("retry-after", "")
            return resp.status_code, float(retry_after) if retry_after.isdigit() else None
