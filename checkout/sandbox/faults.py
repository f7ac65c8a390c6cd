"""Fault injection for the sandbox's acquirers: what goes wrong, for whom, how often.

A fault is aimed at one acquirer (or all), one API operation (or all), and one merchant or one
payment (or everyone), found through the metadata our drivers send and the acquirer echoes.
Tests and demos set them over HTTP (`/sandbox/faults`), exactly as an operator would.

API faults, as a partner sees them:
    error      the call is refused with a 5xx and nothing happens
    lost       the call takes effect, but the answer is a gateway's 504 (no JSON)
    malformed  the call takes effect, but the answer is not the acquirer's JSON
    deep       the call takes effect, but the answer is JSON nested 50,000 levels deep
    timeout    the call takes effect, the answer comes `seconds` late (past our timeout)
    internal   the call takes effect, but the answer is the acquirer's own "internal error"
               (T-Bank: ErrorCode 9999 with HTTP 200; elsewhere a 500 of its JSON)
Webhook faults:
    drop       the webhook is never sent
    delay      it is sent `seconds` late
    duplicate  it is sent twice
    reorder    it is held back and sent after the next webhook for the same payment
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

API_KINDS = frozenset({"error", "lost", "malformed", "deep", "timeout", "internal"})
WEBHOOK_KINDS = frozenset({"drop", "delay", "duplicate", "reorder"})


@dataclass
class Fault:
    kind: str
    acquirer: str = "*"
    operation: str = "*"  # the acquirer's own name for the call, e.g. "session/capture"
    merchant_id: str = ""
    payment_id: str = ""
    times: int = 1  # how many calls or webhooks it hits; 0: until cleared
    seconds: float = 0.0
    id: int = 0

    def matches(self, acquirer: str, operation: str, meta: dict[str, Any]) -> bool:
        return (self.acquirer in ("*", acquirer)
                and self.operation in ("*", operation)
                and (not self.merchant_id or meta.get("merchant_id") == self.merchant_id)
                and (not self.payment_id or meta.get("payment_id") == self.payment_id))


class FaultError(ValueError):
    pass


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, doc: Any) -> Fault:
        if not isinstance(doc, dict):
            raise FaultError("a fault is a JSON object")
        known = set(Fault.__dataclass_fields__) - {"id"}
        unknown = set(doc) - known
        if unknown:
            raise FaultError(f"unknown fields: {', '.join(sorted(unknown))}")
        try:
            fault = Fault(**doc)
        except TypeError as exc:
            raise FaultError(str(exc)) from exc
        if fault.kind not in API_KINDS | WEBHOOK_KINDS:
            raise FaultError(f"kind must be one of {', '.join(sorted(API_KINDS | WEBHOOK_KINDS))}")
        if not isinstance(fault.times, int) or fault.times < 0 or \
                not isinstance(fault.seconds, int | float) or not 0 <= fault.seconds <= 600:
            raise FaultError("times must be ≥ 0 and seconds within 0..600")
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def listed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, kinds: frozenset[str], acquirer: str, operation: str,
             meta: dict[str, Any]) -> Fault | None:
        """The first fault of `kinds` aimed at this call, used up once."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(acquirer, operation, meta):
                    if fault.times:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None
