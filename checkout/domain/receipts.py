"""A payment's line items and its 54-FZ fiscal receipt, in our own neutral words.

The codes a receipt may carry live in `fiscal_codes.toml`, each with the dates it may be used on:
VAT went from 20 % to 22 % on 1 January 2026, and a receipt with the old rate after that is an
erroneous fiscal document. A receipt is dated by the day of the sale on Moscow's calendar; a
refund's receipt carries the sale's rates (the refund reverses that sale, not a new one).

Every problem is reported per field (`items[1].vat`), before any acquirer is called.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

MAX_ITEMS = 100  # T-Bank takes at most 100 items; YooKassa 100 too
MAX_NAME = 128  # YooKassa's `description` and T-Bank's `Name`
MAX_QUANTITY = Decimal("99999.999")
RECEIPT_CURRENCY = "RUB"  # 54-FZ receipts are in roubles
MOSCOW = timezone(timedelta(hours=3))

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
_PHONE = re.compile(r"^\+?[1-9][0-9]{10,14}$")


@cache
def codes() -> dict[str, dict[str, dict[str, Any]]]:
    """Every kind of code (vat, taxation, payment_method, payment_object, measure) by our
    name, with each acquirer's name for it and its dates."""
    text = resources.files("checkout.domain").joinpath("fiscal_codes.toml").read_text("utf-8")
    return tomllib.loads(text)


def wire_code(kind: str, name: str, acquirer: str) -> Any:
    """An acquirer's own name for one of our codes (our name where both say the same)."""
    return codes()[kind][name].get(acquirer, name)


def fiscal_choices(on: date) -> dict[str, list[str]]:
    """The codes a person may pick `on` that day (a retired rate is not offered), by kind."""
    return {kind: [name for name in names if _code_problem(kind, name, on) is None]
            for kind, names in codes().items()}


def fiscal_day(moment: datetime) -> date:
    """The day a receipt is dated by: Moscow's calendar (54-FZ)."""
    return moment.astimezone(MOSCOW).date()


def _code_problem(kind: str, name: Any, on: date) -> str | None:
    known = codes()[kind]
    if not isinstance(name, str) or name not in known:
        return f"must be one of {', '.join(known)}"
    entry = known[name]
    if "from" in entry and on < entry["from"]:
        return f"{name} may be used from {entry['from'].isoformat()}"
    if "until" in entry and on >= entry["until"]:
        instead = f": use {entry['replaced_by']}" if "replaced_by" in entry else ""
        return f"{name} may not be used from {entry['until'].isoformat()}{instead}"
    return None


@dataclass(frozen=True)
class Item:
    name: str
    quantity: Decimal
    unit_price: int  # minor units
    amount: int  # minor units: quantity × unit_price, rounded half up to a minor unit
    vat: str
    payment_method: str = "full_payment"
    payment_object: str = "commodity"
    measure: str | None = None

    @property
    def json_quantity(self) -> int | float:
        """The quantity as JSON writes it: 2, or 1.5 (never 2.0; at most 3 decimals)."""
        quantity = self.quantity
        return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)

    def as_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["quantity"] = self.json_quantity
        return doc if self.measure else {k: v for k, v in doc.items() if k != "measure"}


@dataclass(frozen=True)
class Receipt:
    """What a fiscal receipt says beyond the money: whose, under which tax system, for what."""

    taxation: str
    items: tuple[Item, ...]
    email: str = ""
    phone: str = ""  # digits with a leading +, E.164

    @property
    def has_contact(self) -> bool:
        return bool(self.email or self.phone)


class ReceiptProblems(ValueError):
    """Every problem found, as [{"field", "message"}]."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def parse_items(raw: Any, total: int, on: date, prefix: str = "items") -> tuple[Item, ...]:
    """Items from a merchant's JSON, summing exactly to `total` minor units, with codes valid
    `on` the receipt's day. Raises `ReceiptProblems`."""
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ITEMS:
        raise ReceiptProblems([{"field": prefix,
                                "message": f"must be a list of 1 to {MAX_ITEMS} items"}])
    items: list[Item] = []
    for i, doc in enumerate(raw):
        at = f"{prefix}[{i}]"
        if not isinstance(doc, dict):
            bad(at, "must be an object")
            continue
        unknown = sorted(set(doc) - {"name", "quantity", "unit_price", "amount", "vat",
                                     "payment_method", "payment_object", "measure"})
        for name in unknown:
            bad(f"{at}.{name}", "unknown field")
        name = doc.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME \
                or "\x00" in name:
            bad(f"{at}.name", f"must be a non-empty string of at most {MAX_NAME} characters")
        quantity = _quantity(doc.get("quantity"))
        if quantity is None:
            bad(f"{at}.quantity", "must be a number greater than 0 with at most 3 decimals "
                                  f"(at most {MAX_QUANTITY})")
        unit_price, amount = doc.get("unit_price"), doc.get("amount")
        for field, value in (("unit_price", unit_price), ("amount", amount)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                bad(f"{at}.{field}", "must be an integer number of minor units, 0 or more")
        if quantity is not None and isinstance(unit_price, int) and isinstance(amount, int) \
                and not isinstance(unit_price, bool) and not isinstance(amount, bool):
            expected = int((quantity * unit_price).quantize(Decimal(1), ROUND_HALF_UP))
            if amount != expected:
                bad(f"{at}.amount", f"must be quantity × unit_price: {expected}")
        for kind, default in (("vat", None), ("payment_method", "full_payment"),
                              ("payment_object", "commodity"), ("measure", "")):
            value = doc.get(kind, default)
            if value == "" and kind == "measure":
                continue
            problem = _code_problem(kind, value, on)
            if problem:
                bad(f"{at}.{kind}", problem)
        if not any(e["field"].startswith(f"{at}.") or e["field"] == at for e in errors):
            assert quantity is not None
            items.append(Item(name=str(name), quantity=quantity, unit_price=int(str(unit_price)),
                              amount=int(str(amount)), vat=str(doc["vat"]),
                              payment_method=str(doc.get("payment_method", "full_payment")),
                              payment_object=str(doc.get("payment_object", "commodity")),
                              measure=doc.get("measure") or None))
    if not errors and sum(item.amount for item in items) != total:
        bad(prefix, f"the items' amounts must sum to the amount, {total}; "
                    f"they sum to {sum(item.amount for item in items)}")
    if errors:
        raise ReceiptProblems(errors)
    return tuple(items)


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        return None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY \
            or quantity != quantity.quantize(Decimal("0.001")):
        return None
    return quantity.normalize() if quantity != quantity.to_integral_value() \
        else Decimal(int(quantity))


def parse_contact(email: Any, phone: Any, prefix: str = "receipt") -> tuple[str, str]:
    """The buyer's email and phone (either may be empty), checked and normalised."""
    errors = []
    if email not in (None, "") and (not isinstance(email, str) or not _EMAIL.match(email)):
        errors.append({"field": f"{prefix}.email", "message": "must be an email address"})
    digits = ""
    if phone not in (None, ""):
        if isinstance(phone, str):
            digits = re.sub(r"[\s()\-]", "", phone)
        if not _PHONE.match(digits):
            errors.append({"field": f"{prefix}.phone",
                           "message": "must be a phone number in international format, "
                                      "such as +79001234567"})
    if errors:
        raise ReceiptProblems(errors)
    return (email or "").strip(), ("+" + digits.lstrip("+")) if digits else ""


def parse_taxation(value: Any, on: date, prefix: str = "receipt") -> str:
    problem = _code_problem("taxation", value, on)
    if problem:
        raise ReceiptProblems([{"field": f"{prefix}.taxation", "message": problem}])
    return str(value)


def part_of(items: tuple[Item, ...], amount: int) -> tuple[Item, ...] | None:
    """The items of a partial capture or refund of `amount`, proportional to each item's
    share; None when a proportional receipt would change a unit price or a quantity (an item
    of more than one unit): then the merchant must say which items."""
    total = sum(item.amount for item in items)
    if amount == total:
        return items
    if any(item.quantity != 1 for item in items) or total == 0:
        return None
    shares = [item.amount * amount // total for item in items]
    # Whole minor units left by rounding down go to the largest items first.
    order = sorted(range(len(items)), key=lambda i: -items[i].amount)
    for i in order[:amount - sum(shares)]:
        shares[i] += 1
    return tuple(replace(item, unit_price=share, amount=share)
                 for item, share in zip(items, shares, strict=True) if share)


def items_json(items: tuple[Item, ...] | None) -> str | None:
    return None if items is None else json.dumps([i.as_doc() for i in items],
                                                 ensure_ascii=False)


def items_from_json(text: str | None) -> tuple[Item, ...] | None:
    if text is None:
        return None
    return tuple(Item(**{**doc, "quantity": Decimal(str(doc["quantity"]))})
                 for doc in json.loads(text))


def parse_profile(raw: Any, on: date, prefix: str = "receipt") -> dict[str, str]:
    """A payment link's tax profile: the receipt of each payment made at it is one item (the
    link's description, for the amount paid) with these codes."""
    if not isinstance(raw, dict):
        raise ReceiptProblems([{"field": prefix, "message": "must be an object"}])
    errors = [{"field": f"{prefix}.{name}", "message": "unknown field"}
              for name in sorted(set(raw) - {"taxation", "vat", "payment_method",
                                             "payment_object"})]
    profile = {"taxation": raw.get("taxation"), "vat": raw.get("vat"),
               "payment_method": raw.get("payment_method", "full_payment"),
               "payment_object": raw.get("payment_object", "commodity")}
    for kind, value in profile.items():
        problem = _code_problem(kind, value, on)
        if problem:
            errors.append({"field": f"{prefix}.{kind}", "message": problem})
    if errors:
        raise ReceiptProblems(errors)
    return {k: str(v) for k, v in profile.items()}


def profile_receipt(profile: dict[str, str], name: str, amount: int, on: date) -> Receipt:
    """The receipt of one payment of `amount` under a link's tax profile, its codes checked
    again for `on` (a link made before a rate changed may outlive it)."""
    items = parse_items([{"name": name[:MAX_NAME], "quantity": 1, "unit_price": amount,
                          "amount": amount, "vat": profile["vat"],
                          "payment_method": profile["payment_method"],
                          "payment_object": profile["payment_object"]}], amount, on)
    return Receipt(taxation=parse_taxation(profile["taxation"], on), items=items)


PREPAYMENTS = ("full_prepayment", "prepayment", "advance")
# A prepayment is taxed at the calculated rate (22/122); its settlement at the rate itself.
_SETTLED_RATE = {"vat105": "vat5", "vat107": "vat7", "vat110": "vat10", "vat120": "vat20",
                 "vat122": "vat22"}


def settlement_of(items: tuple[Item, ...]) -> tuple[Item, ...]:
    """The closing receipt's items of prepaid `items`: delivered in full now, at the rate
    itself rather than the calculated one."""
    return tuple(replace(item, payment_method="full_payment",
                         vat=_SETTLED_RATE.get(item.vat, item.vat)) for item in items)
