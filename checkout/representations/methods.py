"""A saved payment method (a recurring T-Pay token), as merchants see it: never the token."""

from __future__ import annotations

from typing import Any

from checkout.representations.payments import iso


def method_object(row: Any) -> dict[str, Any]:
    return {"id": row.id, "object": "payment_method", "type": "tpay",
            "saved": row.disabled_at is None, "customer": (
                {"reference": row.customer_reference} if row.customer_reference else None),
            "created_at": iso(row.created_at)}
