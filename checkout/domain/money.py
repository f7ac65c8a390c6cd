"""Money is an integer count of minor units plus an ISO 4217 currency code.

Decimals appear only at the wire of an acquirer that wants them (see `to_decimal_string`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int  # ISO 4217 minor unit
    min_amount: int  # in minor units
    max_amount: int  # in minor units


# What any payment may be; each acquirer narrows it further (`Capabilities.limits`).
# RUB: T-Pay's own limits. GEL, USD, EUR: TBC's currencies.
CURRENCIES: dict[str, Currency] = {
    "RUB": Currency("RUB", 2, 1_00, 700_000_00),
    "GEL": Currency("GEL", 2, 1, 100_000_000_00),
    "USD": Currency("USD", 2, 1, 100_000_000_00),
    "EUR": Currency("EUR", 2, 1, 100_000_000_00),
}


class MoneyError(ValueError):
    """An amount or currency that no payment may have."""


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError("amount must be an integer number of minor units")
        if self.currency not in CURRENCIES:
            raise MoneyError(f"currency {self.currency!r} is not supported")

    @classmethod
    def from_major(cls, text: str, currency: str) -> Money:
        """An amount as a person types it, in the currency's units ("1500", "1500.5",
        "1500.50"; a decimal comma too), with no more decimals than the currency has."""
        if currency not in CURRENCIES:
            raise MoneyError(f"currency {currency!r} is not supported")
        exponent = CURRENCIES[currency].exponent
        try:
            value = Decimal(text.strip().replace(",", "."))
        except InvalidOperation:
            raise MoneyError(f"{text!r} is not an amount") from None
        minor = value.scaleb(exponent) if value.is_finite() else value
        if not value.is_finite() or value < 0 or minor != minor.to_integral_value() \
                or minor > 10 ** 15:
            raise MoneyError(f"{text!r} is not an amount of {currency}")
        return cls(int(minor), currency)

    def check_limits(self) -> None:
        cur = CURRENCIES[self.currency]
        if self.amount < cur.min_amount or self.amount > cur.max_amount:
            raise MoneyError(
                f"amount must be between {cur.min_amount} and {cur.max_amount} "
                f"minor units of {cur.code}"
            )

    def to_decimal_string(self) -> str:
        exp = CURRENCIES[self.currency].exponent
        return str(Decimal(self.amount).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))
