"""`Idempotency-Key`: every merchant POST, from the API or the console, runs through `run_once`.

Same key and same request → the stored answer, replayed; same key and another request → 422;
a second request while the first still runs → 409. An answer of 5xx is not kept, so a retry
after a temporary failure runs again: the use cases under it are safe to repeat (the acquirer
calls carry keys of their own, and a capture, cancel or refund asked again finds the one it
already made). A use case that creates something keeps its answer in the very transaction that
creates it (`Claim.keep`), so no crash can leave the thing made and the key free.

A reservation belongs to the instance running it: one that restarts frees its own at once
(`release_all_of`); another's is taken over once it is older than `FlowContext.work_lease`,
the lease background jobs hold their claims for too.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from checkout.errors import CheckoutError, Conflict, IdempotencyMismatch, TryAgain
from checkout.flow.context import FlowContext
from checkout.store import idempotency as keys
from checkout.store.db import Conn


@dataclass(frozen=True)
class Once:
    """A merchant's request under an Idempotency-Key."""

    merchant_id: str
    key: str
    request_hash: str  # the method, path and canonical body: what makes it "the same request"
    path: str  # where it was sent: the `instance` of a problem answer


@dataclass(frozen=True)
class Answer:
    """What a request ended with, as first given: a status and the JSON text of its body."""

    status: int
    body: str


class Claim:
    """The running request's hold on its key."""

    def __init__(self, once: Once) -> None:
        self.once = once
        self.kept: Answer | None = None

    async def keep(self, conn: Conn, status: int, obj: Any) -> None:
        """Store the answer inside the caller's transaction, with what it made (whether it
        was kept is then the database's to say: only if that transaction committed)."""
        body = _text(obj)
        await keys.settle(conn, merchant_id=self.once.merchant_id, key=self.once.key,
                          status_code=status, body=body)
        self.kept = Answer(status, body)


# The use case: given the claim (None without a key), returns (status, answer object).
Action = Callable[[Claim | None], Awaitable[tuple[int, Any]]]


async def run_once(ctx: FlowContext, once: Once | None, action: Action, *,
                   secret: bool = False) -> Answer:
    """`secret`: the answer carries a secret shown once (a webhook signing secret): it is kept
    sealed by the vault, so that a retry replays it and the database never has it in clear."""
    if once is None:
        status, obj = await action(None)
        return Answer(status, _text(obj))
    replay = await _reserve(ctx, once)
    if replay is not None:
        return replay
    claim = Claim(once)
    try:
        status, obj = await action(claim)
    except CheckoutError as err:
        if err.status < 500 and not isinstance(err, TryAgain):
            problem = err.problem()
            problem["instance"] = once.path
            async with ctx.db.transaction() as conn:
                # Not over an answer kept with what the request made: that one is the replay.
                if await keys.settle(conn, merchant_id=once.merchant_id, key=once.key,
                                     status_code=err.status, body=_text(problem),
                                     only_running=True):
                    return Answer(err.status, _text(problem))
        await _release(ctx, once)  # a kept answer stays (only a reservation is released)
        raise
    except BaseException:
        await _release(ctx, once)
        raise
    body = _text(obj)
    if claim.kept == Answer(status, body) and not secret:
        return claim.kept  # stored with what the request made, in its own transaction
    async with ctx.db.transaction() as conn:
        await keys.settle(conn, merchant_id=once.merchant_id, key=once.key, status_code=status,
                          body=ctx.vault.seal(body) if secret else body)
    return Answer(status, body)


async def _reserve(ctx: FlowContext, once: Once) -> Answer | None:
    now = ctx.now()
    async with ctx.db.transaction() as conn:
        if await keys.reserve(conn, merchant_id=once.merchant_id, key=once.key,
                              request_hash=once.request_hash,
                              owner=ctx.settings.instance_name, now=now):
            return None  # a new key: the common case, one statement
        seen = await keys.record(conn, once.merchant_id, once.key)
        if seen is None:  # deleted between the two (it expired): the client retries
            raise Conflict("a request with this Idempotency-Key is in progress")
        if seen.request_hash != once.request_hash:
            raise IdempotencyMismatch(
                "this Idempotency-Key was first used with a different request")
        if not seen.running:  # a sealed answer is opened; a JSON one is left as it is
            return Answer(seen.status_code, ctx.vault.open(seen.body))
        # Its first run died with its process: this retry runs it again.
        if now - seen.created_at > ctx.work_lease and await keys.take_over(
                conn, merchant_id=once.merchant_id, key=once.key, seen=seen.created_at,
                owner=ctx.settings.instance_name, now=now):
            return None
    raise Conflict("a request with this Idempotency-Key is in progress; retry later")


async def _release(ctx: FlowContext, once: Once) -> None:
    async with ctx.db.transaction() as conn:
        await keys.release(conn, merchant_id=once.merchant_id, key=once.key)


def _text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
