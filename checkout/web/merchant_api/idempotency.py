"""`Idempotency-Key` for every merchant POST (IETF draft semantics).

Same key and same request → the stored answer, replayed; same key and another request → 422;
a second request while the first is still running → 409. Answers of 5xx are not kept, so a
retry after a temporary failure runs again (the acquirer calls under it carry keys of their own).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from checkout.errors import CheckoutError, Conflict, IdempotencyMismatch, InvalidRequest
from checkout.flow.context import FlowContext
from checkout.store import repo
from checkout.store.records import Merchant

MAX_KEY = 255
ABANDONED_AFTER = timedelta(minutes=2)  # a reservation older than this died with its process


def request_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and (not 0 < len(key) <= MAX_KEY or
                            not all(" " <= c <= "~" for c in key)):
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII "
                             "characters", status=400)
    return key


def fingerprint(request: Request, doc: Any) -> str:
    """The request's identity: method, path and the body's JSON in canonical form."""
    canon = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canon}".encode()).hexdigest()


def json_response(status: int, body: str) -> Response:
    media = "application/problem+json" if status >= 400 else "application/json"
    return Response(body, status_code=status, media_type=media)


async def run_once(request: Request, merchant: Merchant, doc: Any,
                   handler: Callable[[], Awaitable[tuple[int, Any]]]) -> Response:
    key = request_key(request)
    if key is None:
        status, answer = await handler()
        return json_response(status, json.dumps(answer, ensure_ascii=False))
    ctx: FlowContext = request.app.state.flow
    digest = fingerprint(request, doc)
    async with ctx.db.transaction() as conn:
        seen = await repo.idempotent_answer(conn, merchant.id, key)
        if seen is not None and seen[1] == 0 and seen[0] == digest and \
                ctx.now() - seen[3] > ABANDONED_AFTER:
            # Its first run died with its process: let this retry run it again.
            await repo.release_idempotency_key(conn, merchant_id=merchant.id, key=key)
            seen = None
        if seen is None:
            if not await repo.reserve_idempotency_key(conn, merchant_id=merchant.id, key=key,
                                                      request_hash=digest, now=ctx.now()):
                raise Conflict("a request with this Idempotency-Key is in progress")
    if seen is not None:
        if seen[0] != digest:
            raise IdempotencyMismatch(
                "this Idempotency-Key was first used with a different request")
        if seen[1] == 0:
            raise Conflict("a request with this Idempotency-Key is in progress; retry later")
        return json_response(seen[1], seen[2])
    try:
        status, answer = await handler()
        body = json.dumps(answer, ensure_ascii=False)
    except CheckoutError as err:
        if err.status >= 500:
            async with ctx.db.transaction() as conn:
                await repo.release_idempotency_key(conn, merchant_id=merchant.id, key=key)
            raise
        problem = err.problem()
        problem["instance"] = request.url.path
        status, body = err.status, json.dumps(problem, ensure_ascii=False)
    except BaseException:
        async with ctx.db.transaction() as conn:
            await repo.release_idempotency_key(conn, merchant_id=merchant.id, key=key)
        raise
    async with ctx.db.transaction() as conn:
        await repo.settle_idempotency_key(conn, merchant_id=merchant.id, key=key,
                                          status_code=status, body=body)
    return json_response(status, body)
