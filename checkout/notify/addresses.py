"""Which addresses a merchant's webhook may reach: public unicast ones only (no SSRF).

Python's `is_global` is not enough on its own: it accepts some forms that smuggle a private
IPv4 address inside an IPv6 one (NAT64's well-known prefix, 6to4, IPv4-compatible and -mapped
addresses), so those prefixes are refused outright. And it calls global what is not unicast
on the internet: the deprecated site-local `fec0::/10` (a private network's, as `10/8` is),
and prefixes outside global unicast. So an IPv6 address must be global unicast (`2000::/3`),
not documentation's `3fff::/20`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

_SMUGGLING = tuple(ipaddress.ip_network(n) for n in (
    "64:ff9b::/96",    # NAT64 well-known prefix: the low 32 bits are any IPv4 address
    "64:ff9b:1::/48",  # local-use NAT64
    "::/96",           # IPv4-compatible (deprecated), also ::1 and ::
    "::ffff:0:0/96",   # IPv4-mapped
    "2002::/16",       # 6to4: the next 32 bits are an IPv4 address
))


_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")  # RFC 4291: every other prefix is not
_DOCUMENTATION_V6 = ipaddress.ip_network("3fff::/20")  # RFC 9637, inside 2000::/3


class UnsafeAddress(Exception):
    """The host resolves to an address a webhook must not reach."""


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and (
            ip not in _GLOBAL_UNICAST or ip in _DOCUMENTATION_V6
            or any(ip in net for net in _SMUGGLING)):
        return False
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:  # the default `Resolver`
    """Every address `host` resolves to, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def public_address(host: str, port: int, resolver: Resolver = resolve) -> str:
    """The address to connect to for `host` (at send time)."""
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise UnsafeAddress(f"cannot resolve {host}") from exc
    return first_public(host, addresses)


def resolve_now(host: str, port: int) -> str:
    """`public_address` without an event loop (registering an endpoint from the CLI)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeAddress(f"cannot resolve {host}") from exc
    return first_public(host, list(dict.fromkeys(str(info[4][0]) for info in infos)))


def first_public(host: str, addresses: list[str]) -> str:
    """Refused unless every address `host` resolved to is public, so that a name with one
    private answer among public ones cannot be aimed inside; else the first of them."""
    if not addresses:
        raise UnsafeAddress(f"{host} resolves to no address")
    for address in addresses:
        if not is_public(address):
            raise UnsafeAddress(f"{host} resolves to a non-public address")
    return addresses[0]
