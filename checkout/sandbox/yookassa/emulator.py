"""YooKassa's API v3 for `tinkoff_bank`, emulated: paths, Basic auth, `Idempotence-Key`,
decimal-string amounts, statuses, cancellation details, unsigned notifications, timings.

A payment moves as the real one does:
    POST /payments ─▶ pending, confirmation_url (YooMoney's page with the T-Pay button)
    buyer approves ─▶ waiting_for_capture (capture=false) or succeeded ─▶ notification
    buyer declines, or the payment term passes ─▶ canceled (general_decline /
    expired_on_confirmation); a hold not captured in time ─▶ canceled (expired_on_capture)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from checkout import jsonwire
from checkout.sandbox.docstore import DocStore
from checkout.sandbox.faults import FaultBook
from checkout.sandbox.lifecycle import Emulator
from checkout.sandbox.outbound import Outbound
from checkout.sandbox.yookassa import receipts

MIN_RUB, MAX_RUB = Decimal("1.00"), Decimal("700000.00")
DESCRIPTION_MAX = 128


@dataclass(frozen=True)
class YooKassaConfig:
    public_url: str
    webhook_url: str  # the shop's notification URL, as set in YooKassa's dashboard
    shop_id: str
    secret_key: str
    db_path: Path
    # More shops, each with its own contract: shop id -> (secret key, notification URL). A
    # shop sees only its own payments, refunds and saved methods.
    other_shops: dict[str, tuple[str, str]] = field(default_factory=dict)
    pay_seconds: int = 3600  # the payment term: unpaid after this, it is canceled
    hold_seconds: int = 7 * 24 * 3600
    webhooks: bool = True
    refund_seconds: float = 0.3  # how long a refund stays pending before it succeeds
    # Shops with receipts on (a cash register through YooKassa): a payment, a partial capture
    # and a refund without a receipt are refused, as YooKassa refuses them.
    fiscal_shops: frozenset[str] = frozenset()


class YooError(Exception):
    def __init__(self, status: int, code: str, description: str, parameter: str = "") -> None:
        super().__init__(description)
        self.status, self.code, self.description, self.parameter = (
            status, code, description, parameter)

    def body(self) -> dict[str, Any]:
        doc = {"type": "error", "id": str(uuid.uuid4()), "code": self.code,
               "description": self.description}
        if self.parameter:
            doc["parameter"] = self.parameter
        return doc


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _payment_id() -> str:
    # YooKassa's ids look like "2d1b6ea4-000f-5000-9000-1b68e7b15f3f".
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-000f-5000-9000-{raw[20:32]}"


def _amount(doc: Any, parameter: str) -> Decimal:
    if not isinstance(doc, dict) or doc.get("currency") != "RUB":
        raise YooError(400, "invalid_request", "amount must be {value, currency: RUB}",
                       parameter)
    value = doc.get("value")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise YooError(400, "invalid_request", "amount.value is not a number",
                       f"{parameter}.value") from exc
    if not isinstance(value, str | int | float) or isinstance(value, bool) or \
            number != number.quantize(Decimal("0.01")) or number <= 0:
        raise YooError(400, "invalid_request", "amount.value must be positive, 2 decimals",
                       f"{parameter}.value")
    return number.quantize(Decimal("0.01"))


def _money(value: Decimal) -> dict[str, str]:
    return {"value": str(value), "currency": "RUB"}


class YooKassaEmulator(Emulator):
    name = "yookassa"

    def __init__(self, config: YooKassaConfig, client: httpx.AsyncClient,
                 faults: FaultBook) -> None:
        self.config = config
        # shop id -> (secret key, notification URL)
        self._shops = {config.shop_id: (config.secret_key, config.webhook_url),
                       **config.other_shops}
        self._store = DocStore(config.db_path)
        self._out = Outbound(self.name, client, faults,
                             journal=config.db_path.with_name(f"{self.name}-webhooks.db"))
        self._lock = asyncio.Lock()
        self.fiscal_shops = set(config.fiscal_shops)  # a knob for tests, as the dashboard's

    # ---- the API ----------------------------------------------------------------------------

    def describe(self, method: str, path: str, body: bytes) -> tuple[str, dict[str, Any]]:
        """(operation, our metadata) of a call, for aiming faults at it."""
        parts = path.strip("/").split("/")
        meta: dict[str, Any] = {}
        if method == "POST" and parts == ["payments"]:
            with contextlib.suppress(ValueError, AttributeError):
                meta = jsonwire.loads(body).get("metadata") or {}
        elif len(parts) >= 2 and parts[0] == "payments":
            meta = (self._store.get("payment", parts[1]) or {}).get("metadata") or {}
        elif parts == ["refunds"] and method == "POST":
            with contextlib.suppress(ValueError, AttributeError):
                paid = self._store.get("payment", str(jsonwire.loads(body).get("payment_id")))
                meta = (paid or {}).get("metadata") or {}
        operation = f"{method} " + "/".join("{id}" if i == 1 else p for i, p in enumerate(parts))
        return operation, meta if isinstance(meta, dict) else {}

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes,
                     query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            shop = self._authenticate(headers)
            parts = path.strip("/").split("/")
            if method == "GET":
                return 200, self._read(parts, query, shop)
            payload = self._json(body)
            key = headers.get("idempotence-key", "")
            if not key:
                raise YooError(400, "invalid_request", "Idempotence-Key header is required",
                               "Idempotence-Key")
            digest = hashlib.sha256(f"{method} {path}\0".encode() + body).hexdigest()
            seen = self._store.remembered(shop, key)
            if seen:
                if seen[0] != digest:
                    raise YooError(400, "invalid_request", "Idempotence-Key was used with "
                                   "another request", "Idempotence-Key")
                return seen[1], json.loads(seen[2])
            try:
                async with self._lock:
                    status, answer = 200, self._write(parts, payload, shop)
            except YooError as err:
                if err.status >= 500:
                    raise
                status, answer = err.status, err.body()
            self._store.remember(shop, key, digest, status, json.dumps(answer))
            return status, answer
        except YooError as err:
            return err.status, err.body()

    def _authenticate(self, headers: dict[str, str]) -> str:
        """The shop whose Basic credentials these are."""
        try:
            kind, _, encoded = headers.get("authorization", "").partition(" ")
            shop, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            kind, shop, secret = "", "", ""
        known = self._shops.get(shop)
        if kind != "Basic" or known is None or not hmac.compare_digest(known[0], secret):
            raise YooError(401, "invalid_credentials", "Basic auth shopId:secretKey is wrong")
        return shop

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            doc = jsonwire.loads(body or b"{}")
        except ValueError as exc:
            raise YooError(400, "invalid_request", "the body is not JSON") from exc
        if not isinstance(doc, dict):
            raise YooError(400, "invalid_request", "the body must be a JSON object")
        return doc

    def _read(self, parts: list[str], query: dict[str, str], shop: str) -> dict[str, Any]:
        if parts == ["me"]:
            # The shop's own settings (`GET /me`), as far as T-Pay needs them.
            fiscal = shop in self.fiscal_shops
            return {"account_id": shop, "test": True, "fiscalization_enabled": fiscal,
                    "fiscalization": {"enabled": fiscal, "provider": "yoo_receipt"}
                    if fiscal else {"enabled": False},
                    "payment_methods": ["tinkoff_bank"], "status": "enabled"}
        if parts == ["receipts"]:
            subject = query.get("payment_id") or query.get("refund_id") or ""
            paid = self._store.get("payment", query.get("payment_id", "")) or \
                self._store.get("payment", (self._store.get("refund", subject) or {}).get(
                    "payment_id", ""))
            mine = paid is not None and self._shop_of(paid) == shop
            return self._page([self._public_receipt(r) for r in
                               self._store.all_by_alias("receipt", subject)] if mine else [],
                              query)
        if len(parts) == 2 and parts[0] == "payments":
            return self._payment(parts[1], shop)
        if parts == ["refunds"]:
            paid = self._store.get("payment", query.get("payment_id", ""))
            mine = paid is not None and self._shop_of(paid) == shop
            return self._page(self._store.all_by_alias("refund", query.get("payment_id", ""))
                              if mine else [], query)
        if len(parts) == 2 and parts[0] == "refunds":
            refund = self._store.get("refund", parts[1])
            paid = self._store.get("payment", refund["payment_id"]) if refund else None
            if refund is None or paid is None or self._shop_of(paid) != shop:
                raise YooError(404, "not_found", "refund not found")
            return refund
        raise YooError(404, "not_found", "no such resource")

    def _write(self, parts: list[str], payload: dict[str, Any], shop: str) -> dict[str, Any]:
        if parts == ["payments"]:
            return self._create(payload, shop)
        if len(parts) == 3 and parts[0] == "payments" and parts[2] == "capture":
            return self._capture(self._payment(parts[1], shop), payload)
        if len(parts) == 3 and parts[0] == "payments" and parts[2] == "cancel":
            return self._cancel(self._payment(parts[1], shop))
        if parts == ["refunds"]:
            return self._refund(payload, shop)
        if parts == ["receipts"]:
            return self._settlement(payload, shop)
        raise YooError(404, "not_found", "no such resource")

    def _payment(self, payment_id: str, shop: str) -> dict[str, Any]:
        payment = self._store.get("payment", payment_id)
        if payment is None or self._shop_of(payment) != shop:
            raise YooError(404, "not_found", "payment not found")
        return payment

    @staticmethod
    def _shop_of(payment: dict[str, Any]) -> str:
        return str(payment["recipient"]["account_id"])

    # ---- methods ------------------------------------------------------------------------------

    def _create(self, payload: dict[str, Any], shop: str) -> dict[str, Any]:
        value = _amount(payload.get("amount"), "amount")
        if not MIN_RUB <= value <= MAX_RUB:
            raise YooError(400, "invalid_request", "tinkoff_bank takes 1 to 700 000 RUB",
                           "amount.value")
        description = payload.get("description", "")
        if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
            raise YooError(400, "invalid_request", "description is at most 128 characters",
                           "description")
        metadata = payload.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise YooError(400, "invalid_request", "metadata must be an object", "metadata")
        saved_id = payload.get("payment_method_id")
        method_data = payload.get("payment_method_data")
        if method_data is not None:
            # The `tinkoff_bank` page: "any other parameter in the request except for
            # payment_method_id, payment_token, airline".
            for refused in ("payment_method_id", "payment_token", "airline"):
                if payload.get(refused) is not None:
                    raise YooError(400, "invalid_request",
                                   f"{refused} cannot be used with tinkoff_bank", refused)
        saved: dict[str, Any] | None = None
        if saved_id is not None:
            saved = self._store.get("method", str(saved_id))
            if saved is not None:
                saved = dict(saved)
                owner = saved.pop("shop", shop)
                saved = saved if owner == shop else None
            if saved is None or not saved.get("saved"):
                raise YooError(400, "invalid_request", "unknown payment_method_id",
                               "payment_method_id")
        elif not isinstance(method_data, dict) or method_data.get("type") != "tinkoff_bank":
            raise YooError(400, "invalid_request", "payment_method_data.type must be "
                           "tinkoff_bank", "payment_method_data.type")
        confirmation = payload.get("confirmation")
        if saved is None and (not isinstance(confirmation, dict) or
                              confirmation.get("type") != "redirect" or
                              not str(confirmation.get("return_url", "")).startswith("http")):
            raise YooError(400, "invalid_request", "confirmation must be a redirect with a "
                           "return_url", "confirmation")
        receipt = self._receipt(payload, shop, value, required=True)
        now = _now()
        payment_id = _payment_id()
        payment: dict[str, Any] = {
            "id": payment_id, "status": "pending", "paid": False, "amount": _money(value),
            "description": description, "metadata": metadata,
            "recipient": {"account_id": shop, "gateway_id": "100500"},
            "payment_method": saved or {"type": "tinkoff_bank", "id": payment_id,
                                        "saved": False},
            "created_at": _iso(now), "test": True, "refundable": False,
            "refunded_amount": _money(Decimal("0.00")),
            # YooKassa's default is two-stage: `capture` must be true to capture at once.
            "capture": payload.get("capture") is True,  # kept for the buyer's decision
            "save_payment_method": bool(payload.get("save_payment_method")),
        }
        if receipt is not None:
            payment["receipt_registration"] = "pending"
            self._keep_receipt(receipt, "payment", payment_id, payment_id)
        if isinstance(confirmation, dict):
            payment["confirmation"] = {
                "type": "redirect", "return_url": confirmation["return_url"],
                "confirmation_url": f"{self.config.public_url}/sandbox/yookassa/checkout/"
                                    f"{payment_id}"}
        if saved is not None and payment.get("confirmation") is None:
            # A saved method charged without the buyer: decided at once.
            return self._paid(payment, notify=True)
        self._save(payment, deadline=time.time() + self.config.pay_seconds)
        return self._public(payment)

    def _capture(self, payment: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        if payment["status"] != "waiting_for_capture":
            raise YooError(400, "invalid_request",
                           f"only waiting_for_capture can be captured; this is "
                           f"{payment['status']}")
        held = Decimal(payment["amount"]["value"])
        value = _amount(payload["amount"], "amount") if "amount" in payload else held
        if value > held:
            raise YooError(400, "invalid_request", "capture exceeds the held amount",
                           "amount.value")
        # Capturing less than was held, a shop with receipts sends the receipt of what it
        # captures; the whole amount keeps the payment's.
        receipt = self._receipt(payload, self._shop_of(payment), value, required=value < held)
        if receipt is not None:
            self._keep_receipt(receipt, "payment", payment["id"], payment["id"], replace=True)
        payment.update(status="succeeded", amount=_money(value), captured_at=_iso(_now()),
                       income_amount=_money(value), refundable=True)
        self._registered(payment)
        payment.pop("expires_at", None)
        self._save(payment, deadline=None)
        self._notify("payment.succeeded", payment)
        return self._public(payment)

    def _cancel(self, payment: dict[str, Any]) -> dict[str, Any]:
        if payment["status"] == "canceled":
            return self._public(payment)
        if payment["status"] != "waiting_for_capture":
            raise YooError(400, "invalid_request",
                           f"only waiting_for_capture can be canceled; this is "
                           f"{payment['status']}")
        self._end(payment, "merchant", "canceled_by_merchant")
        return self._public(payment)

    def _refund(self, payload: dict[str, Any], shop: str) -> dict[str, Any]:
        payment = self._payment(str(payload.get("payment_id", "")), shop)
        if payment["status"] != "succeeded":
            raise YooError(400, "invalid_request", "only a succeeded payment can be refunded",
                           "payment_id")
        value = _amount(payload.get("amount"), "amount")
        pending = Decimal(str(payment.get("pending_refunds", "0")))
        left = Decimal(payment["amount"]["value"]) - \
            Decimal(payment["refunded_amount"]["value"]) - pending
        if value > left:
            raise YooError(400, "invalid_request", "the refund exceeds what is left",
                           "amount.value")
        receipt = self._receipt(payload, shop, value, required=True)
        # YooKassa: a refund may stay `pending` a while before it succeeds.
        refund = {"id": _payment_id().replace("-000f-", "-0015-"), "payment_id": payment["id"],
                  "status": "pending", "created_at": _iso(_now()), "amount": _money(value)}
        if receipt is not None:
            refund["receipt_registration"] = "pending"
            self._keep_receipt(receipt, "refund", refund["id"], payment["id"])
        self._store.put("refund", refund, alias=payment["id"],
                        deadline=time.time() + self.config.refund_seconds)
        payment["pending_refunds"] = str(pending + value)
        payment["refundable"] = value < left
        self._save(payment, deadline=None)
        return refund

    def _refund_done(self, refund: dict[str, Any]) -> None:
        payment = self._store.get("payment", refund["payment_id"])
        assert payment is not None
        value = Decimal(refund["amount"]["value"])
        refund["status"] = "succeeded"
        if "receipt_registration" in refund:
            refund["receipt_registration"] = "succeeded"
        self._store.put("refund", refund, alias=payment["id"], deadline=None)
        payment["pending_refunds"] = str(Decimal(str(payment.get("pending_refunds", "0"))) -
                                         value)
        payment["refunded_amount"] = _money(
            Decimal(payment["refunded_amount"]["value"]) + value)
        self._save(payment, deadline=None)
        self._notify("refund.succeeded", refund, payment["metadata"])

    @staticmethod
    def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        """A list as YooKassa pages it: `limit` items (1..100, default 10) from `cursor`,
        and `next_cursor` while more are left."""
        try:
            limit = int(query.get("limit", "10"))
            start = int(query.get("cursor") or "0")
        except ValueError as exc:
            raise YooError(400, "invalid_request", "limit and cursor must be numbers",
                           "limit") from exc
        if not 1 <= limit <= 100 or start < 0:
            raise YooError(400, "invalid_request", "limit must be 1..100", "limit")
        page: dict[str, Any] = {"type": "list", "items": items[start:start + limit]}
        if start + limit < len(items):
            page["next_cursor"] = str(start + limit)
        return page

    # ---- receipts ---------------------------------------------------------------------------

    def _receipt(self, payload: dict[str, Any], shop: str, paid: Decimal,
                 required: bool) -> dict[str, Any] | None:
        """The request's receipt, checked; None when it carries none and may not."""
        if payload.get("receipt") is None:
            if required and shop in self.fiscal_shops:
                raise YooError(400, "invalid_request", receipts.ILLEGAL, "receipt")
            return None
        try:
            return receipts.check(payload["receipt"], paid)
        except receipts.ReceiptRefused as refused:
            raise YooError(400, "invalid_request", refused.description,
                           refused.parameter) from None

    def _keep_receipt(self, receipt: dict[str, Any], kind: str, subject: str,
                      payment_id: str, replace: bool = False) -> dict[str, Any]:
        """Kept as sent (the customer too, for the sandbox's own checks), listed by
        `GET /receipts` under its payment or refund; returns the stored receipt."""
        if replace:
            for earlier in self._store.all_by_alias("receipt", subject):
                self._store.put("receipt", {**earlier, "status": "canceled"}, alias=subject)
        doc = {"id": _payment_id().replace("-000f-", "-0016-"), "type": kind,
               f"{kind}_id": subject, "status": "pending", "payment_id": payment_id,
               "request": receipt}
        self._store.put("receipt", doc, alias=subject)
        return doc

    def _registered(self, payment: dict[str, Any]) -> None:
        """Paid: the receipt goes to the cash register, which registers it."""
        if "receipt_registration" not in payment:
            return
        payment["receipt_registration"] = "succeeded"
        for receipt in self._store.all_by_alias("receipt", payment["id"]):
            if receipt["status"] == "pending" and receipt["type"] == "payment":
                receipt.update(status="succeeded", fiscal_document_number="3986",
                               fiscal_storage_number="9288000100115785",
                               fiscal_attribute="2617603921",
                               registered_at=_iso(_now()), fiscal_provider_id="fd_sandbox")
                self._store.put("receipt", receipt, alias=payment["id"])

    def _settlement(self, payload: dict[str, Any], shop: str) -> dict[str, Any]:
        """`POST /receipts`: a receipt of its own, here the closing receipt of a prepaid
        payment (`settlements` of type `prepayment`), its items now paid in full."""
        if shop not in self.fiscal_shops:
            raise YooError(403, "forbidden", "the shop does not send receipts through YooKassa")
        if payload.get("type") != "payment":
            raise YooError(400, "invalid_request", "type must be payment or refund", "type")
        payment = self._payment(str(payload.get("payment_id", "")), shop)
        if payment["status"] != "succeeded":
            raise YooError(400, "invalid_request", "the payment is not succeeded", "payment_id")
        settlements = payload.get("settlements")
        if not isinstance(settlements, list) or not settlements:
            raise YooError(400, "invalid_request", "settlements are required", "settlements")
        total = sum((_amount(s.get("amount") if isinstance(s, dict) else None,
                             "settlements.amount") for s in settlements), Decimal(0))
        if any(not isinstance(s, dict) or s.get("type") not in ("cashless", "prepayment",
                                                                  "postpayment", "consideration")
               for s in settlements):
            raise YooError(400, "invalid_request", "unknown settlement type", "settlements")
        # A receipt of its own: `customer`, `items`, `tax_system_code` at the top.
        receipt = self._receipt({"receipt": payload}, shop, total, required=True)
        assert receipt is not None
        if any(item.get("payment_mode", "full_payment") != "full_payment"
               for item in receipt["items"]):
            raise YooError(400, "invalid_request", "a settlement receipt's items are paid in "
                           "full", "items.payment_mode")
        doc = self._keep_receipt({k: receipt[k] for k in ("customer", "items",
                                                          "tax_system_code", "settlements")
                                  if k in receipt}, "payment", payment["id"], payment["id"])
        doc.update(status="succeeded", registered_at=_iso(_now()))
        self._store.put("receipt", doc, alias=payment["id"])
        return self._public_receipt(doc)

    @staticmethod
    def _public_receipt(doc: dict[str, Any]) -> dict[str, Any]:
        request = doc["request"]
        public = {k: v for k, v in doc.items() if k != "request"}
        public["items"] = request["items"]
        if "tax_system_code" in request:
            public["tax_system_code"] = request["tax_system_code"]
        return public

    # ---- the buyer, on YooMoney's page ----------------------------------------------------

    def buyer_view(self, payment_id: str) -> dict[str, Any] | None:
        payment = self._store.get("payment", payment_id)
        return self._public(payment) if payment else None

    async def buyer_decides(self, payment_id: str, approve: bool) -> dict[str, Any] | None:
        async with self._lock:
            payment = self._store.get("payment", payment_id)
            if payment is None or payment["status"] != "pending":
                return payment  # decided already: a double tap changes nothing
            if approve:
                self._paid(payment, notify=True)
            else:
                self._end(payment, "yoo_money", "general_decline")
        return payment

    def _paid(self, payment: dict[str, Any], *, notify: bool) -> dict[str, Any]:
        payment["paid"] = True
        if payment.pop("save_payment_method", False):
            method = {"type": "tinkoff_bank", "id": payment["id"], "saved": True,
                      "title": "T-Pay"}
            payment["payment_method"] = method
            self._store.put("method", {**method, "shop": self._shop_of(payment)})
        if payment["capture"]:
            payment.update(status="succeeded", captured_at=_iso(_now()), refundable=True,
                           income_amount=payment["amount"])
            self._registered(payment)
            deadline = None
            event = "payment.succeeded"
        else:
            expires = _now() + timedelta(seconds=self.config.hold_seconds)
            payment.update(status="waiting_for_capture", expires_at=_iso(expires))
            deadline = expires.timestamp()
            event = "payment.waiting_for_capture"
        self._save(payment, deadline=deadline)
        if notify:
            self._notify(event, payment)
        return self._public(payment)

    def _end(self, payment: dict[str, Any], party: str, reason: str) -> None:
        payment.update(status="canceled", cancellation_details={"party": party,
                                                                "reason": reason})
        payment.pop("expires_at", None)
        self._save(payment, deadline=None)
        self._notify("payment.canceled", payment)

    # ---- time -------------------------------------------------------------------------------

    async def expire_overdue(self) -> int:
        moved = 0
        for kind, doc_id in self._store.overdue(time.time()):
            async with self._lock:
                payment = self._store.get(kind, doc_id)
                if payment is not None and kind == "refund":
                    if payment["status"] == "pending":
                        self._refund_done(payment)
                        moved += 1
                    continue
                if payment is None or kind != "payment":
                    continue
                if payment["status"] == "pending":
                    self._end(payment, "yoo_money", "expired_on_confirmation")
                elif payment["status"] == "waiting_for_capture":
                    self._end(payment, "yoo_money", "expired_on_capture")
                else:
                    self._save(payment, deadline=None)
                    continue
            moved += 1
        return moved

    # ---- storage and notifications ----------------------------------------------------------

    def _save(self, payment: dict[str, Any], *, deadline: float | None) -> None:
        self._store.put("payment", payment, deadline=deadline)

    @staticmethod
    def _public(payment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in payment.items() if k not in ("capture",
                                                              "save_payment_method",
                                                              "pending_refunds")}

    def _notify(self, event: str, obj: dict[str, Any],
                meta: dict[str, Any] | None = None) -> None:
        if not self.config.webhooks:
            return
        body = json.dumps({"type": "notification", "event": event,
                           "object": self._public(obj)}).encode()
        subject = str(obj.get("payment_id") or obj["id"])
        paid = obj if "recipient" in obj else self._store.get("payment", subject)
        shop = self._shop_of(paid) if paid else self.config.shop_id
        url = self._shops.get(shop, ("", self.config.webhook_url))[1]
        self._out.send(url, body, {"Content-Type": "application/json"},
                       event=event, subject=subject,
                       meta=meta if meta is not None else obj.get("metadata") or {})
