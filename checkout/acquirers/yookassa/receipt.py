"""A 54-FZ receipt in YooKassa's words (`receipt` on a payment, a capture and a refund).

YooKassa's `items[].amount` is the price of one unit (YooKassa multiplies by `quantity`), codes
are its numbers (`vat_code`, `tax_system_code`), and a phone is E.164 digits with no `+`.
"""

from __future__ import annotations

from typing import Any

from checkout.domain.money import Money
from checkout.domain.receipts import Item, Receipt, wire_code


def receipt_doc(receipt: Receipt, currency: str) -> dict[str, Any]:
    customer: dict[str, str] = {}
    if receipt.email:
        customer["email"] = receipt.email
    if receipt.phone:
        customer["phone"] = receipt.phone.lstrip("+")
    return {"customer": customer, "items": [_item(i, currency) for i in receipt.items],
            "tax_system_code": wire_code("taxation", receipt.taxation, "yookassa")}


def _item(item: Item, currency: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "description": item.name,
        "quantity": item.json_quantity,
        "amount": {"value": Money(item.unit_price, currency).to_decimal_string(),
                   "currency": currency},
        "vat_code": wire_code("vat", item.vat, "yookassa"),
        "payment_mode": wire_code("payment_method", item.payment_method, "yookassa"),
        "payment_subject": wire_code("payment_object", item.payment_object, "yookassa"),
    }
    if item.measure:
        doc["measure"] = wire_code("measure", item.measure, "yookassa")
    return doc
