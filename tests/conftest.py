"""Fixtures: every server-level test runs against SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from checkout.sandbox.registry import DEMO_API_KEY
from tests.browsers import CHROMIUM, FLAGS
from tests.postgres import TempPostgres
from tests.server import LiveServer, settings_for


@pytest.fixture(scope="session")
def postgres() -> Iterator[TempPostgres]:
    pg = TempPostgres()
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'checkout.db'}"
    pg: TempPostgres = request.getfixturevalue("postgres")
    return pg.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def make_server(tmp_path: Path, database_url: str) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        server = LiveServer(settings_for(tmp_path / "data", database_url, **overrides)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., LiveServer], request: pytest.FixtureRequest) -> LiveServer:
    marker = request.node.get_closest_marker("server_settings")
    return make_server(**(marker.kwargs if marker else {}))


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=15,
                      headers={"Authorization": f"Bearer {DEMO_API_KEY}"}) as client:
        yield client


@pytest.fixture
def browser_client(server: LiveServer) -> Iterator[httpx.Client]:
    """A buyer's browser without JavaScript: no API key, follows no redirects by itself."""
    with httpx.Client(base_url=server.url, timeout=15) as client:
        yield client


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def iphone(playwright: Playwright) -> dict[str, Any]:
    return dict(playwright.devices["iPhone 13"])
