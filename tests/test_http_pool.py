"""Our outgoing HTTP client and its connection pool (`checkout.http_pool`), against a real HTTP
server on loopback that counts the connections it is opened: reuse, the caps, servers that hang
up, and cookies never kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from checkout.http_pool import CookielessClient, LeanTransport


class Server:
    """HTTP/1.1 on a loopback port. Each answer says which connection (by number) carried
    it; `hang_up` closes a connection right after its answer, without saying so."""

    def __init__(self) -> None:
        self.opened = 0
        self.hang_up = False
        self.delay = 0.0
        self.heads: list[bytes] = []  # every request's head, as sent

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        number = self.opened
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                path = head.split(b" ")[1]
                await asyncio.sleep(self.delay)
                body = b"x" * 100_000 if path == b"/big" else str(number).encode()
                cookie = b"Set-Cookie: session=%d; Path=/\r\n" % len(self.heads) \
                    if path == b"/cookie" else b""
                writer.write(b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s"
                             % (cookie, len(body), body))
                await writer.drain()
                if self.hang_up:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def run(test: Callable[[Server, httpx.AsyncClient], Awaitable[None]], **limits: int) -> None:
    async def main() -> None:
        async with Server() as server, CookielessClient(transport=LeanTransport(
                max_connections=limits.get("max_connections", 100),
                max_idle_per_origin=limits.get("max_idle", 10))) as client:
            await test(server, client)
    asyncio.run(main())


def test_requests_one_after_another_share_one_connection() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        answers = [(await client.get(f"{server.url}/")).text for _ in range(20)]
        assert answers == ["1"] * 20
        assert server.opened == 1
    run(test)


def test_requests_at_once_open_connections_that_are_then_kept_up_to_the_cap() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        server.delay = 0.05
        await asyncio.gather(*(client.get(f"{server.url}/") for _ in range(8)))
        assert server.opened == 8
        server.delay = 0
        # Only three were kept: the next eight at once reuse those and open five more.
        await asyncio.gather(*(client.get(f"{server.url}/") for _ in range(8)))
        assert server.opened == 13
    run(test, max_idle=3)


def test_a_connection_the_server_closed_is_not_reused() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        server.hang_up = True
        for n in range(1, 6):
            assert (await client.get(f"{server.url}/")).text == str(n)
            await asyncio.sleep(0.02)  # the server's FIN arrives
        assert server.opened == 5
    run(test)


def test_past_the_connection_cap_a_request_waits_then_times_out() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        server.delay = 0.5
        first = asyncio.create_task(client.get(f"{server.url}/"))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx.PoolTimeout):
            await client.get(f"{server.url}/", timeout=httpx.Timeout(5, pool=0.1))
        assert (await first).status_code == 200
        # Once the first is answered its connection is free again, and serves the next.
        server.delay = 0
        assert (await client.get(f"{server.url}/", timeout=httpx.Timeout(5, pool=0.1))
                ).text == "1"
    run(test, max_connections=1)


def test_an_answer_left_unread_closes_its_connection_and_frees_its_place() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", f"{server.url}/big") as resp:
            async for _ in resp.aiter_raw(1024):
                break  # read a little, then leave
        assert (await client.get(f"{server.url}/", timeout=httpx.Timeout(5, pool=0.5))
                ).text == "2"
    run(test, max_connections=1)


def test_a_failed_connect_frees_its_place() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")  # nothing listens on the discard port
        assert (await client.get(f"{server.url}/", timeout=httpx.Timeout(5, pool=0.5))
                ).text == "1"
    run(test, max_connections=1)


def test_a_cookie_one_answer_sets_goes_with_no_later_request() -> None:
    """The client is shared by every merchant: what one host set for one merchant's call must
    not ride along with the next merchant's."""
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        for _ in range(3):
            answer = await client.get(f"{server.url}/cookie")
            assert answer.headers["set-cookie"].startswith("session=")
        await client.get(f"{server.url}/")
        assert len(server.heads) == 4
        assert not [head for head in server.heads if b"cookie:" in head.lower()]
        assert not client.cookies
        with pytest.raises(TypeError):
            client.cookies.set("session", "1")
    run(test)
