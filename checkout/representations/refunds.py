"""A refund, as merchants see it."""

from __future__ import annotations

from typing import Any, Literal

from checkout.domain.states import RefundStatus
from checkout.representations.payments import Shape, Timestamp, iso
from checkout.store.records import Refund


class RefundOut(Shape):
    model_config = {"title": "Refund"}

    id: str
    object: Literal["refund"] = "refund"
    payment_id: str
    amount: int
    currency: str
    status: RefundStatus
    created_at: Timestamp


def refund_object(r: Refund, currency: str) -> dict[str, Any]:
    return RefundOut(id=r.id, payment_id=r.payment_id, amount=r.amount, currency=currency,
                     status=RefundStatus(r.status), created_at=iso(r.created_at)).dump()
