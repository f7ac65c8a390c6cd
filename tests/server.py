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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=30)


def settings_for(data_dir: Any, database_url: str, **overrides: Any) -> Settings:
    port = free_port()
    base = Settings(public_url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir,
                    database_url=database_url, reconcile_interval_seconds=0.5,
                    poll_interval_seconds=0.5, return_delay_seconds=2)
    return replace(base, **overrides)
