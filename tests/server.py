"""A real checkout server on a loopback port, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from typing import Any

import uvicorn

from checkout.app import create_app
from checkout.settings import Settings


def free_port() -> int:
    """A port free now, for another process to bind (it may be taken meanwhile: see
    `held_port` for servers in this process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Ports bound by `held_port`, until the LiveServer for them serves on the very socket.
_HELD: dict[int, socket.socket] = {}


def held_port() -> int:
    """A port bound here from now on, so nothing else (the other test worker, a browser) can
    take it between choosing it and serving on it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    _HELD[port] = s
    return port


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.public_url
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app: Any = None

    def start(self) -> LiveServer:
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.settings.port,
                                log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        held = _HELD.pop(self.settings.port, None)
        if held is not None:
            held.listen(2048)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[held] if held is not None else None),
            daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    @property
    def loop(self) -> Any:
        """The server's event loop (to make it busy, as a saturated instance's is)."""
        assert self._server is not None and self._server.servers
        return self._server.servers[0].get_loop()

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=30)


def settings_for(data_dir: Any, database_url: str, **overrides: Any) -> Settings:
    port = held_port()
    # No shedding past capacity (`overload_delay_ms=0`): the server shares its process, and its
    # GIL, with the test driving it, so a busy test would make it look saturated and refuse
    # the test's own payments. `tests/test_overload.py` turns it on where it is the subject.
    base = Settings(public_url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir,
                    database_url=database_url, reconcile_interval_seconds=0.5,
                    poll_interval_seconds=0.5, return_delay_seconds=2, overload_delay_ms=0)
    return replace(base, **overrides)
