"""A refund, as merchants see it."""

from __future__ import annotations

from typing import Any

from checkout.representations.payments import iso
from checkout.store.records import Refund


def refund_object(r: Refund, currency: str) -> dict[str, Any]:
    return {"id": r.id, "object": "refund", "payment_id": r.payment_id, "amount": r.amount,
            "currency": currency, "status": r.status, "created_at": iso(r.created_at)}
