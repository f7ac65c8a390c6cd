"""Our outgoing HTTP client, its connection pool (`checkout.http_pool`) and its sockets
(`checkout.http_stream`), against a real HTTP server on loopback that counts the connections it
is opened: reuse, the caps, servers that hang up or go quiet, TLS, big answers, and cookies
never kept. Each test runs on asyncio's own loop and on uvloop (the server's)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from checkout.http_pool import CookielessClient, LeanTransport

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
_loop = "asyncio"


@pytest.fixture(autouse=True, params=sorted(LOOPS))
def loop(request: pytest.FixtureRequest) -> Iterator[None]:
    global _loop
    _loop = request.param
    yield
    _loop = "asyncio"


class Server:
    """HTTP/1.1 on a loopback port. Each answer says which connection (by number) carried
    it; `hang_up` closes a connection right after its answer, without saying so; `/cut`
    promises more than it sends, then hangs up; `/huge` is 2 MB."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.opened = 0
        self.hang_up = False
        self.delay = 0.0
        self.heads: list[bytes] = []  # every request's head, as sent
        self._tls = tls

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"https://localhost:{port}" if self._tls else f"http://127.0.0.1:{port}"
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
                body = b"x" * 100_000 if path == b"/big" else b"y" * 2_000_000 \
                    if path == b"/huge" else str(number).encode()
                if path == b"/cut":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort")
                    await writer.drain()
                    break
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


def run(test: Callable[[Server, httpx.AsyncClient], Awaitable[None]], *,
        tls: tuple[ssl.SSLContext, ssl.SSLContext] | None = None, **limits: int) -> None:
    """`tls`: the server's context and the client's."""
    async def main() -> None:
        async with Server(tls[0] if tls else None) as server, CookielessClient(
                transport=LeanTransport(
                    max_connections=limits.get("max_connections", 100),
                    max_idle_per_origin=limits.get("max_idle", 10),
                    ssl_context=tls[1] if tls else None)) as client:
            await test(server, client)
    with asyncio.Runner(loop_factory=LOOPS[_loop]) as runner:
        runner.run(main())


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


def test_a_server_gone_quiet_is_a_read_timeout_and_the_next_request_still_works() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        server.delay = 1.0
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{server.url}/", timeout=0.2)
        server.delay = 0
        assert (await client.get(f"{server.url}/", timeout=5)).status_code == 200
        assert server.opened == 2  # the timed-out connection was not reused
    run(test, max_connections=1)


def test_an_answer_cut_short_is_an_error_not_a_short_body() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{server.url}/cut")
        assert (await client.get(f"{server.url}/")).status_code == 200
    run(test, max_connections=1)


def test_a_big_answer_arrives_whole_and_its_connection_is_reused() -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        for _ in range(2):
            assert (await client.get(f"{server.url}/huge")).content == b"y" * 2_000_000
        assert server.opened == 1
    run(test)


def test_a_tls_handshake_never_answered_is_a_connect_timeout(tmp_path: Path) -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # takes the connection, says nothing

        quiet = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = quiet.sockets[0].getsockname()[1]
        try:
            with pytest.raises(httpx.ConnectTimeout):
                await client.get(f"https://localhost:{port}/", timeout=0.3)
        finally:
            quiet.close()
        assert (await client.get(f"{server.url}/")).text == "1"
    run(test, tls=_tls(tmp_path))


def _certificate(tmp: Path) -> tuple[Path, Path, bytes]:
    """A self-signed certificate for the name localhost (not for 127.0.0.1): its file, its
    key's file, its PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp / "cert.pem").write_bytes(pem)
    (tmp / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return tmp / "cert.pem", tmp / "key.pem", pem


def _tls(tmp: Path, trusted: bool = True) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key, pem = _certificate(tmp)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cadata=pem.decode()) if trusted else \
        ssl.create_default_context()
    return server, client


def test_tls_is_verified_carried_and_reused(tmp_path: Path) -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        answers = [(await client.get(f"{server.url}/")).text for _ in range(5)]
        assert answers == ["1"] * 5
        assert (await client.get(f"{server.url}/huge")).content == b"y" * 2_000_000
        assert server.opened == 1
    run(test, tls=_tls(tmp_path))


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path: Path) -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{server.url}/")
    run(test, tls=_tls(tmp_path, trusted=False))


def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        by_address = server.url.replace("localhost", "127.0.0.1")  # not the certificate's name
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{by_address}/")
    run(test, tls=_tls(tmp_path))


def test_a_connection_to_an_address_checks_tls_against_the_name_given(tmp_path: Path) -> None:
    """How a merchant webhook goes out (`notify.sender`): to the address checked to be
    public, with SNI and the certificate check on the endpoint's host name."""
    async def test(server: Server, client: httpx.AsyncClient) -> None:
        by_address = server.url.replace("localhost", "127.0.0.1")
        answer = await client.get(f"{by_address}/", headers={"Host": "localhost"},
                                  extensions={"sni_hostname": "localhost"})
        assert answer.text == "1"
    run(test, tls=_tls(tmp_path))
