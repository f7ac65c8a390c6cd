"""Schemathesis hooks for `test_openapi_fuzz`.

The stateful phase plays a client chaining distinct operations (create, then read, delete…),
and such a client gives each new operation a fresh Idempotency-Key. Hypothesis, though, draws
the same small key and body again and again across scenarios ("H" six times in one run), and
our answer to a repeated key is, by design, the first answer replayed: a create repeated after
its endpoint was deleted gives the deleted endpoint's id back, and the next DELETE a 404, which
schemathesis then reads as "created resource not found" (ST302). So in that phase a key, when
one is sent, is made unique; the other phases still send every generated key as drawn, the
malformed ones included, and `test_idempotency` covers a repeated key itself.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from schemathesis.generation.meta import TestPhase


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}
    if case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL \
            and "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = f"stateful-{uuid.uuid4()}"
