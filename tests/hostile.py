"""Merchant webhook endpoints that misbehave on purpose, on loopback ports in a thread:

- `drip`: answers `200` and then a byte of its body every half second, for ever;
- `hang`: reads the request and never answers;
- `flood`: answers `200` with a 100 MB body, as fast as the socket takes it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from tests.server import free_port

FLOOD_BYTES = 100 * 1024 * 1024
_CHUNK = b"x" * 65536


class HostileEndpoints:
    def __init__(self) -> None:
        self.ports = {kind: free_port() for kind in ("drip", "hang", "flood")}
        self.connections: Counter[str] = Counter()
        self.flood_sent = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.base_events.Server] = []

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.ports[kind]}/hook"

    def __enter__(self) -> HostileEndpoints:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        for kind, port in self.ports.items():
            handler = getattr(self, f"_{kind}")
            self._servers.append(await asyncio.start_server(
                self._counted(kind, handler), "127.0.0.1", port))

    def _counted(self, kind, handler):  # type: ignore[no-untyped-def]
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections[kind] += 1
            try:
                await reader.readuntil(b"\r\n\r\n")  # the request head; the body is small
                await handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass
            finally:
                writer.close()
        return serve

    async def _drip(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while True:
            await writer.drain()
            writer.write(b".")
            await asyncio.sleep(0.5)

    async def _hang(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    async def _flood(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {FLOOD_BYTES}\r\n\r\n".encode())
        sent = 0
        while sent < FLOOD_BYTES:
            writer.write(_CHUNK)
            await writer.drain()
            sent += len(_CHUNK)
            self.flood_sent += len(_CHUNK)
