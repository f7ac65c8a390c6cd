"""A payment, as merchants see it: in API answers and in webhook bodies alike."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from checkout.domain.states import PaymentStatus
from checkout.store.records import Payment

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Shape(BaseModel):
    """An answer's object: every field always present (null when it has no value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Customer(Shape):
    reference: Annotated[str, Field(min_length=1, max_length=128)]


class SavedMethodRef(Shape):
    id: str
    type: Literal["tpay"] = "tpay"
    saved: Literal[True] = True


class LastError(Shape):
    code: str


class ItemOut(Shape):
    model_config = ConfigDict(title="Item")

    name: str
    quantity: float
    unit_price: int
    amount: int
    vat: str
    payment_method: str
    payment_object: str
    measure: str | None = None


class ReceiptOut(Shape):
    """The 54-FZ receipt: the seller's tax system, and what the acquirer says of the fiscal
    receipt (null until it says; `succeeded` with its `url` once registered)."""

    model_config = ConfigDict(title="Receipt")

    taxation: str
    contact_given: bool  # the buyer's email or phone is known (never shown back)
    status: Literal["pending", "succeeded", "failed"] | None
    url: str | None
    # The closing receipt of a prepayment (`POST …/receipts`): null until asked; `sending`
    # while the acquirer's answer is not in.
    settlement: Literal["sending", "pending", "succeeded", "failed"] | None = None


class PaymentOut(Shape):
    model_config = ConfigDict(title="Payment")

    id: str
    object: Literal["payment"] = "payment"
    status: PaymentStatus
    amount: Annotated[int, Field(description="minor units (kopecks, tetri, cents)")]
    currency: str
    description: str
    reference: str | None
    captured_amount: int
    refunded_amount: int
    capture: bool
    customer: Customer | None
    return_url: str | None
    # A merchant-initiated charge of a saved method has no buyer, so no page.
    checkout_url: str | None
    payment_method: SavedMethodRef | None
    initiator: Literal["merchant", "client"] | None
    acquirer: str
    metadata: dict[str, str]
    last_error: LastError | None
    save_payment_method: bool
    # The payment link a buyer made it at (`POST /api/v1/payment_links`); null otherwise.
    payment_link_id: str | None = None
    items: list[ItemOut] | None = None
    receipt: ReceiptOut | None = None
    created_at: Timestamp
    expires_at: Timestamp


def payment_object(p: Payment, checkout_url: str) -> dict[str, Any]:
    return PaymentOut(
        id=p.id, status=p.status, amount=p.amount, currency=p.currency,
        description=p.description, reference=p.reference,
        captured_amount=p.captured_amount, refunded_amount=p.refunded_amount,
        capture=p.capture,
        customer=Customer(reference=p.customer_reference) if p.customer_reference else None,
        return_url=p.return_url or None,
        checkout_url=None if p.initiator == "merchant" else checkout_url,
        payment_method=SavedMethodRef(id=p.payment_method_id) if p.payment_method_id else None,
        initiator=p.initiator,  # type: ignore[arg-type]
        acquirer=p.acquirer, metadata=p.metadata,
        last_error=LastError(code=p.last_error_code) if p.last_error_code else None,
        save_payment_method=p.save_payment_method, payment_link_id=p.payment_link_id,
        items=[ItemOut(**i) for i in json.loads(p.items)] if p.items else None,
        receipt=ReceiptOut(taxation=p.taxation, contact_given=p.receipt_contact is not None,
                           status=p.receipt_status,  # type: ignore[arg-type]
                           url=p.receipt_url,
                           settlement=p.settlement_status,  # type: ignore[arg-type]
                           ) if p.taxation else None,
        created_at=iso(p.created_at), expires_at=iso(p.expires_at),
    ).dump()
