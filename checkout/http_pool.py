"""Our outgoing HTTP connections: httpx, with a pool that does the same small work per request
however many connections it keeps.

httpcore's pool (httpx's default) walks every connection it holds on every request, and for
each idle one counts the idle ones again and asks its socket whether the server hung up (a
`poll` syscall): with the dozens of kept-alive connections a busy instance holds to its
acquirer, that bookkeeping cost more of our CPU than the request itself
(`bench/payment_cost.py`). Here each origin keeps a stack of idle connections: a request takes
the one used last, checking that one only, and gives it back once its answer is read.

Our clients keep no cookies (`CookielessClient`). One client carries the calls of every
merchant: a cookie that one merchant's webhook endpoint, or an acquirer answering one merchant's
call, set would go with the next merchant's calls to that host, and an endpoint setting a new
cookie on every answer would grow the jar without end. None of the APIs we call uses cookies;
reading every answer into the jar was also about a tenth of a call's CPU.

Under httpcore, the sockets are asyncio's own (`http_stream`), not anyio's.

Everything else is httpx's and httpcore's own: the request and response models, TLS,
timeouts, the HTTP/1.1 connection, the exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx

from checkout.http_stream import AsyncioBackend

_Key = tuple[bytes, bytes, int]  # an origin: scheme, host, port
_SOCKETS = AsyncioBackend()


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        pass  # an answer's Set-Cookie is never kept

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("this client keeps no cookies")


_NO_COOKIES = _NoCookies()


class CookielessClient(httpx.AsyncClient):
    """`httpx.AsyncClient` whose jar is always empty, so no request carries a cookie."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("this client keeps no cookies")


class LeanTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` on a `_Pool`: at most `max_connections` at once (a request
    past that waits up to its pool timeout), `max_idle_per_origin` kept alive for each host,
    each closed after `keepalive_expiry` seconds unused."""

    def __init__(self, *, max_connections: int, max_idle_per_origin: int,
                 keepalive_expiry: float = 5.0, ssl_context: ssl.SSLContext | None = None
                 ) -> None:
        super().__init__()
        self._pool = _Pool(  # type: ignore[assignment]
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=max_connections,
            max_idle_per_origin=max_idle_per_origin, keepalive_expiry=keepalive_expiry)


class _Pool:
    """What httpx's transport asks of httpcore's pool: handle a request, close."""

    def __init__(self, *, ssl_context: Any, max_connections: int, max_idle_per_origin: int,
                 keepalive_expiry: float) -> None:
        self._ssl_context = ssl_context
        self._slots = asyncio.Semaphore(max_connections)
        self._max_idle = max_idle_per_origin
        self._keepalive_expiry = keepalive_expiry
        self._idle: dict[_Key, list[httpcore.AsyncHTTPConnection]] = {}

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        await self._take_slot(request.extensions.get("timeout", {}).get("pool"))
        origin = request.url.origin
        key = (origin.scheme, origin.host, origin.port)
        conn: httpcore.AsyncHTTPConnection | None = None
        try:
            conn = await self._idle_connection(key)
            if conn is None:
                conn = httpcore.AsyncHTTPConnection(
                    origin=origin, ssl_context=self._ssl_context,
                    keepalive_expiry=self._keepalive_expiry, network_backend=_SOCKETS)
            response = await conn.handle_async_request(request)
        except BaseException:
            self._slots.release()
            if conn is not None:
                await _close(conn)
            raise
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_Answer(response.stream, self, key, conn),
                                 extensions=response.extensions)

    async def _take_slot(self, wait: float | None) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # returns at once, without a trip round the loop
            return
        try:
            async with asyncio.timeout(wait):
                await self._slots.acquire()
        except TimeoutError:
            raise httpcore.PoolTimeout("no connection came free in time") from None

    async def _idle_connection(self, key: _Key) -> httpcore.AsyncHTTPConnection | None:
        stack = self._idle.get(key)
        while stack:
            conn = stack.pop()  # the one used last: the likeliest to be alive
            if conn.is_available() and not conn.has_expired():
                return conn
            await _close(conn)
        return None

    async def give_back(self, key: _Key, conn: httpcore.AsyncHTTPConnection) -> None:
        self._slots.release()
        stack = self._idle.setdefault(key, [])
        if conn.is_idle() and len(stack) < self._max_idle:
            stack.append(conn)
        else:
            await _close(conn)

    async def aclose(self) -> None:
        for stack in self._idle.values():
            while stack:
                await _close(stack.pop())

    async def __aenter__(self) -> _Pool:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


class _Answer:
    """The response body; closing it gives the connection back to the pool."""

    def __init__(self, stream: Any, pool: _Pool, key: _Key,
                 conn: httpcore.AsyncHTTPConnection) -> None:
        self._stream, self._pool, self._key, self._conn = stream, pool, key, conn
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._stream.aclose()
        finally:
            await self._pool.give_back(self._key, self._conn)


async def _close(conn: httpcore.AsyncHTTPConnection) -> None:
    with contextlib.suppress(Exception):
        await conn.aclose()
