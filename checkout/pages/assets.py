"""Static assets: fingerprinted URLs, cached for a year, compressed once, bundled.

`asset("checkout.js")` gives `/static/checkout.js?v=<hash of its bytes>`: a changed file gets a
new URL, so browsers may keep every version forever. The files are read, hashed and gzipped
once, at start-up, and served from memory: gzipping htmx again for every first-time buyer was
2 ms of CPU a request, more than the buyer's whole status poll. A file changed on disk is seen
at the next start, as its fingerprint always was.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from checkout.settings import ROOT

STATIC = ROOT / "static"
A_YEAR = 365 * 24 * 3600
MIN_GZIP_BYTES = 512  # below this, gzip's header outweighs what it saves


HTMX_FILE = "htmx-2.0.11.min.js"
# Files served as one as well: every page on `base.html` needs htmx and our script, and a
# first-time buyer's browser then asks once for both. A request in costs the instance about
# three bare requests of CPU (`bench/payment_profile.py`), and a phone one more round trip.
# (Our script is a strict-mode IIFE: it means the same after another script.)
BUNDLES = {"checkout.bundle.js": (HTMX_FILE, "checkout.js")}


def _files(directory: Path) -> dict[str, bytes]:
    """Each file by name, and each bundle of them."""
    files = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}
    for name, parts in BUNDLES.items():
        if all(part in files for part in parts):
            # `;` between: a part whose last statement has no semicolon cannot run on.
            files[name] = b"\n;\n".join(files[part] for part in parts)
    return files


def fingerprints(directory: Path = STATIC) -> dict[str, str]:
    return {name: hashlib.sha256(body).hexdigest()[:12]
            for name, body in _files(directory).items()}


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _load(name: str, body: bytes) -> _Asset:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in ("application/javascript",
                                                        "image/svg+xml"):
        media_type += "; charset=utf-8"
    squeezed = gzip.compress(body, compresslevel=9, mtime=0)
    return _Asset(body, squeezed if len(body) >= MIN_GZIP_BYTES and len(squeezed) < len(body)
                  else None, media_type, f'"{hashlib.sha256(body).hexdigest()[:16]}"')


class StaticAssets:
    """GET and HEAD of the files in one folder (no subfolders), with ETag revalidation."""

    def __init__(self, directory: Path = STATIC) -> None:
        self.assets = {name: _load(name, body) for name, body in _files(directory).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        asset = self.assets.get(scope["path"].removeprefix(scope.get("root_path", ""))
                                .lstrip("/"))
        if asset is None:
            raise HTTPException(404)
        fingerprinted = b"v=" in scope.get("query_string", b"")
        headers = {"Cache-Control": f"public, max-age={A_YEAR}, immutable" if fingerprinted
                   else "no-cache", "ETag": asset.etag, "Vary": "Accept-Encoding"}
        request_headers = Headers(scope=scope)
        if asset.etag in request_headers.get("if-none-match", ""):
            await Response(status_code=304, headers=headers)(scope, receive, send)
            return
        body = asset.body
        if asset.gzipped is not None and "gzip" in request_headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        response = Response(body if scope["method"] == "GET" else b"", headers=headers,
                            media_type=asset.media_type)
        if scope["method"] == "HEAD":
            response.headers["Content-Length"] = str(len(body))
        await response(scope, receive, send)


def static_app() -> ASGIApp:
    return StaticAssets()
