"""T-Bank's `Receipt` object, checked as T-Bank documents it (Init → Receipt, FFD 1.05 and
1.2): the buyer's Email or Phone, the tax system, 1 to 100 items whose `Amount` is `Price` ×
`Quantity` in kopecks and whose sum is the operation's amount, T-Bank's tax codes, and, under
FFD 1.2, each item's MeasurementUnit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

TAXATIONS = ("osn", "usn_income", "usn_income_outcome", "esn", "patent")
TAXES = ("none", "vat0", "vat5", "vat7", "vat10", "vat20", "vat22", "vat105", "vat107",
         "vat110", "vat120", "vat122")
PAYMENT_METHODS = ("full_prepayment", "prepayment", "advance", "full_payment",
                   "partial_payment", "credit", "credit_payment")
PAYMENT_OBJECTS = ("commodity", "excise", "job", "service", "gambling_bet", "gambling_prize",
                   "lottery", "lottery_prize", "intellectual_activity", "payment",
                   "agent_commission", "composite", "another")
FFD_VERSIONS = ("1.05", "1.2")


class ReceiptRefused(ValueError):
    """What is wrong with a receipt, for the Details of an error."""


def check(receipt: Any, amount: int, register_ffd: str) -> dict[str, Any]:
    """The receipt, if T-Bank's cash register (of format `register_ffd`) would take it for
    an operation of `amount` kopecks; raises `ReceiptRefused` otherwise."""
    if not isinstance(receipt, dict):
        raise ReceiptRefused("Receipt must be an object")
    ffd = receipt.get("FfdVersion", "1.05")
    if ffd not in FFD_VERSIONS or ffd != register_ffd:
        raise ReceiptRefused(f"Receipt.FfdVersion must be the cash register's, {register_ffd}")
    if not receipt.get("Email") and not receipt.get("Phone"):
        raise ReceiptRefused("Receipt needs an Email or a Phone")
    if receipt.get("Taxation") not in TAXATIONS:
        raise ReceiptRefused(f"Receipt.Taxation must be one of {', '.join(TAXATIONS)}")
    items = receipt.get("Items")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        raise ReceiptRefused("Receipt.Items must hold 1 to 100 items")
    total = sum(_item(item, f"Receipt.Items[{i}]", ffd) for i, item in enumerate(items))
    if total != amount:
        raise ReceiptRefused(f"the items' Amounts sum to {total}, not {amount}")
    return receipt


def _item(item: Any, at: str, ffd: str) -> int:
    if not isinstance(item, dict):
        raise ReceiptRefused(f"{at} must be an object")
    name = item.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= 128:
        raise ReceiptRefused(f"{at}.Name must be 1 to 128 characters")
    price, amount, quantity = item.get("Price"), item.get("Amount"), item.get("Quantity")
    for key, value in (("Price", price), ("Amount", amount)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReceiptRefused(f"{at}.{key} must be kopecks, a whole number")
    try:
        count = Decimal(str(quantity))
    except InvalidOperation:
        raise ReceiptRefused(f"{at}.Quantity must be a number") from None
    if isinstance(quantity, bool) or not isinstance(quantity, int | float) or count <= 0 \
            or count != count.quantize(Decimal("0.001")) or count > Decimal("99999.999"):
        raise ReceiptRefused(f"{at}.Quantity must be more than 0, with 3 decimals at most")
    assert isinstance(price, int) and isinstance(amount, int)
    if amount != int((count * price).quantize(Decimal(1), ROUND_HALF_UP)):
        raise ReceiptRefused(f"{at}.Amount must be Price × Quantity")
    if item.get("Tax") not in TAXES:
        raise ReceiptRefused(f"{at}.Tax must be one of {', '.join(TAXES)}")
    if item.get("PaymentMethod", "full_payment") not in PAYMENT_METHODS:
        raise ReceiptRefused(f"{at}.PaymentMethod is not one of T-Bank's")
    if item.get("PaymentObject", "commodity") not in PAYMENT_OBJECTS:
        raise ReceiptRefused(f"{at}.PaymentObject is not one of T-Bank's")
    if ffd == "1.2" and not isinstance(item.get("MeasurementUnit"), str):
        raise ReceiptRefused(f"{at}.MeasurementUnit is required under FFD 1.2")
    return amount
