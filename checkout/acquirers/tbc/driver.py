"""The TBC TPay driver: a cached access token, JSON calls, callbacks as hints."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import time
from typing import Any

import httpx

from checkout import jsonwire
from checkout.acquirers.base import (
    START_UNKNOWN,
    Capabilities,
    Family,
    FiscalReceipt,
    Notice,
    SessionState,
    Snapshot,
    StartRequest,
    require_source,
)
from checkout.acquirers.tbc import wire
from checkout.domain.money import Money
from checkout.domain.receipts import Receipt
from checkout.errors import AcquirerError, WebhookRejected

# TBC's standard limit for an e-commerce merchant (its e-commerce page: 3,000 GEL a payment,
# 10,000 GEL a day), raised per merchant by the bank: an account setting.
STANDARD_MAX_AMOUNT = 3000
CAPABILITIES = Capabilities(
    family=Family.PAGE,
    limits={c: (1, STANDARD_MAX_AMOUNT * 100) for c in ("GEL", "USD", "EUR")},
    signed_webhooks=False,
    link_fixed_at_start=False,
    partial_capture=True,
    partial_refund=True,
    # A partial cancel is allowed once on the transaction day (Tbilisi's), partial refunds
    # on later days: no fixed count overall.
    partial_refund_limit=None,
    partial_refunds_first_day=1,
    local_utc_offset_hours=4,
    recurring=True,
    hold_seconds=30 * 24 * 3600,  # a pre-authorisation is completed within 30 days
    idempotent_refunds=False,
    idempotent_start=False,  # TBC promises no de-duplication by merchantPaymentId
    reference_max=wire.EXTRA_MAX,
)

# Where TBC's callbacks come from (developers.tbcbank.ge, Create E-Commerce payment,
# `callbackUrl`: "verify that POST request is allowed ... from the following IP addresses").
TBC_NETWORKS = ("193.104.20.44/32", "193.104.20.45/32", "185.52.80.44/32", "185.52.80.45/32")

_REFRESH_MARGIN = 0.1  # renew the access token when a tenth of its life is left
# Failures before a request left us: TBC cannot have seen it.
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class TbcDriver:
    acknowledgement: bytes | None = None  # any 200 will do
    name = "tbc"
    capabilities = CAPABILITIES

    def __init__(self, *, base_url: str, api_key: str, client_id: str, client_secret: str,
                 callback_url: str, client: httpx.AsyncClient, methods: tuple[int, ...] = (5,),
                 expiration_minutes: int = 20, timeout: float = 15.0,
                 callback_networks: tuple[str, ...] = (),
                 max_amount: int = STANDARD_MAX_AMOUNT * 100) -> None:
        self.capabilities = dataclasses.replace(
            CAPABILITIES, limits={c: (1, max_amount) for c in CAPABILITIES.limits})
        self._base = base_url.rstrip("/") + "/"
        self._api_key = api_key
        self._client_id, self._client_secret = client_id, client_secret
        self._callback_url = callback_url
        self._client = client
        self._methods = list(methods)
        self._expiration = expiration_minutes
        self._timeout = timeout
        self._token = ""
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()
        self._networks = [ipaddress.ip_network(n) for n in callback_networks]

    async def start(self, request: StartRequest) -> Snapshot:
        extra = request.metadata.get("reference", "")
        extra = extra if wire.extra_ok(extra) else ""
        if request.token:
            doc = await self._call("POST", "payments/execution",
                                   wire.execution_body(request, extra))
            return await self.fetch(str(doc.get("payId", ""))) if doc.get("payId") else \
                wire.snapshot(doc)
        doc = await self._call("POST", "payments", wire.create_body(
            request, callback_url=self._callback_url, methods=self._methods,
            expiration_minutes=self._expiration, extra=extra))
        return wire.snapshot(doc)

    async def find_start(self, request: StartRequest) -> Snapshot | None:
        if not request.token:
            # A payment made for TBC's page takes no money until a buyer approves it there,
            # and nobody has its page: making another is safe; the first one runs out.
            return None
        # A charge of a saved card takes the money at once, and TBC offers no way to look it
        # up by our id (its GET's documented fields do not echo `merchantPaymentId`): never
        # send it again. TBC calls back on its final status; the flow ties that payment to
        # this attempt by what its GET shows (`flow.news`), and until then keeps watching.
        raise AcquirerError("TBC payments/execution: its answer was lost and TBC keeps no key; "
                            "waiting for TBC's callback", code=START_UNKNOWN, temporary=True)

    async def confirm(self, ref: str, idempotency_key: str) -> Snapshot:
        return await self.fetch(ref)  # TBC asks no confirmation of the merchant

    async def cancel(self, ref: str, idempotency_key: str) -> Snapshot:
        doc = await self._status(ref)
        current = wire.snapshot(doc)
        if current.state is not SessionState.AUTHORIZED or current.settling:
            # Nothing held (an unpaid payment simply runs out), or a completion still running:
            # its outcome comes first.
            return current
        await self._call("POST", f"payments/{ref}/cancel", {"amount": doc.get("amount")})
        return await self.fetch(ref)

    async def capture(self, ref: str, amount: Money | None, idempotency_key: str,
                      receipt: Receipt | None = None) -> Snapshot:
        if amount is None:
            amount_value: Any = (await self._status(ref)).get("amount")
        else:
            amount_value = wire.number(amount)
        await self._call("POST", f"payments/{ref}/completion", {"amount": amount_value})
        return await self.fetch(ref)

    async def refund(self, ref: str, amount: Money, idempotency_key: str,
                     receipt: Receipt | None = None) -> Snapshot:
        await self._call("POST", f"payments/{ref}/cancel", {"amount": wire.number(amount)})
        snap = await self.fetch(ref)
        return dataclasses.replace(snap, refunds=wire.refund_done(
            idempotency_key, amount, settled=not snap.settling))

    async def fetch(self, ref: str) -> Snapshot:
        return wire.snapshot(await self._status(ref))

    async def disable_token(self, token: str, idempotency_key: str) -> None:
        await self._call("POST", f"payments/{token}/delete", {})

    def parse_webhook(self, headers: dict[str, str], body: bytes, source_ip: str) -> Notice:
        # Unsigned: whoever sent it, we only learn "look at this payment" and read it ourselves.
        if self._networks:
            require_source(source_ip, self._networks, "callback")
        try:
            doc = jsonwire.loads(body)
            ref = str(doc["PaymentId"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("not a TBC callback") from exc
        if not ref or len(ref) > 128:
            raise WebhookRejected("not a TBC callback")
        # The hint has no identity of its own: the flow acts on one per payment per window.
        return Notice(ref=ref, event_type="callback", snapshot=None, dedup_key=f"callback:{ref}")

    # ---- the wire ---------------------------------------------------------------------------

    async def settle_receipt(self, ref: str, receipt: Receipt, prepaid: Money,
                             idempotency_key: str) -> FiscalReceipt:
        raise AcquirerError(f"{self.name} carries no 54-FZ receipt")

    async def receipt_mode(self) -> str:
        # No receipt in its payment API that we know of (docs/acquirers.md).
        return self.capabilities.receipts

    async def check_connection(self) -> None:
        """A fresh access token: TBC checks the apikey, client_id and client_secret."""
        try:
            await self._access_token(renew=True)
        except AcquirerError as err:
            if not err.temporary:
                raise AcquirerError("TBC refuses the apikey, client_id or client_secret "
                                    f"({err.detail})", code=err.code) from err
            raise

    async def _status(self, ref: str) -> dict[str, Any]:
        return await self._call("GET", f"payments/{ref}", None)

    async def _access_token(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            if renew or not self._token or time.monotonic() >= self._token_renew_at:
                doc = await self._send("POST", "access-token", None, form={
                    "client_id": self._client_id, "client_secret": self._client_secret})
                token, lifetime = doc.get("access_token"), doc.get("expires_in", 0)
                if not isinstance(token, str) or not token:
                    raise AcquirerError("TBC access-token: no token in the answer",
                                        temporary=True)
                self._token = token
                life = float(lifetime) if isinstance(lifetime, int | float) else 0.0
                self._token_renew_at = time.monotonic() + life * (1 - _REFRESH_MARGIN)
            return self._token

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None
                    ) -> dict[str, Any]:
        try:
            token = await self._access_token()
        except AcquirerError as err:  # the call itself never left
            raise AcquirerError(err.detail, code=err.code, temporary=err.temporary,
                                unsent=True) from err
        try:
            return await self._send(method, path, token, json_body=payload)
        except AcquirerError as err:
            if err.code != "unauthorized":
                raise
        # Revoked or expired early: one fresh token, one more try.
        return await self._send(method, path, await self._access_token(renew=True),
                                json_body=payload)

    async def _send(self, method: str, path: str, token: str | None, *,
                    json_body: dict[str, Any] | None = None,
                    form: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {"apikey": self._api_key}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = await self._client.request(method, self._base + path, json=json_body,
                                              data=form, headers=headers,
                                              timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise AcquirerError(f"TBC {path}: {type(exc).__name__}", temporary=True,
                                unsent=isinstance(exc, UNSENT)) from exc
        doc = jsonwire.loads_object(resp.content)  # a deep answer is garbled, not a crash
        if resp.status_code < 300 and doc is not None:
            return doc
        problem = doc or {}
        code = "unauthorized" if resp.status_code == 401 else \
            str(problem.get("code") or problem.get("systemCode") or "")
        temporary = resp.status_code < 300 or resp.status_code == 429 or \
            resp.status_code >= 500
        raise AcquirerError(f"TBC {path}: {resp.status_code} {problem.get('title', '')} "
                            f"{problem.get('detail', '')}".strip(), code=code,
                            temporary=temporary)
