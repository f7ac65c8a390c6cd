"""YooKassa's `receipt` object, checked as YooKassa documents it ("Параметры для формирования
чека", and "Справочник значений параметров"): the customer's email or phone, 1 to 100 items
whose `amount` is one unit's price and whose sum (× `quantity`) is what is paid, VAT codes
1 to 12, and YooKassa's own words for the payment mode and subject."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

VAT_CODES = range(1, 13)
TAX_SYSTEM_CODES = range(1, 7)
PAYMENT_MODES = ("full_prepayment", "partial_prepayment", "advance", "full_payment",
                 "partial_payment", "credit", "credit_payment")
PAYMENT_SUBJECTS = ("commodity", "excise", "job", "service", "gambling_bet", "gambling_prize",
                    "lottery", "lottery_prize", "intellectual_activity", "payment",
                    "agent_commission", "property_right", "non_operating_gain",
                    "insurance_premium", "sales_tax", "resort_fee", "composite", "another",
                    "fine", "tax", "lien", "cost", "pension_insurance_without_payouts",
                    "pension_insurance_with_payouts", "health_insurance_without_payouts",
                    "health_insurance_with_payouts", "health_insurance", "casino",
                    "agent_withdrawals", "non_marked_excise", "marked_excise", "marked",
                    "non_marked")
MEASURES = ("piece", "gram", "kilogram", "ton", "centimeter", "decimeter", "meter",
            "square_centimeter", "square_decimeter", "square_meter", "milliliter", "liter",
            "cubic_meter", "kilowatt_hour", "gigacalorie", "day", "hour", "minute", "second",
            "kilobyte", "megabyte", "gigabyte", "terabyte", "another")
ILLEGAL = "Receipt is missing or illegal"


class ReceiptRefused(ValueError):
    def __init__(self, parameter: str, description: str = ILLEGAL) -> None:
        super().__init__(description)
        self.parameter, self.description = parameter, description


def check(receipt: Any, paid: Decimal) -> dict[str, Any]:
    """The receipt, if YooKassa would take it for a payment (or capture, or refund) of
    `paid` roubles; raises `ReceiptRefused` naming the parameter otherwise."""
    if not isinstance(receipt, dict):
        raise ReceiptRefused("receipt")
    customer = receipt.get("customer")
    if not isinstance(customer, dict) or not (customer.get("email") or customer.get("phone")):
        raise ReceiptRefused("receipt.customer", "receipt.customer needs an email or a phone")
    phone = customer.get("phone")
    if phone is not None and (not isinstance(phone, str) or not phone.isdigit()):
        raise ReceiptRefused("receipt.customer.phone",
                             "phone is ITU-T E.164 digits, such as 79000000000")
    code = receipt.get("tax_system_code")
    if code is not None and code not in TAX_SYSTEM_CODES:
        raise ReceiptRefused("receipt.tax_system_code")
    items = receipt.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        raise ReceiptRefused("receipt.items")
    total = Decimal(0)
    for i, item in enumerate(items):
        total += _item(item, f"receipt.items[{i}]")
    if total != paid:
        raise ReceiptRefused("receipt.items", f"the items sum to {total}, the amount is {paid}")
    return receipt


def _item(item: Any, at: str) -> Decimal:
    if not isinstance(item, dict):
        raise ReceiptRefused(at)
    name = item.get("description")
    if not isinstance(name, str) or not 1 <= len(name) <= 128:
        raise ReceiptRefused(f"{at}.description")
    try:
        quantity = Decimal(str(item.get("quantity")))
    except InvalidOperation:
        raise ReceiptRefused(f"{at}.quantity") from None
    if isinstance(item.get("quantity"), bool) or not quantity.is_finite() or quantity <= 0:
        raise ReceiptRefused(f"{at}.quantity")
    amount = item.get("amount")
    if not isinstance(amount, dict):
        raise ReceiptRefused(f"{at}.amount")
    try:
        price = Decimal(str(amount.get("value")))
    except InvalidOperation:
        raise ReceiptRefused(f"{at}.amount") from None
    if amount.get("currency") != "RUB" or price < 0 or \
            price != price.quantize(Decimal("0.01")):
        raise ReceiptRefused(f"{at}.amount")
    if item.get("vat_code") not in VAT_CODES:
        raise ReceiptRefused(f"{at}.vat_code")
    for key, allowed in (("payment_mode", PAYMENT_MODES), ("payment_subject", PAYMENT_SUBJECTS),
                         ("measure", MEASURES)):
        if key in item and item[key] not in allowed:
            raise ReceiptRefused(f"{at}.{key}")
    return (price * quantity).quantize(Decimal("0.01"), ROUND_HALF_UP)
