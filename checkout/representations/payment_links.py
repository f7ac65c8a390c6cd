"""A payment link as the API shows it, with what was paid at it."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import Field

from checkout.representations.payments import Shape, Timestamp, iso
from checkout.store.payment_links import Link, Totals


class LinkTotalsOut(Shape):
    model_config = {"title": "PaymentLinkTotals"}

    payments: int  # made at the link, whatever became of them
    succeeded: int  # paid (held ones included)
    paid_amount: Annotated[int, Field(description="what they took, in minor units")]


class PaymentLinkOut(Shape):
    model_config = {"title": "PaymentLink"}

    id: str
    object: Literal["payment_link"] = "payment_link"
    url: str  # the short URL to share: /l/<slug>
    amount: int | None  # null: the buyer enters one from min_amount to max_amount
    min_amount: int | None
    max_amount: int | None
    currency: str
    description: str
    reusable: bool  # false: one successful payment, then the link refuses
    expires_at: Timestamp | None
    active: bool  # false once deactivated or expired (or, single-use, paid)
    deactivated_at: Timestamp | None
    totals: LinkTotalsOut
    # Its tax profile: each payment made at it carries a 54-FZ receipt. Null: none.
    receipt: dict[str, str] | None = None
    created_at: Timestamp


def link_object(link: Link, url: str, totals: Totals, *, active: bool) -> dict[str, object]:
    return PaymentLinkOut(
        id=link.id, url=url, amount=link.amount, min_amount=link.min_amount,
        max_amount=link.max_amount, currency=link.currency, description=link.description,
        reusable=link.reusable, expires_at=iso(link.expires_at) if link.expires_at else None,
        active=active,
        deactivated_at=iso(link.deactivated_at) if link.deactivated_at else None,
        totals=LinkTotalsOut(payments=totals.payments, succeeded=totals.succeeded,
                             paid_amount=totals.paid_amount),
        receipt=json.loads(link.receipt) if link.receipt else None,
        created_at=iso(link.created_at)).dump()
