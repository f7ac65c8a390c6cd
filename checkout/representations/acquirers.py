"""A merchant's acquirer and what it can do, as `GET /api/v1/acquirer` shows it."""

from __future__ import annotations

from typing import Any, Literal

from checkout.acquirers.base import Acquirer, Family
from checkout.representations.payments import Shape, iso
from checkout.store.acquirer_accounts import Account


class AmountRange(Shape):
    min_amount: int
    max_amount: int


class CapabilitiesOut(Shape):
    model_config = {"title": "Capabilities"}

    family: Family
    currencies: dict[str, AmountRange]
    holds: bool
    # The longest a hold lasts; with `hold_calendar_days`, it ends at the midnight (on the
    # `hold_utc_offset` clock) closing that many calendar days, the day of authorization
    # counted.
    hold_seconds: int
    hold_calendar_days: int | None
    hold_utc_offset: str | None
    partial_capture: bool
    partial_refund: bool
    partial_refund_limit: int | None
    # Refunds for less than what is left taken on the payment's own day (acquirer's clock).
    partial_refunds_first_day: int | None
    recurring: bool
    signed_webhooks: bool
    reference_max_length: int | None
    pay_seconds: int
    # 54-FZ receipts at this account: `required` (a payment without one is refused),
    # `optional` (carried when sent), `unsupported` (the merchant fiscalises on its own side).
    receipts: Literal["required", "optional", "unsupported"]


class AccountOut(Shape):
    """The merchant's own contract with the acquirer: never a secret, only hints of them."""

    model_config = {"title": "AcquirerAccount"}

    id: str
    label: str
    settings: dict[str, str]  # a secret's last four characters; other settings as they are
    updated_at: str
    checked_at: str | None
    check_problem: str | None  # what the last connection check found wrong; null: it passed


class AcquirerOut(Shape):
    model_config = {"title": "Acquirer"}

    object: Literal["acquirer"] = "acquirer"
    name: str
    # Null: the checkout's own account at this acquirer (configured by its operator).
    account: AccountOut | None = None
    capabilities: CapabilitiesOut


def account_object(account: Account) -> AccountOut:
    return AccountOut(id=account.id, label=account.label, settings=account.hints,
                      updated_at=iso(account.updated_at),
                      checked_at=iso(account.checked_at) if account.checked_at else None,
                      check_problem=account.check_problem)


def acquirer_object(name: str, driver: Acquirer, account: Account | None = None,
                    receipts: str | None = None) -> dict[str, Any]:
    """`receipts`: what the account itself says (`Acquirer.receipt_mode`), where asked."""
    described = driver.capabilities.describe()
    if receipts is not None:
        described["receipts"] = receipts
    return AcquirerOut(name=name, account=account_object(account) if account else None,
                       capabilities=CapabilitiesOut.model_validate(described)).dump()
