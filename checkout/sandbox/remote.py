"""A sandbox served by another process: several checkout instances share one set of emulators.

The host (`checkout serve` in sandbox mode) hands out its endpoints and public sandbox keys at
`/sandbox/credentials`; an instance with `CHECKOUT_SANDBOX_URL` reads them there at start-up
and runs no emulator of its own, exactly as a production instance runs none.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx

from checkout.settings import ConfigError


def to_wire(endpoints: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v
                   for k, v in conf.items()} for name, conf in endpoints.items()}


def from_wire(doc: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {k: base64.b64decode(v) if k.endswith("_pem") else v
                   for k, v in conf.items()} for name, conf in doc.items()}


async def fetch_endpoints(http: httpx.AsyncClient, sandbox_url: str,
                          wait_seconds: float = 60.0) -> dict[str, dict[str, Any]]:
    """The shared sandbox's endpoints; waits for the host while it starts."""
    url = sandbox_url.rstrip("/") + "/sandbox/credentials"
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        try:
            resp = await http.get(url, timeout=5)
            if resp.status_code == 200:
                return from_wire(resp.json())
            problem = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        if asyncio.get_running_loop().time() > deadline:
            raise ConfigError(f"the sandbox at {url} did not answer ({problem})")
        await asyncio.sleep(0.5)
