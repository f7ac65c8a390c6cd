"""Rows as typed, immutable values: what the flow and the web layer pass around."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from checkout.domain.states import AttemptStatus, Debt, PaymentStatus, Watch


def _built(cls: type[Any], row: Any, **typed: Any) -> Any:
    """A frozen dataclass with every field from `row` (a column of the same name; `typed`
    overrides), made without its `__init__`: that sets each field through
    `object.__setattr__`, which for a payment's 27 was most of the cost of reading one."""
    found = dict(zip(row._fields, row, strict=True))  # (`_asdict` takes twice as long)
    obj = object.__new__(cls)
    obj.__dict__.update({name: found[name] for name in cls.__dataclass_fields__}, **typed)
    return obj


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    return_origins: tuple[str, ...]
    embed_origins: tuple[str, ...]
    acquirer: str
    default_language: str = ""
    logo_url: str = ""
    accent_color: str = ""
    acquirer_account_id: str | None = None  # None: the deployment's account of `acquirer`

    @classmethod
    def from_row(cls, row: Any) -> Merchant:
        return cls(row.id, row.name, tuple(json.loads(row.return_origins)),
                   tuple(json.loads(row.embed_origins)), row.acquirer,
                   row.default_language or "", row.logo_url or "", row.accent_color or "",
                   row._mapping.get("acquirer_account_id"))


@dataclass(frozen=True)
class Payment:
    id: str
    merchant_id: str
    acquirer: str
    acquirer_account_id: str | None
    status: PaymentStatus
    amount: int
    currency: str
    description: str
    reference: str | None
    return_url: str
    capture: bool
    customer_reference: str | None
    metadata: dict[str, str]
    captured_amount: int
    refunded_amount: int
    last_error_code: str | None
    save_payment_method: bool
    payment_method_id: str | None
    initiator: str | None
    pending_operation: str | None
    pending_amount: int | None
    authorized_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    payment_link_id: str | None = None  # made by a buyer at this payment link
    items: str | None = None  # JSON (`domain.receipts.items_from_json`)
    taxation: str | None = None  # None: no receipt
    receipt_contact: str | None = None  # sealed JSON {"email", "phone"}
    receipt_status: str | None = None  # pending | succeeded | failed
    receipt_url: str | None = None
    pending_items: str | None = None  # JSON: the items of the capture in flight
    settlement_status: str | None = None  # the closing receipt of a prepayment

    @classmethod
    def from_row(cls, row: Any) -> Payment:
        payment: Payment = _built(cls, row, status=PaymentStatus(row.status),
                                  metadata=json.loads(row.metadata))
        return payment


@dataclass(frozen=True)
class Attempt:
    id: str
    payment_id: str
    acquirer: str
    acquirer_account_id: str | None
    acquirer_ref: str | None
    status: AttemptStatus
    platform_type: str
    platform_os: str
    platform_browser: str
    language: str | None
    action_url: str | None
    deadline_at: datetime | None
    error_code: str | None
    error_message: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    checked_at: datetime | None
    watch: Watch | None = None
    debt: Debt | None = None
    returned_baseline: int | None = None
    kept_token: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Attempt:
        attempt: Attempt = _built(cls, row, status=AttemptStatus(row.status),
                                  watch=Watch(row.watch) if row.watch else None,
                                  debt=Debt(row.debt) if row.debt else None)
        return attempt


@dataclass(frozen=True)
class Refund:
    id: str
    payment_id: str
    attempt_id: str
    amount: int
    status: str
    acquirer_ref: str | None
    created_at: datetime
    updated_at: datetime
    review: str | None = None
    items: str | None = None  # JSON: its receipt's items

    @classmethod
    def from_row(cls, row: Any) -> Refund:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class IdempotencyRecord:
    """A merchant's `Idempotency-Key`: the request it was first used with and its answer."""

    request_hash: str
    status_code: int  # 0 while the first request is still running
    body: str  # the answer as first sent, JSON text
    created_at: datetime
    owner: str | None

    @property
    def running(self) -> bool:
        return self.status_code == 0

    @classmethod
    def from_row(cls, row: Any) -> IdempotencyRecord:
        return cls(row.request_hash, row.status_code, row.response_body, row.created_at,
                   row.owner)
