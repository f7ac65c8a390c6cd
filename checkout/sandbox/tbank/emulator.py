"""T-Bank's Internet Acquiring API v2 ("eacq"), emulated for T-Pay: the same paths, JSON,
Token, statuses and notifications.

A payment moves as the real one does:
    Init ─▶ NEW ─▶ T-Pay link (`TinkoffPay/transactions/{id}/versions/2.0/link`) ─▶ the buyer
    approves in the (simulated) T-Bank app ─▶ CONFIRMED (PayType O) or AUTHORIZED (PayType T,
    held 7 days) ─▶ Confirm ─▶ CONFIRMED; or declines ─▶ REJECTED; or RedirectDueDate passes
    ─▶ DEADLINE_EXPIRED. Cancel: NEW ─▶ CANCELED, AUTHORIZED ─▶ (PARTIAL_)REVERSED,
    CONFIRMED ─▶ (PARTIAL_)REFUNDED. Charge with a RebillId ─▶ CONFIRMED or AUTHORIZED.
Notifications (Token-signed, answered `OK`) go to the NotificationURL of the Init.

Strict as the real API is documented to be: every POST carries TerminalKey and a valid Token;
types, lengths and enums are checked; errors come as `{Success: false, ErrorCode, Message,
Details}`, with the codes of T-Bank's own error table (OpenAPI "Прием платежей", section
"Коды ошибок"): 1 parameters not matched, 2 required ones missing, 8 wrong status, 1126 an
OperationInitiatorType that does not fit Recurrent or RebillId, 12 a bad
RedirectDueDate, 20 a repeated OrderId, 204 a bad Token, 205 an unknown terminal, 207-209 DATA
too large, 212/213/216 OrderId/Description/CustomerKey too long, 251 a wrong amount, 255 no such
payment, 330 more than the original, 335 no such OrderId. An unknown RebillId (11) is the
emulator's pick.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from checkout import jsonwire
from checkout.sandbox.docstore import DocStore
from checkout.sandbox.faults import FaultBook
from checkout.sandbox.lifecycle import Emulator
from checkout.sandbox.outbound import Outbound
from checkout.sandbox.tbank import receipts
from checkout.sandbox.tpay_app import AppCard

# T-Bank's public test terminal: its own examples and check vectors work here verbatim.
PUBLIC_TERMINALS = {"TinkoffBankTest": "TinkoffBankTest"}
# TinkoffPay/terminals/{key}/status: 1.0 is e-invoice (T-Pay on T-Bank's form only), 2.0 T-Pay.
TPAY_VERSION = "2.0"
TPAY_VERSIONS = re.compile(r"1\.0|2\.\d{1,3}")  # 1.0 e-invoice; any 2.x T-Pay's own flow
NOTIFIED = frozenset({"AUTHORIZED", "CONFIRMED", "PARTIAL_REVERSED", "REVERSED", "CANCELED",
                      "PARTIAL_REFUNDED", "REFUNDED", "REJECTED"})
DUE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)?$")
DEFAULT_PAY_SECONDS = 24 * 3600
MOSCOW = timezone(timedelta(hours=3))
LANGUAGES = ("ru", "en")
# T-Bank's OpenAPI v1.80, schema "T-Pay": the DATA fields of a T-Pay payment. ("MobileWeb"
# was v1.67's word for "Mobile".)
DEVICES = ("SDK", "Desktop", "Mobile")
BROWSERS = ("Chrome", "Firefox", "JivoMobile", "Microsoft Edge", "Miui", "Opera", "Safari",
            "Samsung", "WebKit", "WeChat", "Yandex")
TPAY_BOOLEANS = ("TinkoffPayWeb", "DeviceWebView")
DOCUMENTED_KEYS = frozenset({"OperationInitiatorType"})
# DATA.OperationInitiatorType, and what it needs of Recurrent (Init) and RebillId (Charge):
# "Передача признака инициатора операции"; a mismatch is error 1126.
INITIATORS = {"0": (False, False), "1": (True, False), "2": (False, True),
              "R": (False, True), "I": (False, True)}


@dataclass(frozen=True)
class TbankConfig:
    public_url: str
    db_path: Path
    terminals: dict[str, str]  # TerminalKey -> password
    hold_seconds: int | None = None  # None: T-Bank's own, to the end of the 7th Moscow day
    notifications: bool = True
    # Terminals with an online cash register, and its FFD version: an Init without a Receipt
    # is refused (309), and each receipt is registered and notified (Status RECEIPT).
    cash_registers: dict[str, str] = field(default_factory=dict)


class EacqError(Exception):
    def __init__(self, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def body(self, terminal: str = "") -> dict[str, Any]:
        doc: dict[str, Any] = {"Success": False, "ErrorCode": self.code,
                               "Message": self.message, "Details": self.details}
        if terminal:
            doc["TerminalKey"] = terminal
        return doc


def _bad(details: str) -> EacqError:
    return EacqError("1", "Параметры не сопоставлены", details)


def _missing(key: str) -> EacqError:
    return EacqError("2", "Отсутствуют обязательные параметры", f"{key} is required")


def _bad_due(details: str) -> EacqError:
    return EacqError("12", "Неверный параметр RedirectDueDate", details)


def _mismatch() -> EacqError:
    return EacqError("1126", "Несопоставимые значения rebillId или Recurrent с переданным "
                     "значением OperationInitiatorType", "see the initiator table")


def _unknown_terminal() -> EacqError:
    return EacqError("205", "Неверный токен. Проверьте пару TerminalKey/SecretKey",
                     "Указанный терминал не найден")


SIZE_CODES = {"TerminalKey": "210", "OrderId": "212", "Description": "213",
              "CustomerKey": "216"}


def token(fields: dict[str, Any], password: str) -> str:
    """T-Bank's Token, written here from its documentation (not imported from our driver)."""
    flat = {k: v for k, v in fields.items()
            if k != "Token" and v is not None and not isinstance(v, dict | list)}
    flat["Password"] = password
    text = "".join(("true" if flat[k] else "false") if isinstance(flat[k], bool)
                   else str(flat[k]) for k in sorted(flat))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _string(payload: dict[str, Any], key: str, *, required: bool = False,
            most: int = 0) -> str | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise _missing(key)
        return None
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string")
    if required and not value:
        raise _missing(key)
    if most and len(value) > most:
        raise EacqError(SIZE_CODES.get(key, "1"), f"Размер поля {key} должен быть от 1 до {most}",
                        f"{key} must be at most {most} characters")
    return value


def _kopecks(payload: dict[str, Any], key: str, *, required: bool) -> int | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise _missing(key)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{key} must be a number of kopecks")
    if value <= 0:
        raise EacqError("251", "Неверная сумма", f"{key} must be at least 1 kopeck")
    return value


class TbankEmulator(Emulator):
    name = "tbank"

    def __init__(self, config: TbankConfig, client: httpx.AsyncClient,
                 faults: FaultBook) -> None:
        self.config = config
        self._store = DocStore(config.db_path)
        # T-Bank retries an unanswered notification for a day (hourly, then less often).
        self._out = Outbound(self.name, client, faults, None, expect_body=b"OK",
                             journal=config.db_path.with_name(f"{self.name}-webhooks.db"))
        self._lock = asyncio.Lock()
        # Each terminal's T-Pay setting, as its owner switches it in T-Bank's cabinet.
        self._tpay = {key: (True, TPAY_VERSION) for key in config.terminals}
        # A knob for tests: how long a refund stays REFUNDING before it lands (0: at once).
        self.refunding_seconds = 0.0
        self.calls: Counter[str] = Counter()  # API methods called, by name, for tests
        self.cash_registers = dict(config.cash_registers)  # a knob for tests

    def set_tpay(self, terminal: str, allowed: bool, version: str) -> None:
        if terminal not in self.config.terminals:
            raise _unknown_terminal()
        if not TPAY_VERSIONS.fullmatch(version):
            raise _bad("T-Pay versions are 1.0 and 2.x")
        self._tpay[terminal] = (allowed, version)

    # ---- the API ----------------------------------------------------------------------------

    def internal_error(self) -> tuple[int, dict[str, Any]]:
        """T-Bank's answer when its own system failed: HTTP 200, ErrorCode 9999."""
        return 200, EacqError("9999", "Внутренняя ошибка системы", "try again later").body()

    def describe(self, method: str, path: str, body: bytes) -> tuple[str, dict[str, Any]]:
        """The method's own name (`Init`, `Confirm`…; GETs by their path's shape), for faults.
        T-Bank echoes our OrderId (our attempt), not our payment: faults aim by operation."""
        if method == "GET":
            shape = re.sub(r"/\d+(?=/|$)", "/{id}", path.strip("/"))
            return f"GET {shape}", {}
        return path.strip("/"), {}

    async def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        terminal = ""
        try:
            if method == "GET":
                return 200, self._read(parts)
            payload = self._json(body)
            terminal = self._authenticate(payload)
            async with self._lock:
                return 200, self._write(parts, payload, terminal)
        except EacqError as err:
            return 200, err.body(terminal)  # T-Bank answers its refusals with HTTP 200

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        doc = jsonwire.loads_object(body or b"")
        if doc is None:
            raise _bad("the body must be a JSON object")
        return doc

    def _authenticate(self, payload: dict[str, Any]) -> str:
        terminal = payload.get("TerminalKey")
        password = self.config.terminals.get(terminal) if isinstance(terminal, str) else None
        if password is None:
            raise _unknown_terminal()
        given = payload.get("Token")
        if not isinstance(given, str) or not secrets.compare_digest(
                given, token(payload, password)):
            raise EacqError("204", "Неверный токен. Проверьте пару TerminalKey/SecretKey",
                            "the Token does not match")
        return str(terminal)

    def _read(self, parts: list[str]) -> dict[str, Any]:
        if len(parts) == 4 and parts[:2] == ["TinkoffPay", "terminals"] and \
                parts[3] == "status":
            if parts[2] not in self.config.terminals:
                raise _unknown_terminal()
            allowed, version = self._tpay[parts[2]]
            return {"Success": True, "ErrorCode": "0",
                    "Params": {"Allowed": allowed, "Version": version}}
        if len(parts) == 6 and parts[:2] == ["TinkoffPay", "transactions"] and \
                parts[3] == "versions" and parts[5] == "link":
            payment = self._payment(parts[2])
            allowed, version = self._tpay[payment["terminal"]]
            if not allowed or not version.startswith("2.") or parts[4] != version:
                raise _bad(f"this terminal does not take T-Pay version {parts[4]}")
            if payment["Status"] not in ("NEW", "FORM_SHOWED"):
                raise EacqError("8", "Неверный статус транзакции",
                                f"the payment is {payment['Status']}")
            return {"Success": True, "ErrorCode": "0",
                    "Params": {"RedirectUrl": self.link(payment),
                               "WebQR": f"{self.config.public_url}/sandbox/tbank/v2/TinkoffPay/"
                                        f"{payment['id']}/QR"}}
        raise EacqError("404", "Метод не найден", "no such method")

    def link(self, payment: dict[str, Any]) -> str:
        """The T-Pay link (o.tbank.ru/tpay/<id> for real): the simulated T-Bank app."""
        return f"{self.config.public_url}/sandbox/tpay/{payment['tpay']}"

    def qr_target(self, payment_id: str) -> str | None:
        payment = self._store.get("payment", payment_id)
        if payment is None or payment["Status"] not in ("NEW", "FORM_SHOWED"):
            return None
        return self.link(payment)

    def _write(self, parts: list[str], payload: dict[str, Any], terminal: str
               ) -> dict[str, Any]:
        handlers = {"Init": self._init, "GetState": self._get_state, "Confirm": self._confirm,
                    "Cancel": self._cancel, "Charge": self._charge,
                    "CheckOrder": self._check_order, "Resend": self._resend,
                    "SendClosingReceipt": self._closing_receipt}
        handler = handlers.get("/".join(parts))
        if handler is None:
            raise EacqError("404", "Метод не найден", "no such method")
        self.calls["/".join(parts)] += 1
        return {"Success": True, "ErrorCode": "0", "TerminalKey": terminal,
                **handler(payload, terminal)}

    def _payment(self, payment_id: Any, terminal: str = "") -> dict[str, Any]:
        if not isinstance(payment_id, str | int) or isinstance(payment_id, bool):
            raise _missing("PaymentId")
        payment = self._store.get("payment", str(payment_id))
        if payment is None or (terminal and payment["terminal"] != terminal):
            raise EacqError("255", "Платеж не найден", "no such PaymentId")
        return payment

    # ---- methods ------------------------------------------------------------------------------

    def _init(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        amount = _kopecks(payload, "Amount", required=True)
        order_id = _string(payload, "OrderId", required=True, most=36)
        _string(payload, "Description", most=140)
        pay_type = _string(payload, "PayType") or "O"
        if pay_type not in ("O", "T"):
            raise _bad("PayType must be O or T")
        language = _string(payload, "Language")
        if language is not None and language not in LANGUAGES:
            raise _bad("Language must be ru or en")
        for key in ("NotificationURL", "SuccessURL", "FailURL"):
            url = _string(payload, key, most=2048)
            if url is not None and not url.startswith(("http://", "https://")):
                raise _bad(f"{key} must be an http(s) URL")
        recurrent = _string(payload, "Recurrent")
        customer = _string(payload, "CustomerKey", most=36)
        if recurrent not in (None, "Y"):
            raise _bad('Recurrent must be "Y"')
        if recurrent and not customer:
            raise _missing("CustomerKey")
        data = payload.get("DATA")
        if data is not None:
            # Values are strings, but T-Bank's own examples send booleans too
            # (`"QR": true`, the T-Pay flags).
            if not isinstance(data, dict) or not all(
                    isinstance(k, str) and isinstance(v, str | bool) for k, v in data.items()):
                raise _bad("DATA is an object of strings")
            if len(data) > 20:
                raise EacqError("207", "Параметр DATA превышает максимально допустимый размер",
                                "at most 20 pairs")
            # OperationInitiatorType is T-Bank's own documented DATA key, past the limit.
            if any(len(k) > 20 and k not in DOCUMENTED_KEYS for k in data):
                raise EacqError("208", "Наименование ключа из параметра DATA превышает "
                                "максимально допустимый размер", "keys of at most 20")
            if any(isinstance(v, str) and len(v) > 100 for v in data.values()):
                raise EacqError("209", "Значение ключа из параметра DATA превышает "
                                "максимально допустимый размер", "values of at most 100")
            if "Device" in data and data["Device"] not in DEVICES:
                raise _bad(f"DATA.Device must be one of {', '.join(DEVICES)}")
            if "DeviceBrowser" in data and data["DeviceBrowser"] not in BROWSERS:
                raise _bad(f"DATA.DeviceBrowser must be one of {', '.join(BROWSERS)}")
            for flag in TPAY_BOOLEANS:
                if flag in data and data[flag] not in (True, False, "true", "false"):
                    raise _bad(f"DATA.{flag} must be true or false")
            initiator = data.get("OperationInitiatorType")
            if initiator is not None:
                if initiator not in INITIATORS:
                    raise _bad("DATA.OperationInitiatorType must be 0, 1, 2, R or I")
                if INITIATORS[initiator][0] != (recurrent == "Y"):
                    raise _mismatch()
        receipt = self._receipt(payload, terminal, amount or 0, required=True)
        due = self._due(payload.get("RedirectDueDate"))
        if self._store.all_by_alias("payment", f"{terminal}:{order_id}"):
            raise EacqError("20", "Ошибка повторного идентификатора заказа",
                            "a repeated OrderId")
        payment: dict[str, Any] = {
            "id": str(secrets.randbelow(9 * 10**9) + 10**9), "terminal": terminal,
            "OrderId": order_id, "Amount": amount, "Status": "NEW", "PayType": pay_type,
            "NotificationURL": payload.get("NotificationURL"),
            "SuccessURL": payload.get("SuccessURL"), "Recurrent": recurrent,
            "CustomerKey": customer, "tpay": str(secrets.randbelow(10**12)).zfill(12),
            "DATA": data,
            "refunded": 0, "cancels": {}, "created": time.time(),
            # Kept as sent, for the cash register and the sandbox's own checks.
            "Receipt": receipt, "receipts": [],
        }
        self._store.put("link", {"id": payment["tpay"], "payment": payment["id"]})
        self._save(payment, alias=f"{terminal}:{order_id}", deadline=due)
        return {"Status": "NEW", "PaymentId": payment["id"], "OrderId": order_id,
                "Amount": amount, "PaymentURL": self.link(payment)}

    @staticmethod
    def _due(value: Any) -> float:
        if value is None:
            return time.time() + DEFAULT_PAY_SECONDS
        if not isinstance(value, str) or not DUE_DATE.match(value):
            raise _bad_due("RedirectDueDate must be YYYY-MM-DDTHH:MM:SS+03:00")
        try:
            due = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _bad_due("RedirectDueDate is not a date") from exc
        if due.tzinfo is None:
            due = due.replace(tzinfo=datetime.now().astimezone().tzinfo)
        left = due.timestamp() - time.time()
        if not 60 - 5 <= left <= 90 * 24 * 3600:  # a little slack for clocks
            raise _bad_due("RedirectDueDate must be 1 minute to 90 days ahead")
        return due.timestamp()

    def _state(self, payment: dict[str, Any]) -> dict[str, Any]:
        doc: dict[str, Any] = {"Status": payment["Status"], "PaymentId": payment["id"],
                               "OrderId": payment["OrderId"], "Amount": payment["Amount"]}
        if payment["Status"] not in ("NEW", "FORM_SHOWED", "CANCELED", "DEADLINE_EXPIRED"):
            doc["Params"] = [{"Key": "Source", "Value": "TinkoffPay"}]
        return doc

    def _get_state(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        return {"Message": "OK", **self._state(self._payment(payload.get("PaymentId"),
                                                              terminal))}

    def _confirm(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        payment = self._payment(payload.get("PaymentId"), terminal)
        if payment["Status"] != "AUTHORIZED":
            raise EacqError("8", "Неверный статус транзакции",
                            f"only AUTHORIZED can be confirmed; this is {payment['Status']}")
        amount = _kopecks(payload, "Amount", required=False) or payment["Amount"]
        if amount > payment["Amount"]:
            raise EacqError("330", "Сумма превышает сумму авторизации",
                            "more than the authorised amount")
        # Confirming less, the receipt of what is confirmed replaces the Init's.
        receipt = self._receipt(payload, terminal, amount, required=False)
        if receipt is not None:
            payment["Receipt"] = receipt
        payment.update(Status="CONFIRMED", Amount=amount)
        self._save(payment, deadline=None)
        self._notify(payment)
        return self._state(payment)

    def _cancel(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        payment = self._payment(payload.get("PaymentId"), terminal)
        request_id = _string(payload, "ExternalRequestId", most=256)
        if request_id and request_id in payment["cancels"]:
            # A repeat does nothing again, and answers the payment's state as it is now.
            return {**payment["cancels"][request_id], "Status": payment["Status"]}
        original = payment["Amount"] - payment["refunded"]
        status = payment["Status"]
        # An unpaid payment is canceled whole: its Amount, if sent, is not looked at.
        amount = original if status in ("NEW", "FORM_SHOWED") else \
            _kopecks(payload, "Amount", required=False) or original
        if amount > original:
            raise EacqError("330", "Сумма отмены больше суммы платежа",
                            "more than what is left of the original amount")
        if status == "REFUNDING":
            raise EacqError("8", "Неверный статус транзакции", "a refund is being processed")
        receipt = self._receipt(payload, terminal, amount, required=False)
        if receipt is not None and status in ("CONFIRMED", "PARTIAL_REFUNDED"):
            payment["receipts"].append({"Type": "IncomeReturn", "Receipt": receipt,
                                        "Amount": amount})
        if status in ("NEW", "FORM_SHOWED"):
            payment["Status"] = "CANCELED"
        elif status in ("AUTHORIZED", "PARTIAL_REVERSED"):
            payment["Status"] = "REVERSED" if amount == original else "PARTIAL_REVERSED"
            payment["Amount"] -= amount if amount != original else 0
        elif status in ("CONFIRMED", "PARTIAL_REFUNDED"):
            payment["refunded"] += amount
            landed = "REFUNDED" if amount == original else "PARTIAL_REFUNDED"
            if self.refunding_seconds:
                # Still being processed: REFUNDING (not notified) until it lands.
                payment.update(Status="REFUNDING", landing=landed)
            else:
                payment["Status"] = landed
        else:
            raise EacqError("8", "Неверный статус транзакции", f"the payment is {status}")
        answer = {"Status": payment["Status"], "PaymentId": payment["id"],
                  "OrderId": payment["OrderId"], "OriginalAmount": original,
                  "NewAmount": original - amount}
        if request_id:
            answer["ExternalRequestId"] = request_id
            payment["cancels"][request_id] = answer
        self._save(payment, deadline=time.time() + self.refunding_seconds
                   if payment["Status"] == "REFUNDING" else None)
        self._notify(payment)
        if receipt is not None and payment["receipts"]:
            self._fiscalize(payment, payment["receipts"][-1])
        return answer

    def _charge(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        payment = self._payment(payload.get("PaymentId"), terminal)
        rebill_id = payload.get("RebillId")
        if not isinstance(rebill_id, str | int) or isinstance(rebill_id, bool):
            raise _missing("RebillId")
        rebill = self._store.get("rebill", str(rebill_id))
        if rebill is None or not rebill["active"] or rebill["terminal"] != terminal:
            raise EacqError("11", "Невозможно выполнить платеж", "unknown or inactive RebillId")
        initiator = (payment.get("DATA") or {}).get("OperationInitiatorType")
        if initiator is not None and not INITIATORS[initiator][1]:
            raise _mismatch()  # a RebillId, for an Init that said no saved card is used
        if payment["Status"] != "NEW":
            raise EacqError("8", "Неверный статус транзакции",
                            f"only a NEW payment can be charged; this is {payment['Status']}")
        payment["Status"] = "AUTHORIZED" if payment["PayType"] == "T" else "CONFIRMED"
        self._save(payment, deadline=self._hold_deadline(payment))
        self._notify(payment)
        return self._state(payment)

    def _check_order(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        order_id = _string(payload, "OrderId", required=True, most=36)
        found = self._store.all_by_alias("payment", f"{terminal}:{order_id}")
        if not found:
            raise EacqError("335", f"OrderId {order_id} не найден для TerminalKey {terminal}",
                            "no such OrderId")
        return {"OrderId": order_id, "Payments": [
            {"PaymentId": p["id"], "Amount": p["Amount"], "Status": p["Status"],
             "Success": True, "ErrorCode": "0"} for p in found]}

    def _resend(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        return {"Count": 0}  # nothing undelivered is kept: every notification is retried

    # ---- the buyer, in the simulated T-Bank app ---------------------------------------------

    def _by_link(self, tpay_id: str) -> dict[str, Any] | None:
        link = self._store.get("link", tpay_id)
        return self._store.get("payment", link["payment"]) if link else None

    def app_card(self, tpay_id: str) -> AppCard | None:
        payment = self._by_link(tpay_id)
        if payment is None:
            return None
        return AppCard(amount=payment["Amount"], currency="RUB",
                       deciding=payment["Status"] in ("NEW", "FORM_SHOWED"),
                       approved=payment["Status"] in ("AUTHORIZED", "CONFIRMED"),
                       outcome=payment["Status"], return_url=payment.get("SuccessURL") or "")

    async def buyer_decides(self, tpay_id: str, approve: bool) -> dict[str, Any] | None:
        async with self._lock:
            payment = self._by_link(tpay_id)
            if payment is None or payment["Status"] not in ("NEW", "FORM_SHOWED"):
                return payment  # decided already: a double tap changes nothing
            if approve:
                # Every payment passes AUTHORIZED (notified, with the RebillId of a Recurrent
                # one); a one-stage one then goes on to CONFIRMED by itself (notified again).
                payment["Status"] = "AUTHORIZED"
                if payment["Recurrent"] == "Y":
                    rebill = {"id": str(secrets.randbelow(9 * 10**11) + 10**11),
                              "terminal": payment["terminal"], "active": True,
                              "customer": payment["CustomerKey"]}
                    self._store.put("rebill", rebill)
                    payment["RebillId"] = rebill["id"]
                if payment["PayType"] == "O":
                    self._notify(payment)
                    payment["Status"] = "CONFIRMED"
                self._save(payment, deadline=self._hold_deadline(payment))
            else:
                payment["Status"] = "REJECTED"
                self._save(payment, deadline=None)
            self._notify(payment)
        return payment

    def _hold_deadline(self, payment: dict[str, Any]) -> float | None:
        if payment["Status"] != "AUTHORIZED":
            return None
        if self.config.hold_seconds is None:
            # "Within 7 days, including the day of authorization": to the midnight (Moscow)
            # closing the 7th day.
            day = datetime.fromtimestamp(time.time(), MOSCOW).date() + timedelta(days=7)
            return datetime.combine(day, datetime.min.time(), MOSCOW).timestamp()
        return time.time() + self.config.hold_seconds if payment["Status"] == "AUTHORIZED" \
            else None

    # ---- time -------------------------------------------------------------------------------

    async def expire_overdue(self) -> int:
        moved = 0
        for kind, doc_id in self._store.overdue(time.time()):
            async with self._lock:
                payment = self._store.get(kind, doc_id)
                if payment is None or kind != "payment":
                    continue
                if payment["Status"] in ("NEW", "FORM_SHOWED"):
                    payment["Status"] = "DEADLINE_EXPIRED"
                elif payment["Status"] == "REFUNDING":
                    payment["Status"] = payment.pop("landing")
                    self._notify(payment)
                elif payment["Status"] == "AUTHORIZED":
                    payment["Status"] = "REVERSED"  # the hold lapsed
                    self._notify(payment)
                else:
                    self._save(payment, deadline=None)
                    continue
                self._save(payment, deadline=None)
                moved += 1
        return moved

    # ---- storage and notifications ----------------------------------------------------------

    def _save(self, payment: dict[str, Any], *, alias: str | None = None,
              deadline: float | None) -> None:
        self._store.put("payment", payment, alias=alias, deadline=deadline)

    def _closing_receipt(self, payload: dict[str, Any], terminal: str) -> dict[str, Any]:
        """`SendClosingReceipt`: the closing receipt of a prepaid payment, registered and
        notified as any other."""
        payment = self._payment(payload.get("PaymentId"), terminal)
        if terminal not in self.cash_registers:
            raise _bad("the terminal has no online cash register")
        if payment["Status"] not in ("CONFIRMED", "PARTIAL_REFUNDED"):
            raise EacqError("8", "Неверный статус транзакции",
                            f"only a paid payment is settled; this is {payment['Status']}")
        receipt = payload.get("Receipt")
        paid = receipt.get("Payments") if isinstance(receipt, dict) else None
        if not isinstance(paid, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0
                for v in paid.values()):
            raise _missing("Receipt.Payments")
        checked = self._receipt(payload, terminal, sum(paid.values()), required=True)
        assert checked is not None
        done = {"Type": "Income", "Receipt": checked, "Amount": sum(paid.values()),
                "closing": True}
        payment["receipts"].append(done)
        self._save(payment, deadline=None)
        self._fiscalize(payment, done)
        return {"PaymentId": payment["id"]}

    def payment_doc(self, payment_id: str) -> dict[str, Any] | None:
        return self._store.get("payment", payment_id)

    def _receipt(self, payload: dict[str, Any], terminal: str, amount: int,
                 required: bool) -> dict[str, Any] | None:
        """The call's Receipt, checked at a terminal with a cash register (without one, T-Bank
        has nowhere to fiscalise it: kept, not looked at)."""
        receipt = payload.get("Receipt")
        ffd = self.cash_registers.get(terminal)
        if receipt is None:
            if required and ffd:
                raise EacqError("309", "Неверные параметры.",
                                "a terminal with an online cash register needs a Receipt")
            return None
        if not isinstance(receipt, dict):
            raise _bad("Receipt must be an object")
        if ffd:
            try:
                receipts.check(receipt, amount, ffd)
            except receipts.ReceiptRefused as refused:
                raise _bad(str(refused)) from None
        return dict(receipt)

    def _fiscalize(self, payment: dict[str, Any], done: dict[str, Any]) -> None:
        """The cash register registers a receipt, and T-Bank notifies it (Token-signed)."""
        url = payment.get("NotificationURL")
        if not self.config.notifications or not url or \
                payment["terminal"] not in self.cash_registers:
            return
        number = str(secrets.randbelow(9 * 10**3) + 10**3)
        doc: dict[str, Any] = {
            "TerminalKey": payment["terminal"], "OrderId": payment["OrderId"],
            "Success": True, "Status": "RECEIPT", "PaymentId": int(payment["id"]),
            "ErrorCode": "0", "Amount": done["Amount"], "FiscalNumber": 1,
            "ShiftNumber": 12, "ReceiptDatetime": datetime.now(MOSCOW).isoformat(
                timespec="seconds"), "FnNumber": "9999078900004792",
            "EcrRegNumber": "0000000000012345", "FiscalDocumentNumber": int(number),
            "FiscalDocumentAttribute": 2617603921, "Type": done["Type"],
            "Ofd": "sandbox OFD",
            "Url": f"{self.config.public_url}/sandbox/tbank/receipts/{payment['id']}/{number}",
            "QrCodeUrl": f"{self.config.public_url}/sandbox/tbank/receipts/{payment['id']}/"
                         f"{number}/qr",
            "Receipt": done["Receipt"]}
        doc["Token"] = token(doc, self.config.terminals[payment["terminal"]])
        self._out.send(url, json.dumps(doc, ensure_ascii=False).encode(),
                       {"Content-Type": "application/json"}, event="notification RECEIPT",
                       subject=payment["id"], meta={"attempt": payment["OrderId"]})

    def _notify(self, payment: dict[str, Any]) -> None:
        if payment["Status"] == "CONFIRMED" and payment.get("Receipt") and \
                not payment.get("registered"):
            payment["registered"] = True  # the sale's receipt, once
            self._save(payment, deadline=None)
            self._deliver(payment)
            self._fiscalize(payment, {"Type": "Income", "Receipt": payment["Receipt"],
                                      "Amount": payment["Amount"]})
            return
        self._deliver(payment)

    def _deliver(self, payment: dict[str, Any]) -> None:
        url = payment.get("NotificationURL")
        if not self.config.notifications or not url or payment["Status"] not in NOTIFIED:
            return
        doc: dict[str, Any] = {
            "TerminalKey": payment["terminal"], "OrderId": payment["OrderId"],
            "Success": payment["Status"] != "REJECTED", "Status": payment["Status"],
            "PaymentId": int(payment["id"]),  # a number here, a string in the answers
            "ErrorCode": "0" if payment["Status"] != "REJECTED" else "1051",
            "Amount": payment["Amount"]}
        if payment.get("RebillId") and payment["Status"] in ("AUTHORIZED", "CONFIRMED"):
            doc["RebillId"] = int(payment["RebillId"])
        doc["Token"] = token(doc, self.config.terminals[payment["terminal"]])
        self._out.send(url, json.dumps(doc).encode(), {"Content-Type": "application/json"},
                       event=f"notification {payment['Status']}", subject=payment["id"],
                       meta={"attempt": payment["OrderId"]})
