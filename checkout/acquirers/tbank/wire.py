"""T-Bank Internet Acquiring (API v2, "eacq"), in and out: the Token, request bodies, and the
table from its statuses to ours.

Everything here is from T-Bank's OpenAPI "Прием платежей" (developer.tbank.ru/eacq) as
`../shared/acquirers.md` section 4 records it; the lines marked *unconfirmed* there are read
the safe way (see `driver.py`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from checkout.acquirers.base import (
    FiscalReceipt,
    Platform,
    RefundState,
    SessionState,
    Snapshot,
    StartRequest,
)
from checkout.acquirers.tbank.receipt import receipt_doc
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


# Our device words, in the T-Pay `DATA` fields' own (`DeviceOs`, `DeviceBrowser`): the
# browsers as T-Bank's v1.80 list spells them.
_OS = {"ios": "iOS", "android": "Android", "windows": "Windows", "macos": "macOS",
       "linux": "Linux", "chromeos": "ChromeOS"}
_BROWSER = {"chrome": "Chrome", "safari": "Safari", "firefox": "Firefox",
            "edge": "Microsoft Edge", "yandex": "Yandex", "opera": "Opera", "miui": "Miui",
            "samsung": "Samsung", "webkit": "WebKit", "wechat": "WeChat",
            "jivo": "JivoMobile"}
# DATA.OperationInitiatorType (T-Bank's Charge table): a plain payment; a customer's payment
# that saves credentials (Recurrent=Y); a customer's payment on saved credentials; a
# merchant-initiated recurring charge. A mismatch with Recurrent/RebillId is error 1126.
PLAIN, SAVES, CUSTOMER_ON_SAVED, MERCHANT_RECURRING = "0", "1", "2", "R"


def order_id(idempotency_key: str) -> str:
    """Our attempt id as T-Bank's `OrderId` (at most 36): the same in `Init` and `CheckOrder`."""
    return idempotency_key[:ORDER_ID_MAX]


def initiator_type(req: StartRequest) -> str:
    if req.token:
        return MERCHANT_RECURRING if req.initiator == "merchant" else CUSTOMER_ON_SAVED
    return SAVES if req.save_method else PLAIN


def tpay_data(platform: Platform) -> dict[str, str]:
    """`DATA` for a T-Pay payment made through the API (T-Bank's OpenAPI v1.80, schema
    "T-Pay"): which device the link is for (`Device` is `SDK`, `Desktop` or `Mobile`, "a call
    from a browser on a mobile device"; `MobileWeb` was the name up to v1.67). Strings, as
    T-Bank's own SDKs send them."""
    data = {"TinkoffPayWeb": "true",
            "Device": "Mobile" if platform.type == "mobile" else "Desktop"}
    if platform.os in _OS:
        data["DeviceOs"] = _OS[platform.os]
    if platform.browser in _BROWSER:
        data["DeviceBrowser"] = _BROWSER[platform.browser]
    return data


def init_body(req: StartRequest, *, notification_url: str, pay_seconds: int,
              now: datetime, ffd_version: str = "1.05") -> dict[str, Any]:
    body: dict[str, Any] = {
        "Amount": req.amount.amount,
        "OrderId": order_id(req.idempotency_key),
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
    data: dict[str, str] = {} if req.token else tpay_data(req.platform)
    # T-Bank's own documented DATA key, though longer than the 20 characters it allows others.
    data["OperationInitiatorType"] = initiator_type(req)
    body["DATA"] = data
    if req.receipt is not None:
        body["Receipt"] = receipt_doc(req.receipt, ffd_version)
    return body


FISCAL_STATUS = "RECEIPT"  # the Status of a fiscalization notification


def fiscal(doc: dict[str, Any]) -> FiscalReceipt:
    """A fiscalization notification: registered (`Success`, `ErrorCode` 0, with the
    receipt's `Url`) or not."""
    registered = doc.get("Success") is True and str(doc.get("ErrorCode", "0")) == "0"
    url = doc.get("Url")
    return FiscalReceipt("succeeded" if registered else "failed",
                         url if isinstance(url, str) and url.startswith(("https://", "http://"))
                         else "", kind=_RECEIPT_KINDS.get(str(doc.get("Type")), ""))


# A fiscalization notification's `Type`: a sale's receipt, or a return's.
_RECEIPT_KINDS = {"Income": "sale", "IncomeReturn": "return"}


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
    "REFUNDING": SessionState.SUCCEEDED,  # paid; a refund is still being processed
    "PARTIAL_REFUNDED": SessionState.SUCCEEDED,  # paid; refunds are told apart
    "REFUNDED": SessionState.SUCCEEDED,
    "REVERSED": SessionState.CANCELED,
    "CANCELED": SessionState.CANCELED,
    "DEADLINE_EXPIRED": SessionState.EXPIRED,
    "REJECTED": SessionState.FAILED,
    "AUTH_FAIL": SessionState.FAILED,
}


def tpay_version(status: dict[str, Any]) -> str:
    """From `TinkoffPay/terminals/{TerminalKey}/status`: the T-Pay version to ask links of, if
    T-Pay is allowed in its own flow (any 2.x); "" otherwise. Version 1.0 is e-invoice: T-Pay
    only on T-Bank's form, no link for us to show."""
    params = status.get("Params")
    if not isinstance(params, dict) or params.get("Allowed") is not True:
        return ""
    version = params.get("Version")
    return version if isinstance(version, str) and re.fullmatch(r"2\.\d{1,3}", version) else ""


def tpay_offered(status: dict[str, Any]) -> bool:
    return bool(tpay_version(status))


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
    # A decline keeps T-Bank's own ErrorCode and Message (the buyer's bank's reason).
    code = str(doc.get("ErrorCode") or "0")
    return Snapshot(
        ref=str(doc.get("PaymentId", "")), state=state,
        action_url=action_url if state is SessionState.AWAITING_BUYER else "",
        error_code=(f"{status.lower()}:{code}" if code != "0" else status.lower())
        if ended else "",
        error_message=str(doc.get("Message") or doc.get("Details") or "") if ended else "",
        recurrent_token=str(rebill) if isinstance(rebill, int | str) and rebill != "" else "",
        captured_amount=(captured if captured is not None else amount_of(doc))
        if state is SessionState.SUCCEEDED else None,
        refunds=refunds,
        attempt_hint=str(doc.get("OrderId") or ""),
    )


def refund_done(key: str, money: Money, doc: dict[str, Any]) -> tuple[RefundState, ...]:
    # T-Bank keeps no refund objects: a Cancel answered with success is a refund, named by our
    # ExternalRequestId; done once the payment is (PARTIAL_)REFUNDED, still processed while it
    # is REFUNDING (then asked again with the same id, which answers the state).
    status = RefundStatus.PENDING if doc.get("Status") in STILL_REFUNDING \
        else RefundStatus.SUCCEEDED
    return (RefundState(key, status, money.amount),)


STILL_REFUNDING = frozenset({"REFUNDING"})
