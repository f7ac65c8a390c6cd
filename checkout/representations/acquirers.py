"""A merchant's acquirer and what it can do, as `GET /api/v1/acquirer` shows it."""

from __future__ import annotations

from typing import Any, Literal

from checkout.acquirers.base import Acquirer, Family
from checkout.representations.payments import Shape


class AmountRange(Shape):
    min_amount: int
    max_amount: int


class CapabilitiesOut(Shape):
    model_config = {"title": "Capabilities"}

    family: Family
    currencies: dict[str, AmountRange]
    holds: bool
    hold_seconds: int
    partial_capture: bool
    partial_refund: bool
    partial_refund_limit: int | None
    recurring: bool
    signed_webhooks: bool
    reference_max_length: int | None
    pay_seconds: int


class AcquirerOut(Shape):
    model_config = {"title": "Acquirer"}

    object: Literal["acquirer"] = "acquirer"
    name: str
    capabilities: CapabilitiesOut


def acquirer_object(name: str, driver: Acquirer) -> dict[str, Any]:
    return AcquirerOut(name=name, capabilities=CapabilitiesOut.model_validate(
        driver.capabilities.describe())).dump()
