"""An event we sent (or are still sending), with its delivery history, as merchants see it."""

from __future__ import annotations

import json
from typing import Any

from checkout.representations.payments import iso


def delivery_object(row: Any) -> dict[str, Any]:
    return {
        "endpoint_url": row.url,
        "status": row.status,
        "attempts": row.attempts,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "next_attempt_at": iso(row.next_attempt_at) if row.next_attempt_at else None,
        "delivered_at": iso(row.delivered_at) if row.delivered_at else None,
    }


def event_object(row: Any, deliveries: list[Any]) -> dict[str, Any]:
    body = json.loads(row.body)
    return {**body, "object": "event", "payment_id": row.payment_id,
            "deliveries": [delivery_object(d) for d in deliveries if d.event_id == row.id]}
