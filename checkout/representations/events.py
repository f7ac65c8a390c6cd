"""An event we sent (or are still sending), with its delivery history, as merchants see it."""

from __future__ import annotations

import json
from typing import Any, Literal

from checkout.domain.states import DeliveryStatus, EventType
from checkout.representations.payments import Shape, Timestamp, iso


class DeliveryOut(Shape):
    model_config = {"title": "Delivery"}

    endpoint_url: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None


class EventOut(Shape):
    model_config = {"title": "Event"}

    id: str
    object: Literal["event"] = "event"
    type: EventType
    created_at: Timestamp
    sequence: int
    payment_id: str | None
    data: dict[str, Any]  # {"object": the payment or refund, as the webhook carried it}
    deliveries: list[DeliveryOut]


def delivery_object(row: Any) -> DeliveryOut:
    return DeliveryOut(
        endpoint_url=row.url, status=row.status, attempts=row.attempts,
        last_status_code=row.last_status_code, last_error=row.last_error,
        next_attempt_at=iso(row.next_attempt_at) if row.next_attempt_at else None,
        delivered_at=iso(row.delivered_at) if row.delivered_at else None)


def event_object(row: Any, deliveries: list[Any]) -> dict[str, Any]:
    body = json.loads(row.body)  # the webhook's body, as signed and sent
    return EventOut(
        id=body["id"], type=body["type"], created_at=body["created_at"],
        sequence=body["sequence"], payment_id=row.payment_id, data=body["data"],
        deliveries=[delivery_object(d) for d in deliveries if d.event_id == row.id]).dump()
