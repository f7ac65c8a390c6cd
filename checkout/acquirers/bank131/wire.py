"""Bank 131 wire shapes: request bodies we send and the table from their statuses to ours."""

from __future__ import annotations

from typing import Any

from checkout.acquirers.bank131.platform import platform_details
from checkout.acquirers.base import (
    Platform,
    RefundState,
    RefundStatus,
    SessionState,
    Snapshot,
    StartRequest,
)
from checkout.domain.money import Money

SERVER = Platform("desktop", "linux", "chrome")

REFUND_STATUS = {
    "in_progress": RefundStatus.PENDING,
    "accepted": RefundStatus.SUCCEEDED,
    "declined": RefundStatus.FAILED,
    # "The error status … is not final" (developer.131.ru, errors): the refund stays pending,
    # and only `declined` fails it.
    "error": RefundStatus.PENDING,
}


def init_payment_body(req: StartRequest) -> dict[str, Any]:
    options: dict[str, Any] = {"return_url": req.return_url}
    # A merchant-initiated charge has no buyer and no device: it carries the platform of the
    # merchant's server, as the bank's own recurrent example does (a desktop).
    options["platform_details"] = platform_details(
        SERVER if req.initiator == "merchant" else req.platform)
    if req.save_method:
        options["recurrent"] = True
    details: dict[str, Any] = (
        {"type": "recurrent", "recurrent": {"token": req.token, "initiator": req.initiator}}
        if req.token else {"type": "internet_banking", "internet_banking": {"type": "tpay"}})
    body: dict[str, Any] = {
        "payment_details": details,
        "amount_details": {"amount": req.amount.amount, "currency": req.amount.currency},
        "customer": {"reference": req.customer_reference},
        "payment_options": options,
    }
    body["metadata"] = {**req.metadata, ATTEMPT_KEY: req.idempotency_key}
    return body


ATTEMPT_KEY = "checkout_attempt"

# Error codes (developer.131.ru, errors reference) that mean time ran out or the session was
# ended, not a decline. A hold left uncaptured (`capture_timeout`) is released: canceled.
EXPIRY_CODES = frozenset({"confirm_timeout", "provider_timeout"})
CANCEL_CODES = frozenset({"capture_timeout", "session_cancelled",
                          "session_cancelled_by_partner"})


def _first_payment(session: dict[str, Any]) -> dict[str, Any]:
    payments = session.get("acquiring_payments") or []
    return payments[0] if payments and isinstance(payments[0], dict) else {}


def _error(session: dict[str, Any], payment: dict[str, Any]) -> tuple[str, str]:
    err = payment.get("error") or session.get("error") or {}
    if not isinstance(err, dict):
        return "", ""
    return str(err.get("code", "")), str(err.get("description", ""))


def amount_details(amount: Money) -> dict[str, Any]:
    return {"amount": amount.amount, "currency": amount.currency}


def _refunds(payment: dict[str, Any]) -> tuple[RefundState, ...]:
    found = []
    for r in payment.get("refunds") or []:
        try:
            found.append(RefundState(str(r["id"]), REFUND_STATUS.get(r["status"],
                                                                     RefundStatus.PENDING),
                                     int(r["amount_details"]["amount"])))
        except (KeyError, TypeError, ValueError):
            continue  # a refund we cannot read is not one we can account for
    return tuple(found)


def attempt_hint(session: dict[str, Any]) -> str:
    """Our attempt id, from the metadata we sent at start (the bank echoes it back)."""
    for holder in (_first_payment(session), session):
        meta = holder.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get(ATTEMPT_KEY), str):
            return str(meta[ATTEMPT_KEY])
    return ""


# A webhook's own type says which step the session waits at: the published examples of
# `ready_to_capture` (developer.smart-glocal.com, webhooks reference) carry no `next_action`.
_WAITING_AT = {"ready_to_confirm": "confirm", "ready_to_capture": "capture"}


def snapshot(session: dict[str, Any], event: str = "") -> Snapshot:
    """Translate a session object (from an answer, or from a webhook of type `event`) into our
    vocabulary; unknown shapes read as 'processing'."""
    ref = str(session.get("id", ""))
    status = session.get("status")
    payment = _first_payment(session)
    pay_status = payment.get("status")
    code, message = _error(session, payment)
    if status == "accepted" or pay_status == "succeeded":
        token = (payment.get("recurrent") or {}).get("token", "")
        gross = ((payment.get("amounts") or {}).get("gross") or {}).get("amount")
        return Snapshot(ref, SessionState.SUCCEEDED, recurrent_token=str(token or ""),
                        captured_amount=gross if isinstance(gross, int) else None,
                        refunds=_refunds(payment))
    # Bank 131: a session in `error` is not final ("wait for a final transaction status"): it
    # may still end `accepted`, so it ends here only as far as the buyer sees, and is watched.
    final = status != "error"
    if status == "cancelled" or code in CANCEL_CODES:
        return Snapshot(ref, SessionState.CANCELED, error_code=code or "cancelled",
                        error_message=message, final=final)
    if (status == "error" or pay_status == "failed") and code in EXPIRY_CODES:
        return Snapshot(ref, SessionState.EXPIRED, error_code=code, error_message=message,
                        final=final)
    if status == "error" or pay_status == "failed":
        return Snapshot(ref, SessionState.FAILED, error_code=code or "failed",
                        error_message=message, final=final)
    next_action = session.get("next_action") or _WAITING_AT.get(event)
    if next_action == "confirm":
        return Snapshot(ref, SessionState.NEEDS_CONFIRM)
    if next_action == "capture":
        return Snapshot(ref, SessionState.AUTHORIZED)
    interaction = payment.get("customer_interaction") or {}
    url = (interaction.get("redirect") or {}).get("url") if isinstance(interaction, dict) else None
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return Snapshot(ref, SessionState.AWAITING_BUYER, action_url=url)
    return Snapshot(ref, SessionState.PROCESSING)
