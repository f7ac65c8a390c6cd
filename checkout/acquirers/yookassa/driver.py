"""The YooKassa driver: Basic auth, `Idempotence-Key`, unsigned notifications as hints."""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import quote

import httpx

from checkout import jsonwire
from checkout.acquirers.base import (
    METHOD_UNAVAILABLE,
    OPTIONAL,
    REDACTED,
    REQUIRED,
    UNSUPPORTED,
    Capabilities,
    Family,
    FiscalReceipt,
    Notice,
    SessionState,
    Snapshot,
    StartRequest,
    as_record,
    require_source,
)
from checkout.acquirers.yookassa import wire
from checkout.acquirers.yookassa.receipt import receipt_doc
from checkout.domain.money import Money
from checkout.domain.receipts import Receipt
from checkout.errors import AcquirerError, WebhookRejected

CAPABILITIES = Capabilities(
    family=Family.PAGE,
    limits={"RUB": (1_00, 700_000_00)},  # `tinkoff_bank`: 1 to 700 000 ₽
    signed_webhooks=False,
    link_fixed_at_start=False,
    partial_capture=True,
    partial_refund=True,
    recurring=True,
    pay_seconds=3600,  # `tinkoff_bank`: the payment term is one hour
    receipts=OPTIONAL,  # per shop: `receipt_mode()`
)

# Where YooKassa sends notifications from (its documentation and official SDK list these).
YOOKASSA_NETWORKS = ("185.71.76.0/27", "185.71.77.0/27", "77.75.153.0/25", "77.75.156.11/32",
                     "77.75.156.35/32", "77.75.154.128/25", "2a02:5180::/32")


AUTO = "auto"  # the account's receipts: as YooKassa's `GET /me` says
RECEIPTS_READ_SECONDS = 600

_MAX_PAGES = 50  # of 100 refunds each: far more than one payment can take


class YooKassaDriver:
    acknowledgement: bytes | None = None  # any 200 will do
    name = "yookassa"
    capabilities = CAPABILITIES

    def __init__(self, *, base_url: str, shop_id: str, secret_key: str,
                 client: httpx.AsyncClient, notification_networks: tuple[str, ...],
                 timeout: float = 15.0, receipts: str = AUTO) -> None:
        self._base = base_url.rstrip("/") + "/"
        self._auth = httpx.BasicAuth(shop_id, secret_key)
        self._client = client
        self._timeout = timeout
        self._networks = [ipaddress.ip_network(n) for n in notification_networks]
        self._receipts = receipts
        self._receipts_read: tuple[float, str] | None = None  # (when, what GET /me said)

    async def start(self, request: StartRequest) -> Snapshot:
        doc = await self._call("POST", "payments", request.idempotency_key,
                               wire.create_body(request))
        return wire.snapshot(doc)

    async def confirm(self, ref: str, idempotency_key: str) -> Snapshot:
        return await self.fetch(ref)  # YooKassa asks no confirmation of the partner

    async def cancel(self, ref: str, idempotency_key: str) -> Snapshot:
        current = await self.fetch(ref)
        if current.state in (SessionState.AWAITING_BUYER, SessionState.PROCESSING):
            # YooKassa cancels only holds; an unpaid payment simply runs out (1 hour).
            return current
        return wire.snapshot(await self._call("POST", f"payments/{ref}/cancel",
                                              idempotency_key, {}))

    async def capture(self, ref: str, amount: Money | None, idempotency_key: str,
                      receipt: Receipt | None = None) -> Snapshot:
        body: dict[str, Any] = {"amount": wire.amount(amount)} if amount is not None else {}
        if receipt is not None and amount is not None:
            body["receipt"] = receipt_doc(receipt, amount.currency)
        return wire.snapshot(await self._call("POST", f"payments/{ref}/capture",
                                              idempotency_key, body))

    async def refund(self, ref: str, amount: Money, idempotency_key: str,
                     receipt: Receipt | None = None) -> Snapshot:
        body: dict[str, Any] = {"payment_id": ref, "amount": wire.amount(amount)}
        if receipt is not None:
            body["receipt"] = receipt_doc(receipt, amount.currency)
        await self._call("POST", "refunds", idempotency_key, body)
        return await self.fetch(ref)

    async def find_start(self, request: StartRequest) -> Snapshot | None:
        return None  # never asked: a repeated start with the same key is safe here

    async def fetch(self, ref: str) -> Snapshot:
        payment = await self._call("GET", f"payments/{ref}", None, None)
        refunds: list[dict[str, Any]] = []
        if payment.get("refunded_amount") or payment.get("status") == "succeeded":
            refunds = await self._refunds_of(ref)
        return wire.snapshot(payment, refunds)

    async def _refunds_of(self, ref: str) -> list[dict[str, Any]]:
        """Every refund of a payment: YooKassa's lists come in pages (`next_cursor`)."""
        refunds: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(_MAX_PAGES):
            query = f"refunds?payment_id={ref}&limit=100" + (
                f"&cursor={quote(cursor, safe='')}" if cursor else "")
            listed = await self._call("GET", query, None, None)
            items = listed.get("items")
            refunds += [r for r in items if isinstance(r, dict)] if isinstance(items, list) \
                else []
            cursor = str(listed.get("next_cursor") or "")
            if not cursor:
                return refunds
        raise AcquirerError(f"YooKassa refunds of {ref}: more than {_MAX_PAGES} pages",
                            temporary=True)

    async def disable_token(self, token: str, idempotency_key: str) -> None:
        # YooKassa has no call to revoke a saved method: we stop charging it, on our side.
        return None

    def parse_webhook(self, headers: dict[str, str], body: bytes, source_ip: str) -> Notice:
        require_source(source_ip, self._networks, "notification")
        try:
            doc = jsonwire.loads(body)
            event = str(doc["event"])
            obj = doc["object"]
            ref = str(obj["payment_id"] if event.startswith("refund.") else obj["id"])
            status = str(obj.get("status", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("not a YooKassa notification") from exc
        # Unsigned: a hint that something changed. The flow reads the payment itself.
        method = obj.get("payment_method") if isinstance(obj, dict) else None
        if isinstance(method, dict) and method.get("id"):  # a saved method's id is its token
            method["id"] = REDACTED
        return Notice(ref=ref, event_type=event, snapshot=None,
                      dedup_key=f"{event}:{obj.get('id')}:{status}",
                      record=as_record(doc))

    async def settle_receipt(self, ref: str, receipt: Receipt, prepaid: Money,
                             idempotency_key: str) -> FiscalReceipt:
        """`POST /receipts` of type `payment`, its settlement the prepayment."""
        doc = await self._call("POST", "receipts", idempotency_key, {
            "type": "payment", "payment_id": ref, "send": True,
            **receipt_doc(receipt, prepaid.currency),
            "settlements": [{"type": "prepayment", "amount": wire.amount(prepaid)}]})
        return wire.receipt_state(doc)

    async def receipt_mode(self) -> str:
        """As the account's setting says; `auto`: as `GET /me` says (`fiscalization`), read
        at most every `RECEIPTS_READ_SECONDS`. When YooKassa cannot be asked, the last answer
        holds, and with none `optional`: a receipt the merchant sends is carried, and a shop
        that needs one refuses the start itself."""
        if self._receipts != AUTO:
            return self._receipts
        now = time.monotonic()
        if self._receipts_read and now - self._receipts_read[0] < RECEIPTS_READ_SECONDS:
            return self._receipts_read[1]
        try:
            doc = await self._call("GET", "me", None, None)
        except AcquirerError:
            return self._receipts_read[1] if self._receipts_read else OPTIONAL
        fiscal = doc.get("fiscalization")
        enabled = fiscal.get("enabled") if isinstance(fiscal, dict) \
            else doc.get("fiscalization_enabled")
        self._receipts_read = (now, REQUIRED if enabled is True else UNSUPPORTED)
        return self._receipts_read[1]

    async def check_connection(self) -> None:
        """`GET /me`: the shop these credentials open, and whether it takes T-Pay."""
        try:
            doc = await self._call("GET", "me", None, None)
        except AcquirerError as err:
            if err.code == "invalid_credentials":
                raise AcquirerError("YooKassa refuses the shop id and secret key "
                                    f"({err.detail})", code=err.code) from err
            raise
        if doc.get("status", "enabled") != "enabled":
            raise AcquirerError(f"YooKassa shop {doc.get('account_id')} is "
                                f"{doc.get('status')}", code=METHOD_UNAVAILABLE)
        methods = doc.get("payment_methods")
        if isinstance(methods, list) and "tinkoff_bank" not in methods:
            raise AcquirerError(f"YooKassa shop {doc.get('account_id')} does not take T-Pay "
                                "(tinkoff_bank is not among its payment methods)",
                                code=METHOD_UNAVAILABLE)

    async def _call(self, method: str, path: str, key: str | None,
                    payload: dict[str, Any] | None) -> dict[str, Any]:
        headers = {"Idempotence-Key": key} if key else {}
        try:
            resp = await self._client.request(method, self._base + path, json=payload,
                                              headers=headers, auth=self._auth,
                                              timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise AcquirerError(f"YooKassa {path}: {type(exc).__name__}", temporary=True) from exc
        try:
            doc = jsonwire.loads(resp.content)  # a deep answer is garbled, not a crash
        except ValueError:
            doc = None
        if resp.status_code == 200 and isinstance(doc, dict) and doc.get("type") != "error":
            return doc
        err = doc if isinstance(doc, dict) else {}
        code = str(err.get("code", ""))
        # 202: still working on it; 429 and 5xx: try again later; an unreadable 200: we do
        # not know what happened, so ask again with the same Idempotence-Key.
        temporary = resp.status_code in (200, 202, 429) or resp.status_code >= 500
        raise AcquirerError(f"YooKassa {path}: {code or resp.status_code} "
                            f"{err.get('description', '')}".strip(), code=code,
                            temporary=temporary)
