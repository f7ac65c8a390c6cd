"""T-Bank Internet Acquiring (API v2, "eacq"), in and out: the Token, request bodies, and the
table from its statuses to ours.

Everything here is from T-Bank's OpenAPI "Прием платежей" (developer.tbank.ru/eacq) as
`../shared/acquirers.md` section 4 records it; the lines marked *unconfirmed* there are read
the safe way (see `driver.py`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from checkout.acquirers.base import Platform, RefundState, SessionState, Snapshot, StartRequest
from checkout.domain.money import Money
from checkout.domain.states import RefundStatus

MOSCOW = timezone(timedelta(hours=3))
ORDER_ID_MAX = 36
DESCRIPTION_MAX = 140
CUSTOMER_KEY_MAX = 36
TPAY_VERSION = "2.0"  # T-Pay's own flow; "1.0" terminals take T-Pay only on T-Bank's form


def token(fields: dict[str, Any], password: str) -> str:
    """T-Bank's `Token`: the root-level scalar fields but `Token` (nested `DATA`, `Receipt`,
    `Shops` are left out), plus `Password`, sorted by key, their values joined, SHA-256 hex."""
    flat = {k: v for k, v in fields.items()
            if k != "Token" and v is not None and not isinstance(v, dict | list)}
    flat["Password"] = password
    joined = "".join(_text(flat[k]) for k in sorted(flat))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signed(fields: dict[str, Any], terminal_key: str, password: str) -> dict[str, Any]:
    body = {"TerminalKey": terminal_key, **fields}
    body["Token"] = token(body, password)
    return body


# Our device words, in the T-Pay `DATA` fields' own (`DeviceOs`, `DeviceBrowser`).
_OS = {"ios": "iOS", "android": "Android", "windows": "Windows", "macos": "macOS",
       "linux": "Linux", "chromeos": "ChromeOS"}
_BROWSER = {"chrome": "Chrome", "safari": "Safari", "firefox": "Firefox", "edge": "Edge",
            "yandex": "Yandex", "opera": "Opera", "miui": "MIUI"}


def tpay_data(platform: Platform) -> dict[str, str | bool]:
    """`DATA` for a T-Pay payment made through the API (T-Bank's OpenAPI, schema "T-Pay"):
    which device the link is for (`Device` is `SDK`, `Desktop` or `MobileWeb`)."""
    data: dict[str, str | bool] = {
        "TinkoffPayWeb": True,
        "Device": "MobileWeb" if platform.type == "mobile" else "Desktop"}
    if platform.os in _OS:
        data["DeviceOs"] = _OS[platform.os]
    if platform.browser in _BROWSER:
        data["DeviceBrowser"] = _BROWSER[platform.browser]
    return data


def init_body(req: StartRequest, *, notification_url: str, pay_seconds: int,
              now: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Amount": req.amount.amount,
        "OrderId": req.idempotency_key[:ORDER_ID_MAX],
        "PayType": "O" if req.capture else "T",
        "NotificationURL": notification_url,
        # T-Bank keeps a payment open 24 h unless told; the buyer has our attempt's time.
        "RedirectDueDate": (now + timedelta(seconds=max(60, pay_seconds)))
        .astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S+03:00"),
    }
    if req.description:
        body["Description"] = req.description[:DESCRIPTION_MAX]
    if req.language in ("ru", "en"):
        body["Language"] = req.language
    if req.return_url:
        body["SuccessURL"] = body["FailURL"] = req.return_url
    if req.save_method:
        body["Recurrent"] = "Y"
        body["CustomerKey"] = req.customer_reference[:CUSTOMER_KEY_MAX]
    if not req.token:
        body["DATA"] = tpay_data(req.platform)
    # DATA.OperationInitiatorType is optional and left out: T-Bank's OpenAPI puts it in DATA
    # but also limits DATA keys to 20 characters (it has 22), and a value that does not fit
    # Recurrent / RebillId is refused (1126). Absent, T-Bank decides from the call itself.
    return body


_STATES = {
    "NEW": SessionState.AWAITING_BUYER,
    "FORM_SHOWED": SessionState.AWAITING_BUYER,
    "AUTHORIZING": SessionState.PROCESSING,
    "3DS_CHECKING": SessionState.PROCESSING,
    "3DS_CHECKED": SessionState.PROCESSING,
    "CONFIRMING": SessionState.AUTHORIZED,  # held, the capture under way
    "AUTHORIZED": SessionState.AUTHORIZED,
    "REVERSING": SessionState.AUTHORIZED,
    "PARTIAL_REVERSED": SessionState.AUTHORIZED,  # part of a hold released, the rest held
    "CONFIRMED": SessionState.SUCCEEDED,
    "REFUNDING": SessionState.SUCCEEDED,
    "PARTIAL_REFUNDED": SessionState.SUCCEEDED,  # paid; refunds are told apart
    "REFUNDED": SessionState.SUCCEEDED,
    "REVERSED": SessionState.CANCELED,
    "CANCELED": SessionState.CANCELED,
    "DEADLINE_EXPIRED": SessionState.EXPIRED,
    "REJECTED": SessionState.FAILED,
    "AUTH_FAIL": SessionState.FAILED,
}


def tpay_offered(status: dict[str, Any]) -> bool:
    """From `TinkoffPay/terminals/{TerminalKey}/status`: T-Pay in its own flow (version 2.0).
    Version 1.0 is e-invoice: T-Pay only on T-Bank's form, no link for us to show."""
    params = status.get("Params")
    return isinstance(params, dict) and params.get("Allowed") is True \
        and params.get("Version") == TPAY_VERSION


def redirect_url(link: dict[str, Any]) -> str:
    """From `TinkoffPay/transactions/{PaymentId}/versions/2.0/link`: the link into the T-Bank
    app ("" when the answer has none we can send a buyer to)."""
    params = link.get("Params")
    url = params.get("RedirectUrl") if isinstance(params, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""


def awaiting_buyer(doc: dict[str, Any]) -> bool:
    """Whether the payment waits for the buyer to approve (a T-Pay link serves it)."""
    return _STATES.get(str(doc.get("Status", ""))) is SessionState.AWAITING_BUYER


def amount_of(doc: dict[str, Any]) -> int | None:
    value = doc.get("Amount")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def snapshot(doc: dict[str, Any], *, action_url: str = "", captured: int | None = None,
             refunds: tuple[RefundState, ...] = ()) -> Snapshot:
    """A GetState (or Init, Confirm, Cancel, Charge) answer, or a notification, in our words.
    Unknown statuses read as "processing": never a decision we cannot take back."""
    status = str(doc.get("Status", ""))
    state = _STATES.get(status, SessionState.PROCESSING)
    if state is SessionState.AWAITING_BUYER and not action_url:
        state = SessionState.PROCESSING  # no link yet to send the buyer to
    ended = state in (SessionState.FAILED, SessionState.CANCELED, SessionState.EXPIRED)
    rebill = doc.get("RebillId")
    return Snapshot(
        ref=str(doc.get("PaymentId", "")), state=state,
        action_url=action_url if state is SessionState.AWAITING_BUYER else "",
        error_code=(status.lower() if ended else ""),
        error_message=str(doc.get("Message") or doc.get("Details") or "") if ended else "",
        recurrent_token=str(rebill) if isinstance(rebill, int | str) and rebill != "" else "",
        captured_amount=(captured if captured is not None else amount_of(doc))
        if state is SessionState.SUCCEEDED else None,
        refunds=refunds,
        attempt_hint=str(doc.get("OrderId") or ""),
    )


def refund_done(key: str, money: Money) -> tuple[RefundState, ...]:
    # T-Bank keeps no refund objects: a Cancel answered with success is a refund done, named
    # by our ExternalRequestId.
    return (RefundState(key, RefundStatus.SUCCEEDED, money.amount),)
