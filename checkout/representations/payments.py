"""The objects merchants see — in API answers and in webhook bodies alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from checkout.store.records import Payment


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def payment_object(p: Payment, checkout_url: str) -> dict[str, Any]:
    return {
        "id": p.id,
        "object": "payment",
        "status": str(p.status),
        "amount": p.amount,
        "currency": p.currency,
        "description": p.description,
        "reference": p.reference,
        "captured_amount": p.captured_amount,
        "refunded_amount": p.refunded_amount,
        "capture": p.capture,
        "customer": {"reference": p.customer_reference} if p.customer_reference else None,
        "return_url": p.return_url or None,
        # A merchant-initiated charge of a saved method has no buyer, so no page.
        "checkout_url": None if p.initiator == "merchant" else checkout_url,
        "payment_method": {"id": p.payment_method_id, "type": "tpay", "saved": True}
        if p.payment_method_id else None,
        "initiator": p.initiator,
        "acquirer": p.acquirer,
        "metadata": p.metadata,
        "last_error": {"code": p.last_error_code} if p.last_error_code else None,
        "save_payment_method": p.save_payment_method,
        "created_at": iso(p.created_at),
        "expires_at": iso(p.expires_at),
    }
