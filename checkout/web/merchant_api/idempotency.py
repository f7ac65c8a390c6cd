"""The HTTP side of `Idempotency-Key`: read the header, name the request, send the answer.

What the key guarantees is the flow's (`checkout.flow.idempotency`); every POST goes there.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from checkout import jsonwire
from checkout.errors import InvalidRequest
from checkout.flow import idempotency
from checkout.flow.context import FlowContext
from checkout.store.records import Merchant

MAX_KEY = 255


def read_json(raw: bytes, *, empty_ok: bool = False) -> Any:
    if empty_ok and not raw.strip():
        return {}
    try:
        return jsonwire.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("the body is not valid JSON", status=400) from exc


def request_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and (not 0 < len(key) <= MAX_KEY or
                            not all(" " <= c <= "~" for c in key)):
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII "
                             "characters", status=400)
    return key


def fingerprint(request: Request, doc: Any) -> str:
    """The request's identity: method, path and the body's JSON in canonical form (the same
    JSON in another key order is the same request)."""
    canon = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canon}".encode()).hexdigest()


def json_response(status: int, body: str) -> Response:
    media = "application/problem+json" if status >= 400 else "application/json"
    return Response(body, status_code=status, media_type=media)


def json_answer(status: int, obj: Any) -> Response:
    return json_response(status, json.dumps(obj, ensure_ascii=False))


async def answer_once(request: Request, merchant: Merchant, doc: Any,
                      action: idempotency.Action, *, secret: bool = False) -> Response:
    """Run the use case under the request's key (if it has one) and send what it answered
    (`secret`: the answer carries a secret, kept sealed for a replay)."""
    key = request_key(request)
    once = None if key is None else idempotency.Once(
        merchant_id=merchant.id, key=key, request_hash=fingerprint(request, doc),
        path=request.url.path)
    ctx: FlowContext = request.app.state.flow
    answer = await idempotency.run_once(ctx, once, action, secret=secret)
    return json_response(answer.status, answer.body)
