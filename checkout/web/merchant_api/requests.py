"""What a merchant may send: one pydantic model per body, which both validates requests and
is the OpenAPI document's schema of them.

Every problem is reported at once, per field, as `InvalidRequest` (RFC 9457, 422). Pydantic
checks each field on its own (strictly: no number in a string, no 1 for true); the rules that
tie fields together, or need the merchant (its return origins), follow here by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from checkout.domain import receipts
from checkout.domain.money import CURRENCIES, Money, MoneyError
from checkout.errors import InvalidRequest
from checkout.flow.payments import PaymentRequest
from checkout.representations.payments import Customer

MAX_METADATA_KEYS = 50

ITEMS_HELP = ("line items (shown on the hosted page, and the 54-FZ receipt's): amounts sum "
              "exactly to `amount`; each `amount` is `quantity` × `unit_price`")
RECEIPT_HELP = ("a 54-FZ receipt of `items`: the buyer's `email` or `phone` (else the hosted "
                "page asks for one) and the seller's `taxation`")
LINK_RECEIPT_HELP = ("a tax profile: each payment made at the link carries a 54-FZ receipt of "
                     "one item (the description, for the amount paid); the hosted page asks "
                     "the buyer where to send it")
ITEM_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "quantity", "unit_price", "amount", "vat"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 128},
        "quantity": {"type": "number", "exclusiveMinimum": 0, "maximum": 99999.999,
                     "multipleOf": 0.001},
        "unit_price": {"type": "integer", "minimum": 0, "description": "minor units"},
        "amount": {"type": "integer", "minimum": 0,
                   "description": "minor units: quantity × unit_price, rounded half up"},
        "vat": {"type": "string", "enum": list(receipts.codes()["vat"]),
                "description": "each rate has the dates it may be used on (vat20 until "
                               "2025-12-31, vat22 from 2026-01-01): docs/receipts.md"},
        "payment_method": {"type": "string", "enum": list(receipts.codes()["payment_method"]),
                           "default": "full_payment"},
        "payment_object": {"type": "string", "enum": list(receipts.codes()["payment_object"]),
                           "default": "commodity"},
        "measure": {"type": "string", "enum": list(receipts.codes()["measure"])},
    },
}
LINK_RECEIPT_SCHEMA = {
    "additionalProperties": False, "required": ["taxation", "vat"],
    "properties": {
        "taxation": {"type": "string", "enum": list(receipts.codes()["taxation"])},
        "vat": {"type": "string", "enum": list(receipts.codes()["vat"])},
        "payment_method": {"type": "string", "enum": list(receipts.codes()["payment_method"]),
                           "default": "full_payment"},
        "payment_object": {"type": "string", "enum": list(receipts.codes()["payment_object"]),
                           "default": "commodity"},
    },
}
RECEIPT_SCHEMA = {
    "additionalProperties": False, "required": ["taxation"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "phone": {"type": "string", "description": "international format: +79001234567"},
        "taxation": {"type": "string", "enum": list(receipts.codes()["taxation"])},
    },
}


def _field(message: str, *, schema: dict[str, Any] | None = None, **constraints: Any) -> Any:
    """A field's constraints, and the problem's message when a value breaks them (shown in
    the OpenAPI document too, as `x-invalid`)."""
    return Field(json_schema_extra={"x-invalid": message, **(schema or {})}, **constraints)


# Where one constraint of a field deserves its own words: (field, pydantic error type).
_MESSAGE_FOR = {
    ("amount", "greater_than"): "must be greater than zero",
    ("description", "string_too_long"): "must be at most 128 characters",
}


class PaymentCreate(BaseModel):
    """A payment to create. `return_url` is required, except for a merchant-initiated charge
    of a saved method (nobody to send back)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    amount: Annotated[int, _field("must be an integer number of minor units (kopecks)", gt=0,
                                  description="minor units (kopecks, tetri, cents); each "
                                              "acquirer takes its own range per currency")]
    currency: Annotated[Literal[tuple(CURRENCIES)],  # type: ignore[valid-type]
                        _field(f"must be one of {', '.join(sorted(CURRENCIES))}")]
    description: Annotated[str, _field("must be a non-empty string", min_length=1,
                                       max_length=128, pattern=r"\S")]
    reference: Annotated[str | None, _field("must be a string of 1 to 128 characters",
                                            min_length=1, max_length=128)] = None
    return_url: Annotated[str | None, _field(
        "is required: an http(s) URL of at most 2048 characters", max_length=2048,
        schema={"format": "uri"})] = None
    capture: Annotated[bool, _field("must be true or false",
                                    description="false: hold, then capture or cancel")] = True
    customer: Annotated[Customer | None, _field(
        "must be {\"reference\": <string of 1 to 128 characters>}")] = None
    metadata: Annotated[
        dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]],
        _field(f"must be a flat object of at most {MAX_METADATA_KEYS} string values "
               "(keys ≤ 64, values ≤ 512 characters)", max_length=MAX_METADATA_KEYS)] = {}
    save_payment_method: Annotated[bool, _field("must be true or false")] = False
    payment_method_id: Annotated[str | None, _field(
        "must be the id of a saved payment method", min_length=1, max_length=40)] = None
    initiator: Annotated[Literal["merchant", "client"] | None, _field(
        "with payment_method_id: 'merchant' (no buyer) or 'client'")] = None
    items: Annotated[list[dict[str, Any]] | None, _field(
        "must be a list of items", description=ITEMS_HELP,
        schema={"items": ITEM_SCHEMA})] = None
    receipt: Annotated[dict[str, Any] | None, _field(
        "must be an object", description=RECEIPT_HELP, schema=RECEIPT_SCHEMA)] = None


class AmountOnly(BaseModel):
    """A capture or a refund: the whole amount (left), or this much of it; with a receipt,
    the `items` captured or returned (default: the payment's, in proportion)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    amount: Annotated[int | None, _field(
        "must be a positive integer number of minor units", gt=0)] = None
    items: Annotated[list[dict[str, Any]] | None, _field(
        "must be a list of items", description="the receipt's items of this amount",
        schema={"items": ITEM_SCHEMA})] = None


class ReceiptSettle(BaseModel):
    """A closing receipt: its items (default: the payment's, delivered in full now)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    items: Annotated[list[dict[str, Any]] | None, _field(
        "must be a list of items", description="the items settled, summing to what is left "
                                               "of the prepayment",
        schema={"items": ITEM_SCHEMA})] = None


class EndpointCreate(BaseModel):
    """A webhook endpoint to add: its URL (https, public, in production)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str, _field("must be an http(s) URL of at most 2048 characters",
                               min_length=1, max_length=2048, schema={"format": "uri"})]
    enabled: Annotated[bool, _field("must be true or false")] = True


class EndpointUpdate(BaseModel):
    """A new URL, or enabled or disabled: whichever is given."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: Annotated[str | None, _field("must be an http(s) URL of at most 2048 characters",
                                      min_length=1, max_length=2048,
                                      schema={"format": "uri"})] = None
    enabled: Annotated[bool | None, _field("must be true or false")] = None


class EndpointRotate(BaseModel):
    """How long the current secret keeps signing beside the new one (default: the server's
    CHECKOUT_WEBHOOK_SECRET_OVERLAP_HOURS; 0 ends it now)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    overlap_seconds: Annotated[int | None, _field(
        "must be a whole number of seconds, 0 or more", ge=0)] = None


class LinkCreate(BaseModel):
    """A payment link to make: a fixed `amount`, or `min_amount` and `max_amount` for the
    buyer to choose within."""

    model_config = ConfigDict(extra="forbid", strict=True)

    currency: Annotated[Literal[tuple(CURRENCIES)],  # type: ignore[valid-type]
                        _field(f"must be one of {', '.join(sorted(CURRENCIES))}")]
    description: Annotated[str, _field("must be a non-empty string", min_length=1,
                                       max_length=128, pattern=r"\S")]
    amount: Annotated[int | None, _field("must be a positive integer number of minor units",
                                         gt=0)] = None
    min_amount: Annotated[int | None, _field(
        "must be a positive integer number of minor units", gt=0)] = None
    max_amount: Annotated[int | None, _field(
        "must be a positive integer number of minor units", gt=0)] = None
    reusable: Annotated[bool, _field("must be true or false",
                                     description="false: one successful payment")] = False
    expires_at: Annotated[str | None, _field(
        "must be an ISO 8601 time with a zone, in the future", max_length=64,
        schema={"format": "date-time"})] = None
    receipt: Annotated[dict[str, Any] | None, _field(
        "must be an object", description=LINK_RECEIPT_HELP, schema=LINK_RECEIPT_SCHEMA)] = None


class NoFields(BaseModel):
    """A cancel: no fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _validate(model: type[BaseModel], doc: Any) -> tuple[BaseModel | None,
                                                         list[dict[str, str]]]:
    """The model, or None and one error per field (unknown fields first, sorted)."""
    if not isinstance(doc, dict):
        raise InvalidRequest("the body must be a JSON object", status=400)
    try:
        return model.model_validate(doc), []
    except ValidationError as exc:
        unknown: list[dict[str, str]] = []
        invalid: dict[str, dict[str, str]] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
                unknown.append({"field": name, "message": "unknown field"})
            elif name in model.model_fields:
                extra = model.model_fields[name].json_schema_extra
                message = _MESSAGE_FOR.get((name, error["type"])) or (
                    extra.get("x-invalid") if isinstance(extra, dict) else None)
                invalid.setdefault(name, {"field": name, "message": str(message or "invalid")})
        return None, sorted(unknown, key=lambda e: e["field"]) + list(invalid.values())


def _has_nul(value: Any) -> bool:
    # PostgreSQL refuses NUL in text; no merchant means one.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def parse_receipt(doc: dict[str, Any], amount: Any, currency: Any, on: date,
                  bad: Callable[[str, str], None]) -> tuple[tuple[receipts.Item, ...] | None,
                                                           receipts.Receipt | None]:
    """A payment's items and receipt, each problem reported to `bad`."""
    raw_items, raw_receipt = doc.get("items"), doc.get("receipt")
    items = receipt = None
    try:
        if raw_items is not None and isinstance(amount, int):
            items = receipts.parse_items(raw_items, amount, on)
    except receipts.ReceiptProblems as problems:
        for e in problems.errors:
            bad(e["field"], e["message"])
    if not isinstance(raw_receipt, dict):
        return items, None
    errors: list[dict[str, str]] = []
    unknown = sorted(set(raw_receipt) - {"email", "phone", "taxation"})
    errors += [{"field": f"receipt.{name}", "message": "unknown field" + (
        ": a receipt's items are the payment's `items`" if name == "items" else "")}
        for name in unknown]
    if raw_items is None:
        errors.append({"field": "items", "message": "a receipt needs the payment's items"})
    if currency != receipts.RECEIPT_CURRENCY:
        errors.append({"field": "receipt", "message": "a 54-FZ receipt is in RUB only"})
    email = phone = taxation = ""
    try:
        email, phone = receipts.parse_contact(raw_receipt.get("email"), raw_receipt.get("phone"))
    except receipts.ReceiptProblems as problems:
        errors += problems.errors
    try:
        taxation = receipts.parse_taxation(raw_receipt.get("taxation"), on)
    except receipts.ReceiptProblems as problems:
        errors += problems.errors
    for e in errors:
        bad(e["field"], e["message"])
    if not errors and items is not None:
        receipt = receipts.Receipt(taxation=taxation, items=items, email=email, phone=phone)
    return items, receipt


def parse_payment_request(doc: Any, return_origins: tuple[str, ...],
                          on: date | None = None) -> PaymentRequest:
    """`on`: the receipt's day (its codes must be valid then); today by default."""
    parsed, errors = _validate(PaymentCreate, doc)
    taken = {e["field"] for e in errors}

    def bad(field: str, message: str) -> None:
        if field not in taken:
            taken.add(field)
            errors.append({"field": field, "message": message})

    for name in sorted(set(PaymentCreate.model_fields) & set(doc)):
        if _has_nul(doc[name]):
            bad(name, "must not contain NUL characters")
    amount, currency = doc.get("amount"), doc.get("currency")
    if "amount" not in taken and "currency" not in taken:
        try:
            Money(amount, currency).check_limits()
        except MoneyError as err:
            bad("amount", str(err))
    initiator, method_id = doc.get("initiator"), doc.get("payment_method_id")
    if method_id is not None:
        if initiator is None:
            bad("initiator", "with payment_method_id: 'merchant' (no buyer) or 'client'")
        if doc.get("save_payment_method") is True:
            bad("save_payment_method", "a saved method is already saved")
    elif initiator is not None:
        bad("initiator", "only with payment_method_id")
    items, receipt = parse_receipt(doc, amount, currency,
                                   on or receipts.fiscal_day(datetime.now(UTC)), bad)
    return_url = doc.get("return_url")
    if return_url is None and initiator != "merchant":
        bad("return_url", "is required: an http(s) URL of at most 2048 characters")
    elif isinstance(return_url, str) and not origin_allowed(return_url, return_origins):
        bad("return_url", "must be an http(s) URL on one of your allowed origins")
    if errors or not isinstance(parsed, PaymentCreate):
        raise InvalidRequest("the payment request has invalid fields", errors)
    return PaymentRequest(
        amount=parsed.amount, currency=parsed.currency, description=parsed.description,
        return_url=parsed.return_url or "", reference=parsed.reference,
        capture=parsed.capture,
        customer_reference=parsed.customer.reference if parsed.customer else None,
        metadata=dict(parsed.metadata), save_payment_method=parsed.save_payment_method,
        payment_method_id=parsed.payment_method_id, initiator=parsed.initiator,
        items=items, receipt=receipt)


def parse_amount_only(doc: Any) -> tuple[int | None, list[dict[str, Any]] | None]:
    """A capture's or refund's amount, and the receipt's items of it (checked by the flow,
    against the payment)."""
    parsed, errors = _validate(AmountOnly, doc)
    if errors or not isinstance(parsed, AmountOnly):
        raise InvalidRequest("the request has invalid fields", errors)
    return parsed.amount, parsed.items


def parse_items_only(doc: Any) -> list[dict[str, Any]] | None:
    parsed, errors = _validate(ReceiptSettle, doc)
    if errors or not isinstance(parsed, ReceiptSettle):
        raise InvalidRequest("the request has invalid fields", errors)
    return parsed.items


def parse_fields(model: type[BaseModel], doc: Any) -> BaseModel:
    """A body of `model`, or every problem with it."""
    parsed, errors = _validate(model, doc)
    if errors or parsed is None:
        raise InvalidRequest("the request has invalid fields", errors)
    return parsed


def parse_no_fields(doc: Any) -> None:
    _, errors = _validate(NoFields, doc)
    if errors:
        raise InvalidRequest("cancel takes no body fields", errors)


def origin_allowed(url: str, patterns: tuple[str, ...]) -> bool:
    """True when `url` is http(s) on one of the origins; a pattern's port may be '*'."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if any(ord(c) < 33 or c == "\x7f" for c in url):
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password is not None:
        return False
    port = port or (443 if parts.scheme == "https" else 80)
    for pattern in patterns:
        p = urlsplit(pattern.replace(":*", ""))
        if p.scheme != parts.scheme or p.hostname != parts.hostname:
            continue
        if pattern.endswith(":*") or (p.port or (443 if p.scheme == "https" else 80)) == port:
            return True
    return False
