"""A merchant's webhook receiver on a loopback port, verifying with `standardwebhooks`."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.server import free_port


@dataclass
class Receipt:
    headers: dict[str, str]
    body: bytes
    verified: dict[str, Any] | None


@dataclass
class Receiver:
    secret: str
    # What to answer, in turn: an HTTP status, or ("sleep", seconds). Then 200 forever.
    script: list[Any] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    # While set, every delivery is answered 503 (the merchant's site is down).
    down: bool = False

    def __post_init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        try:  # no secret yet (it comes with the endpoint's creation): nothing verifies
            verified = Webhook(self.secret).verify(body, dict(request.headers)) \
                if self.secret else None
        except WebhookVerificationError:
            verified = None
        self.receipts.append(Receipt(dict(request.headers), body, verified))
        if self.down:
            return Response(status_code=503)
        step = self.script.pop(0) if self.script else 200
        if isinstance(step, tuple):
            await asyncio.sleep(step[1])
            return Response(status_code=200)
        return Response(status_code=step)

    def __enter__(self) -> Receiver:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
