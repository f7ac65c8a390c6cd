"""The T-Bank eacq driver: Token-signed JSON calls, T-Pay's status and link, Token-signed
notifications.

Facts it relies on, and how it reads the unconfirmed ones (sources in the README):
- `Init` has no idempotency key, and what a repeated `OrderId` does is unconfirmed: a start
  whose answer was lost is looked for with `CheckOrder` (our attempt id is the `OrderId`),
  never sent again blind.
- `Cancel` with `ExternalRequestId` is idempotent (a repeat returns the state): a refund or a
  release whose answer was lost is asked again with the same id.
- T-Pay for saved methods (`Recurrent: "Y"`, then `Charge` with the `RebillId`) is
  unconfirmed: it is behind the `recurring` setting, off unless turned on (on in the sandbox).
  The `RebillId` comes in the notification on AUTHORIZED (or CONFIRMED), never in GetState:
  the flow keeps it from whichever notification carried it.
- `ErrorCode` 3 and 9999 are T-Bank's internal errors: the outcome is unknown, so they are
  temporary (asked again with the same `ExternalRequestId`, or looked at), never a refusal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import ipaddress
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from checkout import jsonwire
from checkout.acquirers.base import (
    METHOD_UNAVAILABLE,
    OPTIONAL,
    Capabilities,
    Family,
    FiscalReceipt,
    Notice,
    Snapshot,
    StartRequest,
    redact,
    require_source,
)
from checkout.acquirers.tbank import wire
from checkout.acquirers.tbank.receipt import receipt_doc
from checkout.domain.money import Money
from checkout.domain.receipts import Receipt
from checkout.errors import AcquirerError, WebhookRejected

CAPABILITIES = Capabilities(
    family=Family.LINK,
    limits={"RUB": (1_00, 1_000_000_00)},
    signed_webhooks=True,
    link_fixed_at_start=False,  # one T-Pay link: the phone's button and the desktop's QR
    partial_capture=True,
    partial_refund=True,
    recurring=False,  # T-Pay recurring is unconfirmed: the `recurring` setting turns it on
    # "Confirm within 7 days, including the day of authorization" (paid on 1 March: by 7
    # March inclusive), on Moscow's calendar.
    hold_seconds=7 * 24 * 3600,
    hold_calendar_days=7,
    local_utc_offset_hours=3,
    idempotent_start=False,
    captures_itself=True,  # PayType O: AUTHORIZED (notified, with RebillId), then CONFIRMED
)
# T-Bank's internal errors: the outcome is unknown, not refused (look, or ask again with the
# same ExternalRequestId).
INTERNAL_ERRORS = frozenset({"3", "9999"})

# Where T-Bank sends notifications from (its documentation names these networks).
TBANK_NETWORKS = ("91.194.226.0/23", "91.218.132.0/22", "212.49.24.0/24", "212.233.80.0/22")
STATUS_CACHE_SECONDS = 600.0  # how long T-Pay's "allowed" for the terminal is trusted
ORDER_NOT_FOUND = "335"  # CheckOrder: "OrderId … не найден для TerminalKey …"
BAD_TOKEN = "204"  # noqa: S105 - an error code, not a password: "Неверный токен. Проверьте пару TerminalKey/SecretKey"


class TbankDriver:
    name = "tbank"
    # T-Bank takes a notification as delivered on `OK`, nothing else.
    acknowledgement: bytes | None = b"OK"

    def __init__(self, *, base_url: str, terminal_key: str, password: str,
                 notification_url: str, client: httpx.AsyncClient, recurring: bool = False,
                 notification_networks: tuple[str, ...] = TBANK_NETWORKS,
                 pay_seconds: int = 20 * 60, timeout: float = 15.0,
                 receipts: str = OPTIONAL, ffd_version: str = "1.05") -> None:
        self._base = base_url.rstrip("/") + "/"
        self._terminal, self._password = terminal_key, password
        self._notification_url = notification_url
        self._client = client
        self._timeout = timeout
        self._pay_seconds = pay_seconds
        self._networks = [ipaddress.ip_network(n) for n in notification_networks]
        self.capabilities = dataclasses.replace(CAPABILITIES, recurring=recurring,
                                                pay_seconds=pay_seconds, receipts=receipts)
        self._ffd_version = ffd_version
        self._tpay_checked_at = -STATUS_CACHE_SECONDS
        self._tpay_version = wire.TPAY_VERSION  # as the terminal's status last named it
        self._tpay_lock = asyncio.Lock()

    # ---- the session ------------------------------------------------------------------------

    async def start(self, request: StartRequest) -> Snapshot:
        if request.token:
            return await self._charge(request)
        await self._require_tpay()
        doc = await self._post("Init", wire.init_body(
            request, notification_url=self._notification_url, pay_seconds=self._pay_seconds,
            now=datetime.now(UTC), ffd_version=self._ffd_version))
        return await self._with_link(doc)

    async def find_start(self, request: StartRequest) -> Snapshot | None:
        try:
            doc = await self._post("CheckOrder",
                                   {"OrderId": wire.order_id(request.idempotency_key)})
        except AcquirerError as err:
            if err.code == ORDER_NOT_FOUND:
                return None  # T-Bank has no payment of this order: starting again is safe
            raise AcquirerError(err.detail, code=err.code, temporary=True) from err
        payments = [p for p in doc.get("Payments") or [] if isinstance(p, dict)]
        if not payments:
            return None  # T-Bank has no payment of this order: starting again is safe
        # One order, one Init of ours: the newest payment is the one our lost call made.
        ref = str(payments[-1].get("PaymentId", ""))
        state = await self._post("GetState", {"PaymentId": ref})
        if request.token and state.get("Status") == "NEW":
            # Our Init reached T-Bank, our Charge did not: one payment is charged once.
            return await self._charge_payment(ref, request.token)
        return await self._with_link(state)

    async def confirm(self, ref: str, idempotency_key: str) -> Snapshot:
        return await self.fetch(ref)  # T-Pay asks no confirmation of the merchant

    async def cancel(self, ref: str, idempotency_key: str) -> Snapshot:
        doc = await self._post("Cancel", {"PaymentId": ref,
                                          "ExternalRequestId": idempotency_key})
        return wire.snapshot(doc)

    async def capture(self, ref: str, amount: Money | None, idempotency_key: str,
                      receipt: Receipt | None = None) -> Snapshot:
        body: dict[str, Any] = {"PaymentId": ref}
        if amount is not None:
            body["Amount"] = amount.amount
            if receipt is not None:
                body["Receipt"] = receipt_doc(receipt, self._ffd_version)
        doc = await self._post("Confirm", body)
        return wire.snapshot(doc, captured=amount.amount if amount is not None else None)

    async def refund(self, ref: str, amount: Money, idempotency_key: str,
                     receipt: Receipt | None = None) -> Snapshot:
        body: dict[str, Any] = {"PaymentId": ref, "Amount": amount.amount,
                                "ExternalRequestId": idempotency_key}
        if receipt is not None:
            body["Receipt"] = receipt_doc(receipt, self._ffd_version)
        doc = await self._post("Cancel", body)
        return wire.snapshot(doc, refunds=wire.refund_done(idempotency_key, amount, doc))

    async def fetch(self, ref: str) -> Snapshot:
        return await self._with_link(await self._post("GetState", {"PaymentId": ref}))

    async def disable_token(self, token: str, idempotency_key: str) -> None:
        # A RebillId is revoked with its card (RemoveCard needs the CardId, which T-Pay does
        # not hand us): we stop charging it, on our side.
        return None

    # ---- notifications ----------------------------------------------------------------------

    def parse_webhook(self, headers: dict[str, str], body: bytes, source_ip: str) -> Notice:
        require_source(source_ip, self._networks, "notification")
        try:
            doc = jsonwire.loads(body)
            ref, status = str(doc["PaymentId"]), str(doc["Status"])
            received = str(doc["Token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("not a T-Bank notification") from exc
        if not hmac.compare_digest(received, wire.token(doc, self._password)) or \
                doc.get("TerminalKey") != self._terminal:
            raise WebhookRejected("bad Token", status=401)
        if status == wire.FISCAL_STATUS:
            # NotificationFiscalization: the cash register's word on the receipt, not on the
            # payment (a refund's receipt comes the same way, with its own document number).
            return Notice(ref=ref, event_type=status, snapshot=None,
                          dedup_key=f"{ref}:{status}:{doc.get('FiscalDocumentNumber')}",
                          fiscal=wire.fiscal(doc))
        return Notice(
            ref=ref, event_type=status, snapshot=wire.snapshot(doc),
            dedup_key=f"{ref}:{status}:{doc.get('Amount')}:{doc.get('ErrorCode')}",
            attempt_hint=str(doc.get("OrderId") or ""),
            record=redact(doc, lambda key, _: key == "RebillId") if "RebillId" in doc else b"")

    # ---- the wire ---------------------------------------------------------------------------

    async def _charge(self, request: StartRequest) -> Snapshot:
        doc = await self._post("Init", wire.init_body(
            request, notification_url=self._notification_url, pay_seconds=self._pay_seconds,
            now=datetime.now(UTC), ffd_version=self._ffd_version))
        return await self._charge_payment(str(doc.get("PaymentId", "")), request.token)

    async def _charge_payment(self, ref: str, rebill_id: str) -> Snapshot:
        return wire.snapshot(await self._post("Charge", {"PaymentId": ref,
                                                         "RebillId": rebill_id}))

    async def _with_link(self, doc: dict[str, Any]) -> Snapshot:
        """The snapshot, with the T-Pay link while the buyer has yet to approve."""
        if not wire.awaiting_buyer(doc):
            return wire.snapshot(doc)
        link = await self._get(f"TinkoffPay/transactions/{doc.get('PaymentId')}/versions/"
                               f"{self._tpay_version}/link")
        url = wire.redirect_url(link)
        if not url:
            raise AcquirerError("T-Bank T-Pay link: no RedirectUrl in the answer",
                                temporary=True)
        return wire.snapshot(doc, action_url=url)

    async def settle_receipt(self, ref: str, receipt: Receipt, prepaid: Money,
                             idempotency_key: str) -> FiscalReceipt:
        """`SendClosingReceipt`: the cash register's word comes later, as a `RECEIPT`
        notification. T-Bank keeps no key of ours: the flow sends it once."""
        doc = receipt_doc(receipt, self._ffd_version)
        doc["Payments"] = {"AdvancePayment": prepaid.amount}
        await self._post("SendClosingReceipt", {"PaymentId": ref, "Receipt": doc})
        return FiscalReceipt("pending")

    async def receipt_mode(self) -> str:
        # T-Bank says nowhere in its API whether a terminal has an online cash register: the
        # owner says so in the account's settings (TBANK_RECEIPTS).
        return self.capabilities.receipts

    async def check_connection(self) -> None:
        """T-Pay's terminal status (the terminal exists and takes T-Pay; it carries no Token),
        then a signed `CheckOrder` of an order nobody made (the password signs)."""
        try:
            status = await self._get(f"TinkoffPay/terminals/{self._terminal}/status")
        except AcquirerError as err:
            if err.temporary:
                raise
            raise AcquirerError(f"T-Bank does not know terminal {self._terminal} "
                                f"({err.detail})", code=err.code) from err
        if not wire.tpay_offered(status):
            raise AcquirerError(f"T-Bank: T-Pay is not enabled for terminal {self._terminal}",
                                code=METHOD_UNAVAILABLE)
        try:
            await self._post("CheckOrder", {"OrderId": "connection-check"})
        except AcquirerError as err:
            if err.code == ORDER_NOT_FOUND:
                return  # signed well, and rightly nothing there
            if err.code == BAD_TOKEN:
                raise AcquirerError(f"T-Bank refuses the password of terminal "
                                    f"{self._terminal} ({err.detail})", code=err.code) from err
            raise

    async def _require_tpay(self) -> None:
        """T-Pay must be allowed for the terminal, in its own flow (version 2.0)."""
        async with self._tpay_lock:
            if time.monotonic() - self._tpay_checked_at < STATUS_CACHE_SECONDS:
                return
            doc = await self._get(f"TinkoffPay/terminals/{self._terminal}/status")
            version = wire.tpay_version(doc)
            if not version:
                found = doc.get("Params")
                params = found if isinstance(found, dict) else {}
                raise AcquirerError(
                    f"T-Bank: T-Pay is not enabled for terminal {self._terminal} "
                    f"(allowed {params.get('Allowed')}, version {params.get('Version')})",
                    code=METHOD_UNAVAILABLE)
            self._tpay_version = version
            self._tpay_checked_at = time.monotonic()

    async def _post(self, method: str, fields: dict[str, Any]) -> dict[str, Any]:
        body = wire.signed(fields, self._terminal, self._password)
        return await self._send("POST", method, body)

    async def _get(self, path: str) -> dict[str, Any]:
        return await self._send("GET", path, None)  # T-Pay's GET methods carry no Token

    async def _send(self, verb: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            resp = await self._client.request(verb, self._base + path, json=body,
                                              timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise AcquirerError(f"T-Bank {path}: {type(exc).__name__}", temporary=True) from exc
        doc = jsonwire.loads_object(resp.content)  # a deep answer is garbled, not a crash
        if doc is None:
            # We do not know whether the call took effect: ask again (or look first).
            raise AcquirerError(f"T-Bank {path}: unreadable answer (HTTP {resp.status_code})",
                                temporary=True)
        code = str(doc.get("ErrorCode", "0"))
        if resp.status_code < 300 and doc.get("Success") is not False and code == "0":
            return doc
        raise AcquirerError(
            f"T-Bank {path}: {code} {doc.get('Message') or ''} {doc.get('Details') or ''}"
            .strip(), code=code, temporary=resp.status_code >= 500 or
            resp.status_code == 429 or code in INTERNAL_ERRORS)


