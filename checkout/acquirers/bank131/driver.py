"""The Bank 131 / Smart Glocal driver: signed JSON POSTs over httpx."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from checkout import jsonwire
from checkout.acquirers.bank131 import wire
from checkout.acquirers.base import (
    Capabilities,
    Family,
    FiscalReceipt,
    Notice,
    SessionState,
    Snapshot,
    StartRequest,
    redact,
)
from checkout.domain.money import Money
from checkout.domain.receipts import Receipt
from checkout.errors import AcquirerError, WebhookRejected

CAPABILITIES = Capabilities(
    family=Family.LINK,
    limits={"RUB": (1_00, 700_000_00)},
    signed_webhooks=True,
    link_fixed_at_start=True,
    partial_capture=True,
    partial_refund=True,
    recurring=True,
)


# The error code the official SDK handles apart: this idempotency key was used before.
KEY_SEEN = "idempotency_key_already_exists"
# The bank's words for "these credentials are not good here".
AUTH_ERRORS = ("authentication_error", "authorization_error")


class Bank131Driver:
    """One protocol, two hosts: `name` is "bank131" or "smartglocal" (see `PRESETS`)."""

    acknowledgement: bytes | None = None  # any 200 will do
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        name: str = "bank131",
        base_url: str,
        project: str,
        private_key_pem: bytes,
        acquirer_public_key_pem: bytes,
        client: httpx.AsyncClient,
        timeout: float = 15.0,
        session_flow: str = "init",
    ) -> None:
        if session_flow not in ("init", "create_start"):
            raise ValueError("session_flow is 'init' or 'create_start'")
        self.name = name
        # "init": session/init/payment in one call; "create_start": session/create, then
        # session/start/payment (the same session, two idempotent calls).
        self._two_step = session_flow == "create_start"
        self._base = base_url.rstrip("/") + "/"
        self._project = project
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        pub = serialization.load_pem_public_key(acquirer_public_key_pem)
        if not isinstance(key, rsa.RSAPrivateKey) or not isinstance(pub, rsa.RSAPublicKey):
            raise ValueError("Bank 131 keys must be RSA")
        self._key = key
        self._acquirer_key = pub
        self._client = client
        self._timeout = timeout

    async def start(self, request: StartRequest) -> Snapshot:
        body = wire.init_payment_body(request)
        if not self._two_step:
            return await self._call("session/init/payment", body, request.idempotency_key)
        created = await self._call("session/create", {"metadata": body["metadata"]},
                                   request.idempotency_key)
        return await self._call("session/start/payment", {"session_id": created.ref, **body},
                                request.idempotency_key)

    async def confirm(self, ref: str, idempotency_key: str) -> Snapshot:
        return await self._call("session/confirm", {"session_id": ref}, idempotency_key)

    async def cancel(self, ref: str, idempotency_key: str) -> Snapshot:
        return await self._call("session/cancel", {"session_id": ref}, idempotency_key)

    async def capture(self, ref: str, amount: Money | None, idempotency_key: str,
                      receipt: Receipt | None = None) -> Snapshot:
        body: dict[str, Any] = {"session_id": ref}
        if amount is not None:
            body["amount_details"] = wire.amount_details(amount)
        snap = await self._call("session/capture", body, idempotency_key)
        if snap.state is SessionState.SUCCEEDED and snap.captured_amount is None and \
                amount is not None:
            # The bank's examples show `amounts.fee` without `gross`: what was captured is what
            # we asked for.
            snap = dataclasses.replace(snap, captured_amount=amount.amount)
        return snap

    async def refund(self, ref: str, amount: Money, idempotency_key: str,
                     receipt: Receipt | None = None) -> Snapshot:
        body = {"session_id": ref, "amount_details": wire.amount_details(amount)}
        return await self._call("session/refund", body, idempotency_key)

    async def find_start(self, request: StartRequest) -> Snapshot | None:
        return None  # never asked: a repeated start with the same key is safe here

    async def fetch(self, ref: str) -> Snapshot:
        return await self._call("session/status", {"session_id": ref}, None)

    async def disable_token(self, token: str, idempotency_key: str) -> None:
        await self._post("recurrent/disable", {"recurrent": {"token": token}}, idempotency_key)

    def parse_webhook(self, headers: dict[str, str], body: bytes, source_ip: str) -> Notice:
        # Signed: where it came from does not matter, the bank's key does.
        signature = headers.get("x-partner-sign", "")
        if not signature:
            raise WebhookRejected("missing X-PARTNER-SIGN", status=401)
        try:
            self._acquirer_key.verify(
                base64.b64decode(signature, validate=True), body,
                padding.PKCS1v15(), hashes.SHA256(),
            )
        except (InvalidSignature, ValueError) as exc:
            raise WebhookRejected("bad X-PARTNER-SIGN", status=401) from exc
        try:
            doc = jsonwire.loads(body)
            event_type = str(doc["type"])
            session = doc["session"]
            ref = str(session["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("webhook body is not a Bank 131 session event") from exc
        stamp = session.get("updated_at") or hashlib.sha256(body).hexdigest()
        return Notice(ref=ref, event_type=event_type, dedup_key=f"{event_type}:{ref}:{stamp}",
                      snapshot=wire.snapshot(session, event_type),
                      attempt_hint=wire.attempt_hint(session),
                      # a recurrent token travels as `recurrent.token`, wherever it is nested
                      record=redact(doc, lambda key, _: key == "token"))

    def sign(self, body: bytes) -> str:
        return base64.b64encode(
            self._key.sign(body, padding.PKCS1v15(), hashes.SHA256())
        ).decode()

    async def settle_receipt(self, ref: str, receipt: Receipt, prepaid: Money,
                             idempotency_key: str) -> FiscalReceipt:
        raise AcquirerError(f"{self.name} carries no 54-FZ receipt")

    async def receipt_mode(self) -> str:
        # No receipt in its payment API that we know of (docs/acquirers.md).
        return self.capabilities.receipts

    async def check_connection(self) -> None:
        """A signed `session/status` of a session nobody made: the bank authenticates the
        project and our signature before it looks for the session, so anything but an
        authentication error means the credentials work."""
        try:
            await self._post("session/status", {"session_id": "ps_connection_check"}, None)
        except AcquirerError as err:
            if err.code in AUTH_ERRORS:
                who = "Smart Glocal" if self.name == "smartglocal" else "Bank 131"
                raise AcquirerError(f"{who} refuses project {self._project} or our "
                                    f"signature ({err.detail})", code=err.code) from err
            if err.temporary:
                raise

    async def _call(self, method: str, payload: dict[str, Any], key: str | None) -> Snapshot:
        try:
            doc = await self._post(method, payload, key)
        except AcquirerError as err:
            if err.code != KEY_SEEN:
                raise
            # The bank has taken a call with this key before (its answer was lost to us); what
            # a repeat returns is undocumented, so read where the session is instead.
            session_id = payload.get("session_id")
            if not isinstance(session_id, str):
                # A start: the session's id is in the answer we lost. Its webhooks name our
                # attempt in the metadata; until then, wait.
                raise AcquirerError(f"Bank 131 {method}: started before, answer lost",
                                    code=KEY_SEEN, temporary=True) from err
            return await self.fetch(session_id)
        session = doc.get("session")
        if not isinstance(session, dict):
            raise AcquirerError(f"Bank 131 {method}: answer without a session", temporary=True)
        return wire.snapshot(session)

    async def _post(self, method: str, payload: dict[str, Any], key: str | None
                    ) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "X-PARTNER-PROJECT": self._project,
            "X-PARTNER-SIGN": self.sign(body),
        }
        if key:
            headers["X-PARTNER-IDEMPOTENCY-KEY"] = f"{key}:{method}"
        try:
            resp = await self._client.post(self._base + method, content=body, headers=headers,
                                           timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise AcquirerError(f"Bank 131 {method}: {type(exc).__name__}",
                                temporary=True) from exc
        doc = jsonwire.loads_object(resp.content)  # a deep answer is garbled, not a crash
        if doc is None:
            # Not JSON, or JSON but not an object. Unless it is a plain refusal (4xx), we do
            # not know whether the call took effect: temporary, asked again with the same key.
            raise AcquirerError(f"Bank 131 {method}: unreadable answer (HTTP {resp.status_code})",
                                temporary=not 400 <= resp.status_code < 500)
        if resp.status_code >= 400 or doc.get("status") != "ok":
            err = doc.get("error") or {}
            code = str(err.get("code", "")) if isinstance(err, dict) else ""
            desc = str(err.get("description", "")) if isinstance(err, dict) else ""
            temporary = resp.status_code >= 500 or code == "internal_error"
            raise AcquirerError(f"Bank 131 {method}: {code or resp.status_code} {desc}".strip(),
                                code=code, temporary=temporary)
        return doc
