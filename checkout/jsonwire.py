"""JSON from outside (a merchant, an acquirer, a buyer's browser), parsed safely.

The standard parser recurses once per nesting level: `"[" * 50000` raises `RecursionError`,
which is not a `ValueError`, so every `except ValueError` around `json.loads` let it through as
a 500 with a traceback. Here it is a `ValueError` like any other malformed body.
"""

from __future__ import annotations

import json
from typing import Any


def loads(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def loads_object(data: bytes | str) -> dict[str, Any] | None:
    """`data` as a JSON object; None when it is not JSON, or not an object."""
    try:
        doc = loads(data)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
