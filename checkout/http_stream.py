"""The sockets under our outgoing HTTP: httpcore's network backend, on asyncio itself.

httpcore runs on anyio when it finds asyncio. Each read and write then opens a cancel scope
for its timeout, looks up the running loop's backend and its task, and asks the socket through
typed attributes; that was a quarter of what a call to an acquirer cost us, beyond the syscalls
(`bench/payment_cost.py`). Here a connection is an asyncio protocol: the loop hands it what
arrives, a read waits on one future, a timeout is `asyncio.timeout`. Whether the server has
hung up on an idle connection is known without a syscall: the loop already delivered its
goodbye.

httpcore's interface (`AsyncNetworkBackend`, `AsyncNetworkStream`) and its exceptions are kept,
so httpx and httpcore above it are unchanged: TLS, HTTP/1.1, the pool's checks.
"""

# httpcore's interface takes each timeout as a parameter (ASYNC109 asks for a scope instead).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

# Past this much unread, the socket is not read until it is: a huge answer waits in the
# kernel, not in our memory.
_HIGH_WATER = 256 * 1024


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        # asyncio's own or uvloop's (which is not an `asyncio.Transport` subclass).
        self.transport: Any = None
        self._buffer = bytearray()
        self._eof = False
        self._lost: BaseException | None = None
        self._closed = False
        self._waiting: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None  # set while the kernel is full
        self._paused = False

    # -- asyncio's side --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > _HIGH_WATER and self.transport is not None and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._lost = exc
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def _wake(self) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(None)

    # -- httpcore's side -------------------------------------------------------------------

    async def read(self, max_bytes: int) -> bytes:
        while not self._buffer:
            if self._eof or self._closed:
                if self._lost is not None:
                    raise httpcore.ReadError(str(self._lost) or type(self._lost).__name__)
                return b""
            self._waiting = asyncio.get_running_loop().create_future()
            try:
                await self._waiting
            finally:
                self._waiting = None
        data = bytes(self._buffer[:max_bytes])
        del self._buffer[:max_bytes]
        if self._paused and len(self._buffer) <= _HIGH_WATER and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def write(self, data: bytes) -> None:
        if self._closed or self.transport is None or self.transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self.transport.write(data)
        if self._writable is not None:
            await self._writable
            if self._closed:
                raise httpcore.WriteError("the connection closed while writing")

    def readable(self) -> bool:
        return bool(self._buffer) or self._eof or self._closed


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, connection: _Connection) -> None:
        self._conn = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._conn.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("no answer in time") from None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._conn.write(buffer)
        except TimeoutError:
            raise httpcore.WriteTimeout("could not send in time") from None

    async def aclose(self) -> None:
        if self._conn.transport is not None:
            self._conn.transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        assert self._conn.transport is not None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                secure = await loop.start_tls(self._conn.transport, self._conn, ssl_context,
                                              server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("TLS handshake took too long") from None
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if secure is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._conn.transport = secure
        return self

    def get_extra_info(self, info: str) -> Any:
        transport = self._conn.transport
        if info == "is_readable":
            return self._conn.readable()
        if transport is None:
            return None
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, conn = await loop.create_connection(
                    _Connection, host, port,
                    local_addr=(local_address, 0) if local_address else None)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        for option in socket_options or ():
            transport.get_extra_info("socket").setsockopt(*option)
        return AsyncioStream(conn)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("our clients connect over TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
