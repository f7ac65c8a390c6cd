"""Static assets: fingerprinted URLs, cached for a year, compressed on the wire.

`asset("checkout.js")` gives `/static/checkout.js?v=<hash of its bytes>`: a changed file gets a
new URL, so browsers may keep every version forever. The hashes are taken once, at start-up.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from checkout.settings import ROOT

STATIC = ROOT / "static"
A_YEAR = 365 * 24 * 3600


def fingerprints(directory: Path = STATIC) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in directory.iterdir() if p.is_file()}


class _CachedStatic(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            fingerprinted = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = (
                f"public, max-age={A_YEAR}, immutable" if fingerprinted else "no-cache")
        return response


def static_app() -> ASGIApp:
    return GZipMiddleware(_CachedStatic(directory=str(STATIC)), minimum_size=512)
