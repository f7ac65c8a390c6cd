"""A saved payment method (a recurring T-Pay token), as merchants see it: never the token."""

from __future__ import annotations

from typing import Any, Literal

from checkout.representations.payments import Customer, Shape, Timestamp, iso


class PaymentMethodOut(Shape):
    model_config = {"title": "PaymentMethod"}

    id: str
    object: Literal["payment_method"] = "payment_method"
    type: Literal["tpay"] = "tpay"
    saved: bool
    customer: Customer | None
    created_at: Timestamp


def method_object(row: Any) -> dict[str, Any]:
    return PaymentMethodOut(
        id=row.id, saved=row.disabled_at is None,
        customer=Customer(reference=row.customer_reference) if row.customer_reference else None,
        created_at=iso(row.created_at)).dump()
