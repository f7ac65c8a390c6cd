"""A merchant's webhook must never reach inside our network (SSRF), even when its DNS answers
one address at registration and another at send time (rebinding), or smuggles a private IPv4
address inside an IPv6 form that Python's `is_global` accepts."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest

from checkout.notify import sender
from checkout.notify.addresses import UnsafeAddress, is_public, public_address
from checkout.settings import Settings


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.5", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "::1", "::", "fc00::1", "fe80::1", "ff02::1", "224.0.0.1",
    "64:ff9b::a00:1",        # NAT64 of 10.0.0.1
    "64:ff9b:1::a00:1",      # local-use NAT64
    "::ffff:127.0.0.1",      # IPv4-mapped
    "::127.0.0.1", "::a00:1",  # IPv4-compatible
    "2002:7f00:1::1",        # 6to4 of 127.0.0.1
    "2002:a00:1::1",         # 6to4 of 10.0.0.1
    "fec0::1", "feff::1",    # site-local (deprecated, but routed inside private networks)
    "3fff::1",               # documentation (RFC 9637)
    "5f00::1", "4000::1",    # outside global unicast 2000::/3
])
def test_private_addresses_in_every_form_are_refused(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public(address)


def test_python_alone_would_let_some_of_them_through() -> None:
    """Why the list above is ours: the standard library calls these global."""
    import ipaddress

    assert ipaddress.ip_address("2002:a00:1::1").is_global or \
        ipaddress.ip_address("64:ff9b::a00:1").is_global
    assert ipaddress.ip_address("fec0::1").is_global


def test_a_name_with_one_private_answer_among_public_ones_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.0.0.7"]
    with pytest.raises(UnsafeAddress):
        asyncio.run(public_address("shop.example", 443, resolver))


def test_delivery_checks_the_address_when_it_sends_and_connects_to_that_address() -> None:
    """Registration saw a public address; at send time DNS says 127.0.0.1. Nothing is sent
    there. When DNS says a public address, the request goes to that very address, with the
    Host header (and, over https, SNI and the certificate check) still on the name."""
    answers = {"n": 0}

    async def rebinding(host: str, port: int) -> list[str]:
        answers["n"] += 1
        return ["127.0.0.1"]

    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204, stream=httpx.ByteStream(b""))

    async def run() -> tuple[int, float | None]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
            with pytest.raises(UnsafeAddress):
                await sender.post(http, "https://shop.example/hook", b"{}", {}, deadline=2,
                                  max_answer_bytes=4096, resolver=rebinding)

            async def public(host: str, port: int) -> list[str]:
                return ["93.184.215.14"]
            return await sender.post(http, "https://shop.example:8443/hook", b"{}", {},
                                     deadline=2, max_answer_bytes=4096, resolver=public)
    code, _ = asyncio.run(run())
    assert answers["n"] == 1 and code == 204
    (request,) = seen  # nothing was sent while the name pointed inside
    assert request.url.host == "93.184.215.14" and request.url.port == 8443
    assert request.headers["host"] == "shop.example:8443"
    assert request.extensions["sni_hostname"] == "shop.example"


def test_production_deliveries_resolve_at_send_time_and_the_sandbox_does_not() -> None:
    from checkout.notify.delivery import DeliveryWorker

    production = replace(Settings(), mode="production")
    worker = DeliveryWorker(None, None, production)  # type: ignore[arg-type]
    assert worker._resolver is not None
    assert DeliveryWorker(None, None, Settings())._resolver is None  # type: ignore[arg-type]
