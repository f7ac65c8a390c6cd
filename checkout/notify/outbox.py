"""Writing merchant events, always inside the transaction that changed the payment."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from checkout.domain.states import EVENT_FOR_STATUS
from checkout.representations.payments import iso, payment_object
from checkout.store import webhooks
from checkout.store.db import Conn
from checkout.store.records import Payment


async def payment_changed(conn: Conn, before: Payment, after: Payment,
                          checkout_url: str, event_id: str, now: datetime) -> bool:
    """Record the event a status change means, if any. True when one was written."""
    event_type = EVENT_FOR_STATUS.get(after.status)
    if before.status is after.status or event_type is None:
        return False
    await emit(conn, merchant_id=after.merchant_id, event_id=event_id,
               event_type=str(event_type),
               payment_id=after.id, sequence=after.version,
               obj=payment_object(after, checkout_url), now=now)
    return True


async def emit(conn: Conn, *, merchant_id: str, event_id: str, event_type: str,
               payment_id: str | None, sequence: int, obj: dict[str, Any], now: datetime,
               only_endpoint: str | None = None) -> None:
    """The event, queued to each of the merchant's enabled endpoints (or only to one)."""
    body = json.dumps({"id": event_id, "type": event_type, "created_at": iso(now),
                       "sequence": sequence, "data": {"object": obj}},
                      ensure_ascii=False, separators=(",", ":"))
    await webhooks.insert_event(conn, {
        "id": event_id, "merchant_id": merchant_id, "type": event_type,
        "payment_id": payment_id, "sequence": sequence, "body": body, "created_at": now})
    for endpoint_id in await webhooks.active_endpoint_ids(conn, merchant_id, only_endpoint):
        await webhooks.insert_delivery(conn, event_id=event_id, endpoint_id=endpoint_id,
                                       now=now)
