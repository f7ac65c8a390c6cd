"""The Bank 131 session API, emulated: the same paths, JSON, signatures, webhooks and timings.

A session moves as the real one does:
    init/payment ─▶ in_progress, next_action=confirm ──webhook ready_to_confirm──▶
    confirm ─▶ T-Bank link in customer_interaction ──webhook action_required──▶
    buyer approves/declines in the (simulated) T-Bank app, or 20 minutes pass ─▶
    accepted / error ──webhook payment_finished──▶
With automatic confirmation on, the confirm step is skipped. With webhooks off, only
`session/status` tells the partner anything.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from checkout import jsonwire
from checkout.sandbox.bank131.store import EmulatorStore
from checkout.sandbox.faults import FaultBook
from checkout.sandbox.lifecycle import Emulator
from checkout.sandbox.outbound import Outbound
from checkout.sandbox.tpay_app import AppCard

PLATFORM_TYPES = ("mobile", "desktop")
# The only `os` and `browser` values Bank 131's T-Pay documentation lists.
PLATFORM_OS = ("ios", "android", "windows", "linux")
PLATFORM_BROWSERS = ("chrome", "firefox", "microsoft edge", "miui", "jivo mobile")
# The project whose signed call is being answered: every session and token it touches must be
# its own. (A task-local value: calls of several projects run concurrently.)
_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("bank131_caller", default="")


@dataclass(frozen=True)
class EmulatorConfig:
    public_url: str  # where the simulated T-Bank app is served
    webhook_url: str  # the partner's webhook endpoint, as set in the bank's dashboard
    project: str
    partner_public_pem: bytes
    bank_private_pem: bytes
    db_path: Path
    # More partners' projects: project -> (its public key, its webhook endpoint). A project
    # sees only its own sessions and recurrent tokens.
    other_projects: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    session_ttl_seconds: int = 1200
    auto_confirm: bool = False
    # The project holds approved payments until the partner captures or cancels them (Bank 131
    # configures delayed capture per project, not per payment).
    delayed_capture: bool = True
    hold_seconds: int = 7 * 24 * 3600
    refund_seconds: float = 0.3  # how long a refund stays in_progress before it completes
    webhooks: bool = True
    # The bank retries an unanswered webhook "at growing intervals" until it is answered 200
    # (None: no count; the outbound queue's time window still ends it).
    webhook_attempts: int | None = None
    # Fault injection: seconds to wait before answering a method (e.g. {"session/capture": 3}),
    # so tests can kill a partner mid-call.
    slow: dict[str, float] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, http_status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.http_status, self.code, self.description = http_status, code, description

    def body(self) -> dict[str, Any]:
        return {"status": "error", "error": {"code": self.code, "description": self.description}}


def _captured(payment: dict) -> int:
    """What the bank took for a payment (its own record; the wire shows only the fee)."""
    return int(payment.get("captured", payment["amount_details"]["amount"]))


def _public(session: dict) -> dict:
    """The session as the bank shows it: without the emulator's own notes."""
    return {**session, "acquiring_payments": [
        {k: v for k, v in payment.items() if k != "captured"}
        for payment in session.get("acquiring_payments", [])]}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class Bank131Emulator(Emulator):
    def __init__(self, config: EmulatorConfig, client: httpx.AsyncClient,
                 faults: FaultBook | None = None, name: str = "bank131") -> None:
        self.config = config
        self.name = name
        self._out = Outbound(name, client, faults or FaultBook(), config.webhook_attempts,
                             journal=config.db_path.with_name(f"{name}-webhooks.db"))
        self._store = EmulatorStore(config.db_path)
        bank = serialization.load_pem_private_key(config.bank_private_pem, password=None)
        assert isinstance(bank, rsa.RSAPrivateKey)
        # project -> (the partner's public key, where the project's webhooks go)
        self._projects: dict[str, tuple[rsa.RSAPublicKey, str]] = {}
        for project, (pem, url) in {config.project: (config.partner_public_pem,
                                                     config.webhook_url),
                                    **config.other_projects}.items():
            partner = serialization.load_pem_public_key(pem)
            assert isinstance(partner, rsa.RSAPublicKey)
            self._projects[project] = (partner, url)
        self._bank_key = bank
        self._lock = asyncio.Lock()
        # Fault switches for tests and demos: while `outage` is on, every API call fails as an
        # outage would; while `decline_refunds` is on, refunds end declined.
        self.outage = False
        self.decline_refunds = False
        # While on, a refund passes through `error` (not final, the bank says) before it is
        # accepted.
        self.refunds_err_first = False

    # ---- lifecycle -------------------------------------------------------------------------

    # ---- the signed JSON API ---------------------------------------------------------------

    def describe(self, method: str, path: str, body: bytes) -> tuple[str, dict[str, Any]]:
        """(operation, our metadata) of a call, for aiming faults at it."""
        meta: Any = {}
        with contextlib.suppress(ValueError, AttributeError):
            payload = jsonwire.loads(body)
            meta = payload.get("metadata")
            if not meta and isinstance(payload.get("session_id"), str):
                found = self._store.get(payload["session_id"])
                meta = found[0].get("metadata") if found else {}
        return path, meta if isinstance(meta, dict) else {}

    async def handle(self, method: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        """Answer one API call: (HTTP status, JSON body)."""
        if self.outage:
            return 503, ApiError(503, "internal_error", "service unavailable").body()
        if method in self.config.slow:
            await asyncio.sleep(self.config.slow[method])
        try:
            caller = _CALLER.set(self._authenticate(headers, body))
        except ApiError as err:
            return err.http_status, err.body()
        try:
            try:
                payload = jsonwire.loads(body)
            except ValueError as exc:
                raise ApiError(400, "invalid_request", "body is not JSON") from exc
            if not isinstance(payload, dict):
                raise ApiError(400, "invalid_request", "body must be a JSON object")
            key = headers.get("x-partner-idempotency-key")
            if key:
                return await self._idempotent(key, method, payload, body)
            return 200, await self._dispatch(method, payload)
        except ApiError as err:
            return err.http_status, err.body()
        finally:
            _CALLER.reset(caller)

    async def _idempotent(self, key: str, method: str, payload: dict, body: bytes
                          ) -> tuple[int, dict]:
        digest = hashlib.sha256(method.encode() + b"\0" + body).hexdigest()
        seen = self._store.remembered(_CALLER.get(), key)
        if seen:
            # The official SDK knows this error; whether the bank ever replays the first
            # answer is undocumented, so the emulator takes the strict reading: it never does.
            raise ApiError(409, "idempotency_key_already_exists",
                           "this idempotency key was used before")
        try:
            status, answer = 200, await self._dispatch(method, payload)
        except ApiError as err:
            if err.http_status >= 500:
                raise
            status, answer = err.http_status, err.body()
        self._store.remember(_CALLER.get(), key, digest, status, json.dumps(answer))
        return status, answer

    def _authenticate(self, headers: dict[str, str], body: bytes) -> str:
        """The project that signed this call."""
        project = headers.get("x-partner-project", "")
        if project not in self._projects:
            raise ApiError(401, "authentication_error", "unknown X-PARTNER-PROJECT")
        try:
            signature = base64.b64decode(headers.get("x-partner-sign", ""), validate=True)
            self._projects[project][0].verify(signature, body, padding.PKCS1v15(),
                                              hashes.SHA256())
        except (InvalidSignature, ValueError) as exc:
            raise ApiError(401, "authentication_error", "invalid X-PARTNER-SIGN") from exc
        return project

    async def _dispatch(self, method: str, payload: dict) -> dict:
        handlers = {
            "session/create": self._create,
            "session/init/payment": self._init_payment,
            "session/start/payment": self._start_payment,
            "session/confirm": self._confirm,
            "session/cancel": self._cancel,
            "session/capture": self._capture,
            "session/refund": self._refund,
            "session/status": self._status,
            "recurrent/status": self._token_status,
            "recurrent/disable": self._token_disable,
        }
        handler = handlers.get(method)
        if handler is None:
            raise ApiError(404, "invalid_request", f"unknown method {method}")
        async with self._lock:
            answer = await handler(payload)
        if method.startswith("recurrent/"):
            return {"status": "ok", "recurrent": answer}
        return {"status": "ok", "session": _public(answer)}

    # ---- methods ---------------------------------------------------------------------------

    async def _create(self, payload: dict) -> dict:
        now = _now_iso()
        session = {"id": _id("ps"), "status": "created", "created_at": now, "updated_at": now,
                   "acquiring_payments": []}
        if "metadata" in payload:
            session["metadata"] = payload["metadata"]
        self._save(session)
        return session

    async def _init_payment(self, payload: dict) -> dict:
        session = await self._create(payload)
        return await self._begin_payment(session, payload)

    async def _start_payment(self, payload: dict) -> dict:
        session = self._load(payload)
        if session["status"] != "created" or session["acquiring_payments"]:
            raise ApiError(400, "invalid_request", "session already has a payment")
        return await self._begin_payment(session, payload)

    async def _begin_payment(self, session: dict, payload: dict) -> dict:
        details = payload.get("payment_details") or {}
        by_token = details.get("type") == "recurrent"
        if by_token:
            recurrent = details.get("recurrent") or {}
            known = self._store.token(_CALLER.get(), str(recurrent.get("token")))
            if not known or not known["is_active"]:
                raise ApiError(400, "invalid_request", "unknown or disabled recurrent token")
            # The official PHP SDK makes `initiator` (and `security_code`) optional: a charge
            # that names no initiator is taken as the merchant's (no buyer is there).
            if recurrent.get("initiator") not in (None, "merchant", "client"):
                raise ApiError(400, "invalid_request",
                               "recurrent.initiator must be merchant or client")
            if not isinstance(recurrent.get("security_code"), str | None):
                raise ApiError(400, "invalid_request", "recurrent.security_code is a string")
        elif details.get("type") != "internet_banking" or \
                (details.get("internet_banking") or {}).get("type") != "tpay":
            raise ApiError(400, "invalid_request",
                           "payment_details must be internet_banking of type tpay")
        amount = payload.get("amount_details") or {}
        value = amount.get("amount")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ApiError(400, "invalid_request", "amount_details.amount must be a positive int")
        if amount.get("currency") != "RUB":
            raise ApiError(400, "invalid_request", "amount_details.currency must be RUB")
        options = payload.get("payment_options") or {}
        platform = options.get("platform_details") or {}
        merchant_initiated = by_token and \
            details["recurrent"].get("initiator") in (None, "merchant")
        if not merchant_initiated:
            if platform.get("type") not in PLATFORM_TYPES:
                raise ApiError(400, "invalid_request",
                               "payment_options.platform_details.type must be mobile or desktop")
            if platform.get("os") not in PLATFORM_OS:
                raise ApiError(400, "invalid_request",
                               f"payment_options.platform_details.os must be one of "
                               f"{', '.join(PLATFORM_OS)}")
            if platform.get("browser") not in PLATFORM_BROWSERS:
                raise ApiError(400, "invalid_request",
                               f"payment_options.platform_details.browser must be one of "
                               f"{', '.join(PLATFORM_BROWSERS)}")
        # One documentation example nests `recurrent` in platform_details: accept both.
        recurrent = bool(options.get("recurrent") or platform.get("recurrent"))
        session["status"] = "in_progress"
        session["acquiring_payments"] = [{
            "id": _id("pm"), "status": "in_progress",
            "customer": payload.get("customer") or {},
            "payment_details": details,
            "amount_details": {"amount": value, "currency": "RUB"},
            "payment_options": {**options, "recurrent": recurrent},
            "metadata": payload.get("metadata"),
        }]
        if merchant_initiated:
            # No buyer: the bank charges the saved token at once.
            event = self._approve(session)
            self._notify(event, session)
            return session
        if self.config.auto_confirm:
            return self._offer_link(session)
        session["next_action"] = "confirm"
        self._save(session)
        self._notify("ready_to_confirm", session)
        return session

    async def _confirm(self, payload: dict) -> dict:
        session = self._load(payload)
        if session.get("next_action") != "confirm":
            raise ApiError(400, "invalid_request", "session is not ready to confirm")
        return self._offer_link(session)

    def _offer_link(self, session: dict) -> dict:
        payment = session["acquiring_payments"][0]
        platform = payment["payment_options"]["platform_details"]["type"]
        tpay_id = str(secrets.randbelow(10**12)).zfill(12)
        # The real bank gives o.tbank.ru/tpay/<id> (mobile) or www.tinkoff.ru/tpay/<id>
        # (desktop, for a QR); here both lead to the simulated T-Bank app.
        url = f"{self.config.public_url}/sandbox/tpay/{tpay_id}?platform={platform}"
        session.pop("next_action", None)
        payment["status"] = "pending"
        payment["customer_interaction"] = {
            "type": "redirect",
            "redirect": {"url": url, "base_url": url.split("?")[0], "method": "GET",
                         "params": {"platform": platform}},
        }
        session["actions"] = {"confirm": _now_iso()}
        deadline = time.time() + self.config.session_ttl_seconds
        self._save(session, tpay_id=tpay_id, deadline=deadline)
        self._notify("action_required", session)
        return session

    async def _cancel(self, payload: dict) -> dict:
        session = self._load(payload)
        if session["status"] in ("accepted", "error", "cancelled"):
            if session["status"] == "cancelled":
                return session
            raise ApiError(400, "invalid_request", f"session is {session['status']}")
        self._end(session, "cancelled", "session_cancelled_by_partner",
                  "the session was cancelled by the partner")
        self._notify("payment_finished", session)
        return session

    def _end(self, session: dict, status: str, code: str, description: str) -> None:
        session["status"] = status
        session.pop("next_action", None)
        for payment in session["acquiring_payments"]:
            payment["status"] = "failed"
            payment["error"] = {"code": code, "description": description}
        self._save(session, deadline=None)

    async def _capture(self, payload: dict) -> dict:
        session = self._load(payload)
        if session.get("next_action") != "capture":
            raise ApiError(400, "invalid_request", "session is not ready to capture")
        payment = session["acquiring_payments"][0]
        held = payment["amount_details"]["amount"]
        amount = self._amount(payload, default=held)
        if amount > held:
            raise ApiError(400, "invalid_request", "capture amount exceeds the held amount")
        session.pop("next_action")
        session["status"] = "accepted"
        payment["status"] = "succeeded"
        # As in the bank's webhook examples: the fee, no gross. What was captured is what the
        # partner asked for.
        payment["amounts"] = {"fee": {"amount": 0, "currency": "RUB"}}
        payment["captured"] = amount  # the emulator's own note, never sent
        self._save(session, deadline=None)
        self._notify("payment_finished", session)
        return session

    async def _refund(self, payload: dict) -> dict:
        session = self._load(payload)
        payment = session["acquiring_payments"][0] if session["acquiring_payments"] else {}
        if session["status"] != "accepted" or payment.get("status") != "succeeded":
            raise ApiError(400, "invalid_request", "only a finished payment can be refunded")
        refunds = payment.setdefault("refunds", [])
        captured = _captured(payment)
        taken = sum(r["amount_details"]["amount"] for r in refunds
                    if r["status"] in ("in_progress", "accepted"))
        amount = self._amount(payload, default=captured - taken)
        if amount <= 0 or taken + amount > captured:
            raise ApiError(400, "invalid_request", "refund exceeds what is left to refund")
        refunds.append({"id": _id("rf"), "status": "in_progress", "created_at": _now_iso(),
                        "amount_details": {"amount": amount, "currency": "RUB"}})
        self._save(session, deadline=time.time() + self.config.refund_seconds)
        return session

    @staticmethod
    def _amount(payload: dict, default: int) -> int:
        details = payload.get("amount_details")
        if details is None:
            return default
        value = details.get("amount") if isinstance(details, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or \
                details.get("currency") != "RUB":
            raise ApiError(400, "invalid_request", "amount_details must be a positive RUB amount")
        return value

    async def _status(self, payload: dict) -> dict:
        return self._load(payload)

    # ---- the buyer, in the simulated T-Bank app ---------------------------------------------

    def app_view(self, tpay_id: str) -> dict | None:
        session_id = self._store.by_tpay_id(tpay_id)
        found = self._store.get(session_id) if session_id else None
        return found[0] if found else None

    def app_card(self, tpay_id: str) -> AppCard | None:
        """What the T-Bank app shows for a link this emulator issued."""
        session = self.app_view(tpay_id)
        if session is None:
            return None
        payment = session["acquiring_payments"][0]
        held = session.get("next_action") == "capture"
        return AppCard(
            amount=payment["amount_details"]["amount"],
            currency=payment["amount_details"]["currency"],
            deciding=session["status"] == "in_progress" and payment["status"] == "pending"
            and not held,
            approved=payment["status"] == "succeeded" or held,
            outcome=(payment.get("error") or {}).get("code") or payment["status"],
            return_url=payment["payment_options"].get("return_url") or "")

    async def buyer_decides(self, tpay_id: str, approve: bool) -> dict | None:
        async with self._lock:
            session = self.app_view(tpay_id)
            if session is None:
                return None
            payment = session["acquiring_payments"][0]
            if session["status"] != "in_progress" or payment["status"] != "pending" or \
                    session.get("next_action") == "capture":
                return session  # already decided: a double tap changes nothing
            if approve:
                event = self._approve(session)
            else:
                event = "payment_finished"
                payment["status"] = "failed"
                session["status"] = "error"
                payment["error"] = {"code": "payment_declined",
                                    "description": "the buyer declined the payment"}
                self._save(session, deadline=None)
        self._notify(event, session)
        return session

    def _approve(self, session: dict) -> str:
        """The payer said yes (or a saved token was charged): hold or take the money."""
        payment = session["acquiring_payments"][0]
        deadline: float | None = None
        if self.config.delayed_capture:
            session["next_action"] = "capture"
            event, deadline = "ready_to_capture", time.time() + self.config.hold_seconds
        else:
            event = "payment_finished"
            payment["status"] = "succeeded"
            session["status"] = "accepted"
            payment["amounts"] = {"fee": {"amount": 0, "currency": "RUB"}}
            payment["captured"] = payment["amount_details"]["amount"]
        if payment["payment_options"].get("recurrent"):
            token = {"token": _id("rt"), "created_at": _now_iso(), "is_active": True}
            payment["recurrent"] = token
            self._store.save_token(self._project_of(session), token)
        self._save(session, deadline=deadline)
        return event

    async def _token_status(self, payload: dict) -> dict:
        token = (payload.get("recurrent") or {}).get("token")
        found = self._store.token(_CALLER.get(), str(token))
        if not found:
            raise ApiError(404, "invalid_request", "unknown recurrent token")
        return found

    async def _token_disable(self, payload: dict) -> dict:
        found = await self._token_status(payload)
        if found["is_active"]:
            found = {**found, "is_active": False, "finished_at": _now_iso()}
            self._store.save_token(_CALLER.get(), found)
        return found

    # ---- time -------------------------------------------------------------------------------

    async def expire_overdue(self) -> int:
        """Run the session timers that are due: the payer's 20 minutes, a hold's lifetime,
        a refund's processing time. Returns how many sessions moved."""
        moved = 0
        for session_id in self._store.overdue(time.time()):
            async with self._lock:
                found = self._store.get(session_id)
                if not found:
                    continue
                session = found[0]
                event = self._timer_fires(session)
            if event:
                self._notify(event, session)
                moved += 1
        return moved

    def _timer_fires(self, session: dict) -> str | None:
        if session["status"] == "accepted":
            payment = session["acquiring_payments"][0]
            again = False
            for refund in payment.get("refunds", []):
                if refund["status"] == "in_progress" and self.refunds_err_first:
                    refund["status"] = "error"  # not final: it goes on
                    again = True
                elif refund["status"] in ("in_progress", "error"):
                    refund["status"] = "declined" if self.decline_refunds else "accepted"
                    refund["finished_at"] = _now_iso()
            self._save(session, deadline=time.time() + self.config.refund_seconds
                       if again else None)
            return "payment_refunded"
        if session["status"] != "in_progress":
            self._save(session, deadline=None)
            return None
        if session.get("next_action") == "capture":
            self._end(session, "cancelled", "capture_timeout",
                      "the hold was not captured in time")
        elif session.get("next_action") == "confirm":
            self._end(session, "error", "confirm_timeout", "the partner did not confirm in time")
        else:
            self._end(session, "error", "provider_timeout", "the payer did not act in time")
        return "payment_finished"

    # ---- webhooks ---------------------------------------------------------------------------

    def _notify(self, event_type: str, session: dict) -> None:
        if not self.config.webhooks:
            return
        body = json.dumps({"type": event_type, "session": _public(session)},
                          separators=(",", ":")).encode()
        self._out.send(self._projects[self._project_of(session)][1], body,
                       {"Content-Type": "application/json", "X-PARTNER-SIGN": self.sign(body)},
                       event=event_type, subject=session["id"],
                       meta=session.get("metadata") or {})

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self._bank_key.sign(body, padding.PKCS1v15(),
                                                    hashes.SHA256())).decode()

    # ---- storage ----------------------------------------------------------------------------

    def _load(self, payload: dict) -> dict:
        session_id = payload.get("session_id")
        found = self._store.get(session_id) if isinstance(session_id, str) else None
        if not found or found[1] != _CALLER.get():
            raise ApiError(404, "invalid_request", "session not found")
        return found[0]

    def _project_of(self, session: dict) -> str:
        """The project a session belongs to (a new one: the caller's)."""
        old = self._store.get(session["id"])
        return old[1] if old else _CALLER.get()

    _KEEP = object()

    def _save(self, session: dict, *, tpay_id: object = _KEEP, deadline: object = _KEEP) -> None:
        session["updated_at"] = _now_iso()
        old = self._store.get(session["id"])
        keep_tpay = old[2] if old else None
        keep_deadline = old[3] if old else None
        self._store.save(
            session,
            project=old[1] if old else _CALLER.get(),
            tpay_id=keep_tpay if tpay_id is self._KEEP else tpay_id,  # type: ignore[arg-type]
            deadline=keep_deadline if deadline is self._KEEP else deadline,  # type: ignore[arg-type]
        )
