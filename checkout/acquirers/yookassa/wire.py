"""YooKassa's JSON, in and out: amounts as decimal strings, statuses in its words."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from checkout.acquirers.base import (
    FiscalReceipt,
    RefundState,
    RefundStatus,
    SessionState,
    Snapshot,
    StartRequest,
)
from checkout.acquirers.yookassa.receipt import receipt_doc
from checkout.domain.money import CURRENCIES, Money

DESCRIPTION_MAX = 128


def amount(money: Money) -> dict[str, str]:
    return {"value": money.to_decimal_string(), "currency": money.currency}


def minor_units(doc: Any) -> int | None:
    """`{"value": "2.00", "currency": "RUB"}` -> 200; None when unreadable."""
    if not isinstance(doc, dict) or doc.get("currency") not in CURRENCIES:
        return None
    try:
        value = Decimal(str(doc.get("value")))
    except InvalidOperation:
        return None
    units = value.scaleb(CURRENCIES[doc["currency"]].exponent)
    return int(units) if units == units.to_integral_value() else None


def create_body(req: StartRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": amount(req.amount),
        "capture": req.capture,
        "description": req.description[:DESCRIPTION_MAX],
        "metadata": dict(req.metadata),
    }
    if req.token:
        body["payment_method_id"] = req.token
        if req.initiator == "client":
            body["confirmation"] = {"type": "redirect", "return_url": req.return_url}
    else:
        body["payment_method_data"] = {"type": "tinkoff_bank"}
        body["confirmation"] = {"type": "redirect", "return_url": req.return_url,
                                "locale": "ru_RU" if req.language == "ru" else "en_US"}
        if req.save_method:
            body["save_payment_method"] = True
    if req.receipt is not None:
        body["receipt"] = receipt_doc(req.receipt, req.amount.currency)
    return body


_REFUND_STATUS = {"pending": RefundStatus.PENDING, "succeeded": RefundStatus.SUCCEEDED,
                  "canceled": RefundStatus.FAILED}


def refund_state(doc: dict[str, Any]) -> RefundState | None:
    status = _REFUND_STATUS.get(str(doc.get("status")))
    units = minor_units(doc.get("amount"))
    if status is None or units is None or not doc.get("id"):
        return None
    return RefundState(str(doc["id"]), status, units)


# Cancellation reasons that mean time ran out, not a decline: the buyer did not confirm within
# the payment's term (`expired_on_confirmation`), or the payment's own expiry passed
# (`payment_expired`: YooKassa's list of cancellation reasons).
EXPIRED = frozenset({"expired_on_confirmation", "payment_expired"})


def snapshot(payment: dict[str, Any], refunds: list[dict[str, Any]] | None = None) -> Snapshot:
    status = payment.get("status")
    confirmation = payment.get("confirmation") or {}
    action_url = str(confirmation.get("confirmation_url") or "")
    error_code = error_message = ""
    if status == "pending":
        state = SessionState.AWAITING_BUYER if action_url else SessionState.PROCESSING
    elif status == "waiting_for_capture":
        state = SessionState.AUTHORIZED
    elif status == "succeeded":
        state = SessionState.SUCCEEDED
    elif status == "canceled":
        details = payment.get("cancellation_details") or {}
        reason, party = str(details.get("reason", "")), str(details.get("party", ""))
        error_code, error_message = reason or "canceled", f"canceled by {party or 'yookassa'}"
        if reason in EXPIRED:
            state = SessionState.EXPIRED
        elif party == "merchant" or reason == "expired_on_capture":
            state = SessionState.CANCELED
        else:
            state = SessionState.FAILED
    else:
        state = SessionState.PROCESSING  # an unknown word: ask again later
    method = payment.get("payment_method") or {}
    token = str(method.get("id", "")) if method.get("saved") else ""
    states = tuple(s for s in (refund_state(r) for r in refunds or []) if s is not None)
    return Snapshot(
        ref=str(payment.get("id", "")), state=state, action_url=action_url,
        error_code=error_code, error_message=error_message, recurrent_token=token,
        captured_amount=minor_units(payment.get("amount")) if state is SessionState.SUCCEEDED
        else None,
        refunds=states, fiscal=_fiscal(payment.get("receipt_registration")),
    )


# `receipt_registration`: how YooKassa's registration of the payment's receipt stands.
_RECEIPT_STATUS = {"pending": "pending", "succeeded": "succeeded", "canceled": "failed"}


def receipt_state(doc: dict[str, Any]) -> FiscalReceipt:
    """A receipt object (`POST /receipts`): `pending`, `succeeded` or `canceled`."""
    return _fiscal(doc.get("status")) or FiscalReceipt("pending")


def _fiscal(registration: Any) -> FiscalReceipt | None:
    status = _RECEIPT_STATUS.get(str(registration))
    return FiscalReceipt(status) if status else None
