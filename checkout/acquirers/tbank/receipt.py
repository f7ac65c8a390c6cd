"""A 54-FZ receipt in T-Bank's words (`Receipt` on `Init`, a partial `Confirm` and `Cancel`).

`Items[].Price` is one unit's price and `Amount` the item's total, both in kopecks; the tax
codes are T-Bank's words (`vat22`). FFD 1.2 wants each item's `MeasurementUnit`: an item given
none is counted in pieces ("шт"), as T-Bank's own examples do. The receipt is nested, so it is
never part of the Token.
"""

from __future__ import annotations

from typing import Any

from checkout.domain.receipts import Item, Receipt, wire_code

FFD_VERSIONS = ("1.05", "1.2")


def receipt_doc(receipt: Receipt, ffd_version: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"FfdVersion": ffd_version,
                           "Taxation": wire_code("taxation", receipt.taxation, "tbank"),
                           "Items": [_item(i, ffd_version) for i in receipt.items]}
    if receipt.email:
        doc["Email"] = receipt.email
    if receipt.phone:
        doc["Phone"] = receipt.phone
    return doc


def _item(item: Item, ffd_version: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Name": item.name,
        "Price": item.unit_price,
        "Quantity": item.json_quantity,
        "Amount": item.amount,
        "Tax": wire_code("vat", item.vat, "tbank"),
        "PaymentMethod": wire_code("payment_method", item.payment_method, "tbank"),
        "PaymentObject": wire_code("payment_object", item.payment_object, "tbank"),
    }
    if ffd_version == "1.2":
        doc["MeasurementUnit"] = wire_code("measure", item.measure or "piece", "tbank")
    return doc
