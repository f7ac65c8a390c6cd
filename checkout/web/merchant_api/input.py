"""Validating a merchant's create-payment body: every problem reported, per field, at once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from checkout.domain.money import CURRENCIES, Money, MoneyError
from checkout.errors import InvalidRequest
from checkout.flow.payments import PaymentRequest

FIELDS = {"amount", "currency", "description", "reference", "return_url", "capture",
          "customer", "metadata", "save_payment_method", "payment_method_id", "initiator"}
MAX_METADATA_KEYS = 50


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


def _has_nul(value: Any) -> bool:
    # PostgreSQL refuses NUL in text; no merchant means one.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def parse_payment_request(doc: Any, return_origins: tuple[str, ...]) -> PaymentRequest:
    if not isinstance(doc, dict):
        raise InvalidRequest("the body must be a JSON object", status=400)
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    for name in sorted(set(doc) - FIELDS):
        bad(name, "unknown field")
    for name in sorted(FIELDS & set(doc)):
        if _has_nul(doc[name]):
            bad(name, "must not contain NUL characters")

    amount = doc.get("amount")
    currency = doc.get("currency")
    if not isinstance(currency, str) or currency not in CURRENCIES:
        bad("currency", f"must be one of {', '.join(sorted(CURRENCIES))}")
    if isinstance(amount, bool) or not isinstance(amount, int):
        bad("amount", "must be an integer number of minor units (kopecks)")
    elif amount <= 0:
        bad("amount", "must be greater than zero")
    elif isinstance(currency, str) and currency in CURRENCIES:
        try:
            Money(amount, currency).check_limits()
        except MoneyError as err:
            bad("amount", str(err))

    description = doc.get("description")
    if not isinstance(description, str) or not description.strip():
        bad("description", "must be a non-empty string")
    elif len(description) > 128:
        bad("description", "must be at most 128 characters")

    reference = doc.get("reference")
    if reference is not None and (not isinstance(reference, str) or not 0 < len(reference) <= 128):
        bad("reference", "must be a string of 1 to 128 characters")

    save = doc.get("save_payment_method", False)
    if not isinstance(save, bool):
        bad("save_payment_method", "must be true or false")
    method_id = doc.get("payment_method_id")
    initiator = doc.get("initiator")
    if method_id is not None:
        if not isinstance(method_id, str) or not 0 < len(method_id) <= 40:
            bad("payment_method_id", "must be the id of a saved payment method")
        if initiator not in ("merchant", "client"):
            bad("initiator", "with payment_method_id: 'merchant' (no buyer) or 'client'")
        if save is True:
            bad("save_payment_method", "a saved method is already saved")
    elif initiator is not None:
        bad("initiator", "only with payment_method_id")

    return_url = doc.get("return_url")
    if return_url is None and initiator == "merchant":
        pass  # no buyer, nowhere to return to
    elif not isinstance(return_url, str) or len(return_url) > 2048:
        bad("return_url", "is required: an http(s) URL of at most 2048 characters")
    elif not origin_allowed(return_url, return_origins):
        bad("return_url", "must be an http(s) URL on one of your allowed origins")

    capture = doc.get("capture", True)
    if not isinstance(capture, bool):
        bad("capture", "must be true or false")

    customer = doc.get("customer")
    customer_ref: str | None = None
    if customer is not None:
        ref = customer.get("reference") if isinstance(customer, dict) else None
        if not isinstance(customer, dict) or set(customer) - {"reference"} or \
                not isinstance(ref, str) or not 0 < len(ref) <= 128:
            bad("customer", "must be {\"reference\": <string of 1 to 128 characters>}")
        else:
            customer_ref = ref

    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
        for k, v in metadata.items()
    ):
        bad("metadata", f"must be a flat object of at most {MAX_METADATA_KEYS} string values "
                        "(keys ≤ 64, values ≤ 512 characters)")

    if errors:
        raise InvalidRequest("the payment request has invalid fields", errors)
    return PaymentRequest(
        amount=amount, currency=currency, description=description,  # type: ignore[arg-type]
        return_url=return_url or "", reference=reference,  # type: ignore[arg-type]
        capture=capture, customer_reference=customer_ref,  # type: ignore[arg-type]
        metadata=metadata, save_payment_method=save,  # type: ignore[arg-type]
        payment_method_id=method_id, initiator=initiator,
    )
