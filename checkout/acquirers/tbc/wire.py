"""TBC's JSON, in and out: decimal major units, capitalised status words, problem+json."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from checkout.acquirers.base import RefundState, RefundStatus, SessionState, Snapshot, StartRequest
from checkout.domain.money import CURRENCIES, Money

EXTRA_MAX = 25
EXPIRATION_MAX = 12  # minutes on TBC's page: TBC's recommended maximum and default
LANGUAGES = {"ka": "KA", "en": "EN", "ru": "RU"}


def extra_ok(value: str) -> bool:
    """TBC's `extra`: printable ASCII, at most 25 characters."""
    return len(value) <= EXTRA_MAX and all(32 <= ord(c) < 127 for c in value)


def number(money: Money) -> float:
    # TBC wants a JSON number of major units; two decimals survive a float exactly enough
    # for json to print them back as written ("150.1" for 150.10).
    return float(money.to_decimal_string())


def minor_units(value: Any, currency: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str) or \
            currency not in CURRENCIES:
        return None
    try:
        units = Decimal(str(value)).scaleb(CURRENCIES[currency].exponent)
    except ArithmeticError:
        return None
    return int(units) if units == units.to_integral_value() else None


def create_body(req: StartRequest, *, callback_url: str, methods: list[int],
                expiration_minutes: int, extra: str) -> dict[str, Any]:
    total = number(req.amount)
    body: dict[str, Any] = {
        "amount": {"currency": req.amount.currency, "total": total, "subTotal": total,
                   "tax": 0, "shipping": 0},
        "returnurl": req.return_url,
        "expirationMinutes": expiration_minutes,
        "methods": methods,
        "callbackUrl": callback_url,
        "preAuth": not req.capture,
        "language": LANGUAGES.get(req.language, "EN"),
        "merchantPaymentId": req.idempotency_key,
        "skipInfoMessage": True,
        "saveCard": req.save_method,
    }
    if extra:
        body["extra"] = extra
    return body


def execution_body(req: StartRequest, extra: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recId": req.token,
        "money": {"amount": number(req.amount), "currency": req.amount.currency},
        "preAuth": not req.capture,
        "merchantPaymentId": req.idempotency_key,
    }
    if req.initiator == "merchant":
        # Without it TBC runs the charge as customer-initiated. Either way TBC charges the
        # card at once: an execution has no return URL and no page for a buyer.
        body["initiator"] = "merchant"
    if extra:
        body["extra"] = extra
    return body


def saved_card(doc: dict[str, Any]) -> str:
    """The saved card's id: GET /payments/{payId} names it in `recurringCard.recId`."""
    card = doc.get("recurringCard")
    rec_id = card.get("recId") if isinstance(card, dict) else None
    return str(rec_id) if isinstance(rec_id, str | int) and rec_id != "" else ""


def approval_url(doc: dict[str, Any]) -> str:
    for link in doc.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "approval_url":
            return str(link.get("uri", ""))
    return ""


# A cancel or a completion still running: what was returned is not settled until it is over.
SETTLING = frozenset({"CancelPaymentProcessing", "PaymentCompletionProcessing"})

_STATES = {
    "Created": SessionState.AWAITING_BUYER,
    "Processing": SessionState.PROCESSING,
    "Succeeded": SessionState.SUCCEEDED,
    "Failed": SessionState.FAILED,
    "Expired": SessionState.EXPIRED,
    "WaitingConfirm": SessionState.AUTHORIZED,
    "CancelPaymentProcessing": SessionState.PROCESSING,
    "PaymentCompletionProcessing": SessionState.AUTHORIZED,
    "Returned": SessionState.SUCCEEDED,
    "PartialReturned": SessionState.SUCCEEDED,
}


def snapshot(doc: dict[str, Any], *, action_url: str = "",
             refunds: tuple[RefundState, ...] = ()) -> Snapshot:
    status = str(doc.get("status", ""))
    currency = str(doc.get("currency", ""))
    state = _STATES.get(status, SessionState.PROCESSING)
    confirmed = minor_units(doc.get("confirmedAmount"), currency)
    amount = minor_units(doc.get("amount"), currency)
    if status == "Returned" and doc.get("preAuth") and not confirmed:
        state = SessionState.CANCELED  # a pre-authorisation released before completion
    if status == "Created" and not action_url:
        action_url = approval_url(doc)
        if not action_url:
            state = SessionState.PROCESSING
    code = str(doc.get("resultCode") or "")
    failed = state in (SessionState.FAILED, SessionState.EXPIRED, SessionState.CANCELED)
    return Snapshot(
        ref=str(doc.get("payId", "")), state=state, action_url=action_url,
        error_code=(code or status.lower()) if failed else "",
        error_message=str(doc.get("userMessage") or doc.get("developerMessage") or "")
        if failed else "",
        recurrent_token=saved_card(doc),
        captured_amount=(confirmed or amount) if state is SessionState.SUCCEEDED else None,
        refunds=refunds,
        refunded_amount=minor_units(doc.get("returnedAmount", 0), currency),
        # Not in the GET's documented fields: read if TBC ever sends it, never relied on.
        attempt_hint=str(doc.get("merchantPaymentId") or ""),
        settling=status in SETTLING,
        amount=amount, currency=currency,
    )


def refund_done(key: str, money: Money, *, settled: bool) -> tuple[RefundState, ...]:
    # TBC keeps no refund objects: a cancel answered 200 is a refund done, named by our key,
    # once TBC is no longer processing it (then its total says; see `flow.refunds`).
    status = RefundStatus.SUCCEEDED if settled else RefundStatus.PENDING
    return (RefundState(key, status, money.amount),)
