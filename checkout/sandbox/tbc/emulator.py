"""TBC Bank's TPay e-commerce API, emulated: access tokens, `apikey`, decimal amounts,
capitalised statuses, problem+json errors, bare `{"PaymentId"}` callbacks, timings.

A payment moves as the real one does:
    POST /payments ─▶ Created, approval_url (TBC's page) ─▶ the buyer pays or declines ─▶
    Succeeded / WaitingConfirm (preAuth) / Failed; unpaid past expirationMinutes ─▶ Expired.
    completion ─▶ Succeeded; cancel ─▶ Returned / PartialReturned (a partial cancel once on the
    transaction day; partial refunds on later days). On each final status TBC calls
    `callbackUrl` with the payment id only. TBC de-duplicates nothing: a create or an
    execution sent twice makes two payments.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from checkout import jsonwire
from checkout.sandbox.docstore import DocStore
from checkout.sandbox.faults import FaultBook
from checkout.sandbox.lifecycle import Emulator
from checkout.sandbox.outbound import Outbound

CURRENCIES = ("GEL", "USD", "EUR")
# The merchant (client_id) whose call is being answered: every payment and card it touches
# must be its own. (A task-local value: calls of several merchants run concurrently.)
_CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("tbc_caller", default="")
# developers.tbcbank.ge, Create web payment, `methods`: 4 Web QR, 5 card, 6 Ertguli points,
# 7 internet bank login, 8 installment, 9 Apple Pay.
METHODS = {4, 5, 6, 7, 8, 9}
PAGE_MINUTES = 12  # how long TBC's page waits for the buyer unless told (`expirationMinutes`)
GEL_ONLY_METHODS = {6, 8}  # Ertguli points, installments
LANGUAGES = ("KA", "EN", "RU")
COMPLETION_SECONDS = 30 * 24 * 3600
TBILISI = timezone(timedelta(hours=4))


@dataclass(frozen=True)
class TbcConfig:
    public_url: str
    api_key: str
    client_id: str
    client_secret: str
    db_path: Path
    token_seconds: int = 86400
    callbacks: bool = True
    # More merchants, each with its own developer app: client_id -> (apikey, client_secret).
    # A merchant sees only its own payments and saved cards.
    other_clients: dict[str, tuple[str, str]] = field(default_factory=dict)


class TbcError(Exception):
    def __init__(self, status: int, title: str, detail: str, code: str = "") -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.code = status, title, detail, code

    def body(self) -> dict[str, Any]:
        return {"type": f"https://developers.tbcbank.ge/errors/{self.status}",
                "title": self.title, "status": self.status, "detail": self.detail,
                "systemCode": self.code or self.title.upper().replace(" ", "_"),
                "code": self.code or None}


def _bad(detail: str, code: str = "VALIDATION_ERROR") -> TbcError:
    return TbcError(400, "Bad Request", detail, code)


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(f"{what} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise _bad(f"{what} must be a number") from exc
    if number <= 0 or number != number.quantize(Decimal("0.01")):
        raise _bad(f"{what} must be positive with at most 2 decimals")
    return number.quantize(Decimal("0.01"))


def _number(value: Decimal) -> float:
    return float(value)


def _tbilisi_day(moment: float) -> str:
    """The calendar day in Tbilisi (UTC+4), where "the transaction day" is counted."""
    return datetime.fromtimestamp(moment, TBILISI).date().isoformat()


class TbcEmulator(Emulator):
    name = "tbc"

    def __init__(self, config: TbcConfig, client: httpx.AsyncClient, faults: FaultBook) -> None:
        self.config = config
        self._store = DocStore(config.db_path)
        self._out = Outbound(self.name, client, faults,
                             journal=config.db_path.with_name(f"{self.name}-webhooks.db"))
        # client_id -> (apikey, client_secret)
        self._clients = {config.client_id: (config.api_key, config.client_secret),
                         **config.other_clients}
        self._tokens: dict[str, tuple[float, str]] = {}  # token -> (expiry, client_id)
        self._lock = asyncio.Lock()
        # Knobs for tests and demos: how long new access tokens live, and how many were issued
        # (a driver should reuse its token until near expiry, not fetch one per call).
        self.token_seconds = config.token_seconds
        self.tokens_issued = 0
        # How long a cancel or a completion stays `CancelPaymentProcessing` /
        # `PaymentCompletionProcessing` before it lands (0: at once).
        self.settle_seconds = 0.0
        # Whether `returnedAmount` counts the rest of a partly completed pre-authorisation
        # (TBC: the rest is "automatically returned"; its GET's count of it is undocumented).
        self.completion_counts_rest = False

    # ---- the API ----------------------------------------------------------------------------

    def describe(self, method: str, path: str, body: bytes) -> tuple[str, dict[str, Any]]:
        parts = path.strip("/").split("/")
        meta: dict[str, Any] = {}
        # TBC echoes no metadata of ours: faults aim at TBC by operation, not by payment.
        if parts[:2] in (["payments"], ["payments", "execution"]):
            with contextlib.suppress(ValueError, AttributeError):
                meta = {"attempt": jsonwire.loads(body).get("merchantPaymentId")}
        shape = [("{id}" if i == 1 and p != "execution" else p) for i, p in enumerate(parts)]
        return f"{method} " + "/".join(shape), meta

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes,
                     query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            apikey = headers.get("apikey", "")
            if not any(hmac.compare_digest(apikey, key) for key, _ in self._clients.values()):
                raise TbcError(401, "Unauthorized", "invalid apikey", "INVALID_API_KEY")
            parts = path.strip("/").split("/")
            if method == "POST" and parts == ["access-token"]:
                return 200, self._access_token(body, apikey)
            caller = _CLIENT.set(self._authorize(headers, apikey))
        except TbcError as err:
            return err.status, err.body()
        try:
            if method == "GET" and len(parts) == 2 and parts[0] == "payments":
                return 200, self._public(self._payment(parts[1]))
            if method != "POST":
                raise TbcError(405, "Method Not Allowed", f"{method} is not allowed here")
            payload = self._json(body)
            async with self._lock:
                return 200, self._write(parts, payload)
        except TbcError as err:
            return err.status, err.body()
        finally:
            _CLIENT.reset(caller)

    def _access_token(self, body: bytes, apikey: str) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client = form.get("client_id", "")
        known = self._clients.get(client)
        if known is None or known[0] != apikey or \
                not hmac.compare_digest(known[1], form.get("client_secret", "")):
            raise TbcError(401, "Unauthorized", "invalid client_id or client_secret",
                           "INVALID_CLIENT")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (time.time() + self.token_seconds, client)
        self.tokens_issued += 1
        return {"access_token": token, "token_type": "Bearer",
                "expires_in": self.token_seconds}

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def _authorize(self, headers: dict[str, str], apikey: str) -> str:
        """The merchant (client_id) whose live access token this call carries."""
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        expiry, client = self._tokens.get(token, (0.0, ""))
        if expiry < time.time() or self._clients[client][0] != apikey:
            raise TbcError(401, "Unauthorized", "the access token is missing or expired",
                           "INVALID_TOKEN")
        return client

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        doc = jsonwire.loads_object(body or b"{}")
        if doc is None:
            raise _bad("the body must be a JSON object")
        return doc

    def _write(self, parts: list[str], payload: dict[str, Any]) -> dict[str, Any]:
        if parts == ["payments"]:
            return self._create(payload)
        if parts == ["payments", "execution"]:
            return self._execute(payload)
        if len(parts) == 3 and parts[0] == "payments":
            if parts[2] == "completion":
                return self._complete(self._payment(parts[1]), payload)
            if parts[2] == "cancel":
                return self._cancel(self._payment(parts[1]), payload)
            if parts[2] == "delete":
                return self._delete_card(parts[1])
        raise TbcError(404, "Not Found", "no such resource")

    def _client_of(self, doc: dict[str, Any]) -> str:
        """The merchant a payment or card is of (kept from before several: the first's)."""
        return str(doc.get("client", self.config.client_id))

    def _payment(self, pay_id: str) -> dict[str, Any]:
        payment = self._store.get("payment", pay_id)
        if payment is None or self._client_of(payment) != _CLIENT.get():
            raise TbcError(404, "Not Found", "payment not found", "PAYMENT_NOT_FOUND")
        return payment

    # ---- methods ------------------------------------------------------------------------------

    def _create(self, payload: dict[str, Any]) -> dict[str, Any]:
        merchant_payment_id = str(payload.get("merchantPaymentId") or "")
        amount = payload.get("amount")
        if not isinstance(amount, dict) or amount.get("currency") not in CURRENCIES:
            raise _bad("amount.currency must be GEL, USD or EUR")
        total = _decimal(amount.get("total"), "amount.total")
        currency = amount["currency"]
        returnurl = payload.get("returnurl")
        if not isinstance(returnurl, str) or not returnurl.startswith("http"):
            raise _bad("returnurl is required")
        extra = payload.get("extra")
        if extra is not None and (not isinstance(extra, str) or len(extra) > 25 or
                                  not all(32 <= ord(c) < 127 for c in extra)):
            raise _bad("extra must be ASCII, at most 25 characters")
        methods = payload.get("methods") or []
        if not isinstance(methods, list) or not all(
                isinstance(m, int) and not isinstance(m, bool) for m in methods):
            raise _bad("methods must be a list of integers")
        if set(methods) - METHODS:
            raise _bad(f"unknown payment methods {sorted(set(methods) - METHODS)}")
        if GEL_ONLY_METHODS & set(methods) and currency != "GEL":
            raise _bad("installment and Ertguli methods are GEL only")
        products = payload.get("installmentProducts")
        if products:
            try:
                summed = sum(_decimal(p["price"], "price") * int(p["quantity"]) for p in products)
            except (KeyError, TypeError, ValueError) as exc:
                raise _bad("installmentProducts need name, price and quantity") from exc
            if summed != total:
                raise _bad("installmentProducts must add up to amount.total")
        language = payload.get("language", "KA")
        if language not in LANGUAGES:
            raise _bad("language must be KA, EN or RU")
        minutes = payload.get("expirationMinutes", PAGE_MINUTES)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60:
            raise _bad("expirationMinutes must be 1..60")
        pay_id = secrets.token_hex(10)
        payment = {
            "id": pay_id, "payId": pay_id, "status": "Created", "currency": currency,
            "amount": _number(total), "confirmedAmount": 0, "returnedAmount": 0,
            "preAuth": bool(payload.get("preAuth")), "recId": None,
            "saveCard": bool(payload.get("saveCard")), "resultCode": None,
            "returnurl": returnurl, "callbackUrl": payload.get("callbackUrl"),
            "language": language, "extra": extra, "merchantPaymentId": merchant_payment_id,
            "partialReturns": 0, "createdAt": datetime.now(UTC).isoformat(),
            "expirationMinutes": minutes, "client": _CLIENT.get(),
        }
        self._save(payment, deadline=time.time() + minutes * 60)
        return self._public(payment)

    def _execute(self, payload: dict[str, Any]) -> dict[str, Any]:
        card = self._store.get("card", str(payload.get("recId", "")))
        if card is None or card.get("deleted") or \
                self._client_of(card) != _CLIENT.get():
            raise _bad("unknown or deleted recId", "INVALID_REC_ID")
        money = payload.get("money")
        if not isinstance(money, dict) or money.get("currency") != card["currency"]:
            raise _bad(f"money.currency must be {card['currency']}, the card's")
        total = _decimal(money.get("amount"), "money.amount")
        merchant_payment_id = str(payload.get("merchantPaymentId") or "")
        initiator = payload.get("initiator")
        if initiator not in (None, "merchant"):
            raise _bad('initiator must be "merchant" when given')
        if "returnurl" in payload:
            raise _bad("an execution takes no returnurl: it has no page for a buyer")
        pay_id = secrets.token_hex(10)
        payment = {
            "id": pay_id, "payId": pay_id, "status": "Created", "currency": card["currency"],
            "amount": _number(total), "confirmedAmount": 0, "returnedAmount": 0,
            "preAuth": bool(payload.get("preAuth")), "recId": card["id"], "saveCard": False,
            "resultCode": None, "callbackUrl": card.get("callbackUrl"),
            "merchantPaymentId": merchant_payment_id, "partialReturns": 0,
            "createdAt": datetime.now(UTC).isoformat(), "client": _CLIENT.get(),
            "initiator": initiator or "client",
        }
        self._paid(payment)  # no page and no buyer: the saved card is charged at once
        return self._public(payment)

    def _complete(self, payment: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        if payment["status"] != "WaitingConfirm":
            raise _bad(f"only a pre-authorised payment can be completed; this one is "
                       f"{payment['status']}", "INVALID_STATUS")
        if time.time() - datetime.fromisoformat(payment["createdAt"]).timestamp() > \
                COMPLETION_SECONDS:
            raise _bad("a pre-authorisation is completed within 30 days", "EXPIRED_PREAUTH")
        amount = _decimal(payload.get("amount"), "amount")
        if amount > Decimal(str(payment["amount"])):
            raise _bad("completion exceeds the pre-authorised amount")
        rest = Decimal(str(payment["amount"])) - amount
        landed = {"status": "Succeeded", "confirmedAmount": _number(amount)}
        if self.completion_counts_rest and rest:
            landed.update(returnedAmount=_number(rest), restCounted=True)
        self._settle(payment, "PaymentCompletionProcessing", landed)
        return {"httpStatusCode": 200, "developerMessage": None, "userMessage": None}

    def _settle(self, payment: dict[str, Any], processing: str,
                landed: dict[str, Any]) -> None:
        """A cancel or completion: at once, or `settle_seconds` in `processing` first."""
        if not self.settle_seconds:
            payment.update(landed)
            self._save(payment, deadline=None)
            self._callback(payment)
            return
        payment.update(status=processing, landing=landed)
        self._save(payment, deadline=time.time() + self.settle_seconds)

    def _cancel(self, payment: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        amount = _decimal(payload.get("amount"), "amount")
        if payment["status"] == "WaitingConfirm":
            if amount != Decimal(str(payment["amount"])):
                raise _bad("a pre-authorisation is released whole")
            landed = {"status": "Returned", "returnedAmount": payment["amount"]}
        elif payment["status"] in ("Succeeded", "PartialReturned"):
            # What `returnedAmount` counts against: the amount when it counts the rest of a
            # partly completed hold too, what was completed otherwise.
            paid = Decimal(str(payment["amount"] if payment.get("restCounted") else
                               payment["confirmedAmount"] or payment["amount"]))
            left = paid - Decimal(str(payment["returnedAmount"]))
            if amount > left:
                raise _bad("the amount exceeds what is left to return")
            if amount < left and _tbilisi_day(time.time()) == \
                    _tbilisi_day(datetime.fromisoformat(payment["createdAt"]).timestamp()):
                # On the transaction day a partial cancel is allowed once; later days take
                # partial refunds.
                if payment["partialReturns"] >= 1:
                    raise _bad("a partial cancel is allowed once on the transaction day",
                               "PARTIAL_CANCEL_NOT_ALLOWED")
                payment["partialReturns"] += 1
            returned = Decimal(str(payment["returnedAmount"])) + amount
            landed = {"returnedAmount": _number(returned),
                      "status": "Returned" if returned == paid else "PartialReturned"}
        else:
            raise _bad(f"a {payment['status']} payment cannot be cancelled", "INVALID_STATUS")
        self._settle(payment, "CancelPaymentProcessing", landed)
        return {"httpStatusCode": 200, "developerMessage": None, "userMessage": None}

    def _delete_card(self, rec_id: str) -> dict[str, Any]:
        card = self._store.get("card", rec_id)
        if card is None or self._client_of(card) != _CLIENT.get():
            raise TbcError(404, "Not Found", "unknown recId", "INVALID_REC_ID")
        card["deleted"] = True
        self._store.put("card", card)
        return {"httpStatusCode": 200}

    # ---- the buyer, on TBC's page -----------------------------------------------------------

    def buyer_view(self, pay_id: str) -> dict[str, Any] | None:
        payment = self._store.get("payment", pay_id)
        return self._public(payment) if payment else None

    async def buyer_decides(self, pay_id: str, approve: bool) -> dict[str, Any] | None:
        async with self._lock:
            payment = self._store.get("payment", pay_id)
            if payment is None or payment["status"] != "Created":
                return payment
            if approve:
                self._paid(payment)
            else:
                payment.update(status="Failed", resultCode="decline_by_customer",
                               userMessage="The payment was declined")
                self._save(payment, deadline=None)
                self._callback(payment)
        return payment

    def _paid(self, payment: dict[str, Any]) -> None:
        payment["resultCode"] = "approved"
        if payment["preAuth"]:
            payment["status"] = "WaitingConfirm"
        else:
            payment.update(status="Succeeded", confirmedAmount=payment["amount"])
        if payment.get("saveCard"):
            card = {"id": f"rec{secrets.token_hex(8)}", "currency": payment["currency"],
                    "callbackUrl": payment.get("callbackUrl"), "deleted": False,
                    "client": self._client_of(payment)}
            self._store.put("card", card)
            payment["recId"] = card["id"]
        self._save(payment, deadline=None)
        self._callback(payment)

    # ---- time -------------------------------------------------------------------------------

    async def expire_overdue(self) -> int:
        moved = 0
        for kind, pay_id in self._store.overdue(time.time()):
            async with self._lock:
                payment = self._store.get(kind, pay_id)
                if payment is None:
                    continue
                if payment["status"] == "Created":
                    payment.update(status="Expired", resultCode="expired")
                    self._callback(payment)
                    moved += 1
                elif "landing" in payment:  # a cancel or completion lands
                    payment.update(payment.pop("landing"))
                    self._callback(payment)
                    moved += 1
                self._save(payment, deadline=None)
        return moved

    # ---- storage and callbacks --------------------------------------------------------------

    _KEEP = -1.0

    def _save(self, payment: dict[str, Any], *, alias: str | None = None,
              deadline: float | None = _KEEP) -> None:
        if deadline == self._KEEP:
            deadline = self._store.deadline("payment", payment["id"])
        self._store.put("payment", payment, alias=alias, deadline=deadline)

    def _public(self, payment: dict[str, Any]) -> dict[str, Any]:
        created = payment["status"] == "Created"
        return {
            "payId": payment["payId"], "status": payment["status"],
            "currency": payment["currency"], "amount": payment["amount"],
            "confirmedAmount": payment["confirmedAmount"],
            "returnedAmount": payment["returnedAmount"],
            "links": [{"uri": f"{self.config.public_url}/sandbox/tbc/checkout/{payment['payId']}",
                       "method": "REDIRECT", "rel": "approval_url"}] if created else [],
            "transactionId": None if created else f"tr{payment['payId'][:8]}",
            "recurringCard": self._card_of(payment), "preAuth": payment["preAuth"],
            "resultCode": payment.get("resultCode"),
            # Only the GET's documented fields: it echoes neither `extra` nor our
            # `merchantPaymentId` (developers.tbcbank.ge, Get E-Commerce payment details).
            "httpStatusCode": 200, "developerMessage": None,
            "userMessage": payment.get("userMessage"),
        }

    def _card_of(self, payment: dict[str, Any]) -> dict[str, Any] | None:
        """The card this payment saved, as TBC's GET shows it."""
        if not payment.get("saveCard") or not payment.get("recId"):
            return None
        # The emulator keeps no card numbers: every saved card shows the same test mask.
        return {"recId": payment["recId"], "cardMask": "411111******1111", "expiryDate": "1230"}

    def _callback(self, payment: dict[str, Any]) -> None:
        url = payment.get("callbackUrl")
        if not self.config.callbacks or not url:
            return
        body = json.dumps({"PaymentId": payment["payId"]}).encode()
        self._out.send(url, body, {"Content-Type": "application/json"},
                       event=f"callback {payment['status']}", subject=payment["payId"],
                       meta={"attempt": payment["merchantPaymentId"]})
