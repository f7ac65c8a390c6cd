"""Cross-cutting HTTP protections, as plain ASGI middleware: headers and a body-size cap."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checkout.errors import PayloadTooLarge

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
       "frame-ancestors 'none'")


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:(\d{1,5}|\*))?$")


def csp_for_merchant(embed_origins: tuple[str, ...], logo_origin: str = "") -> str:
    """The CSP of a merchant's checkout page: framed only by its embed origins, and showing
    its logo from the logo's origin."""
    allowed = " ".join(o for o in embed_origins if _ORIGIN.match(o)) or "'none'"
    csp = CSP.replace("frame-ancestors 'none'", f"frame-ancestors {allowed}")
    if logo_origin and _ORIGIN.match(logo_origin):
        csp = csp.replace("img-src 'self' data:", f"img-src 'self' data: {logo_origin}")
    return csp


class SecurityHeaders:
    """The security headers every response gets unless it set its own (a merchant's checkout
    page sets its own CSP). Every response passes here, so the work is done once, up front:
    the raw header pairs are built at start, and a response's own names are read in one pass."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        defaults = [(b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer")]
        if https:
            defaults.append((b"strict-transport-security", b"max-age=31536000"))
        self._defaults = defaults
        # Older browsers know only this; a page some merchant may frame sets its own
        # frame-ancestors, which X-Frame-Options cannot express.
        self._deny = (b"x-frame-options", b"DENY")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                own = {name.lower(): value for name, value in headers}
                headers += [pair for pair in self._defaults if pair[0] not in own]
                csp = own.get(b"content-security-policy", self._defaults[0][1])
                if b"frame-ancestors 'none'" in csp and b"x-frame-options" not in own:
                    headers.append(self._deny)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    await _too_large(send, self.max_bytes)
                    return
                has_body = value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:  # most requests (every poll): nothing to count
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(f"request bodies are limited to {self.max_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


class RejectNul:
    """A NUL in the path or query is never meaningful here, and PostgreSQL refuses it in text:
    answer 400 at the door rather than fail deeper."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or
                                        b"%00" in scope["query_string"].lower() or
                                        b"\x00" in scope["query_string"]):
            body = json.dumps({"type": "https://tpay-checkout.dev/problems/invalid-request",
                               "title": "The request is not valid", "status": 400,
                               "detail": "NUL characters are not allowed in URLs"}).encode()
            await send({"type": "http.response.start", "status": 400, "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


class _TooLarge(PayloadTooLarge):
    """Raised while a handler reads the body: the app's error handlers answer 413."""


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({
        "type": "https://tpay-checkout.dev/problems/payload-too-large",
        "title": "Request body too large", "status": 413,
        "detail": f"request bodies are limited to {limit} bytes",
    }).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
