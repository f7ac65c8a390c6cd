"""Sample records of every state of the buyer's page, drawn by the page's own renderer: the
sandbox's gallery shows them, and the console previews a merchant's brand on them. Nothing of
this is stored and nothing can be paid: forms and polls point at a token that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from checkout.acquirers.base import Acquirer
from checkout.domain.states import AttemptStatus, PaymentStatus
from checkout.store.records import Attempt, Merchant, Payment

A, P = AttemptStatus, PaymentStatus
USER_AGENTS = {
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/124.0.0.0 Safari/537.36",
    "iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "telegram": "Mozilla/5.0 (Linux; Android 14; Pixel 8; wv) AppleWebKit/537.36 (KHTML, like "
                "Gecko) Version/4.0 Chrome/124.0 Mobile Safari/537.36 Telegram-Android/10.12.0",
}
SAMPLE_LINK = "https://www.tinkoff.ru/tpay/100000000001"
# state -> (payment status, attempt status or None, the acquirer's family (link: we show the
# T-Bank link; page: the buyer goes to the acquirer's), seconds left, attempt's platform)
STATES: dict[str, tuple[PaymentStatus, AttemptStatus | None, str, int, str]] = {
    "start": (P.PENDING, None, "link", 0, ""),
    "receipt-contact": (P.PENDING, None, "link", 0, ""),
    "preparing": (P.PENDING, A.PROCESSING, "link", 0, "desktop"),
    "awaiting-qr": (P.PENDING, A.AWAITING_BUYER, "link", 1140, "desktop"),
    "awaiting-app": (P.PENDING, A.AWAITING_BUYER, "link", 1140, "mobile"),
    "awaiting-last-minute": (P.PENDING, A.AWAITING_BUYER, "link", 45, "desktop"),
    "checking": (P.PENDING, A.AWAITING_BUYER, "link", -5, "desktop"),
    "acquirer-page": (P.PENDING, A.AWAITING_BUYER, "page", 1140, "mobile"),
    "declined": (P.PENDING, A.FAILED, "link", 0, "desktop"),
    "method-unavailable": (P.PENDING, A.FAILED, "link", 0, "desktop"),
    "attempt-expired": (P.PENDING, A.EXPIRED, "link", 0, "desktop"),
    "succeeded": (P.SUCCEEDED, A.SUCCEEDED, "link", 0, "desktop"),
    "waiting-for-capture": (P.WAITING_FOR_CAPTURE, A.AUTHORIZED, "link", 0, "desktop"),
    "payment-expired": (P.EXPIRED, A.EXPIRED, "link", 0, "desktop"),
    "payment-failed": (P.FAILED, A.FAILED, "link", 0, "desktop"),
    "payment-canceled": (P.CANCELED, A.CANCELED, "link", 0, "desktop"),
}
# A 54-FZ receipt with its line items and nowhere yet to send it: the page asks first.
SAMPLE_ITEMS = json.dumps([
    {"name": "Gooseneck kettle, 1 l", "quantity": 1, "unit_price": 1_090_00,
     "amount": 1_090_00, "vat": "vat22", "payment_method": "full_payment",
     "payment_object": "commodity"},
    {"name": "Paper filters", "quantity": 2, "unit_price": 100_00, "amount": 200_00,
     "vat": "vat22", "payment_method": "full_payment", "payment_object": "commodity"}])
WITH_RECEIPT = frozenset({"receipt-contact"})
# The attempt's error code, where the state turns on it.
ERROR_CODES = {"method-unavailable": "method_unavailable"}


def sample(acquirers: Mapping[str, Acquirer], now: datetime, state: str,
           merchant: Merchant | None = None) -> tuple[Payment, Merchant, Attempt | None]:
    """The records of `state`, for `merchant` (its name, brand, acquirer) or a sample one."""
    status, attempt_status, family, left, platform = STATES[state]
    # The first configured acquirer of that family (a StrEnum, equal to its name).
    acquirer = next(name for name, driver in acquirers.items()
                    if driver.capabilities.family == family)
    merchant = merchant or Merchant("mer_gallery", "Tea & Co", (), (), acquirer)
    payment = Payment(
        id="pay_gallery", merchant_id=merchant.id, acquirer=acquirer, acquirer_account_id=None,
        status=status,
        amount=1_290_00, currency="RUB", description="Gooseneck kettle, 1 l",
        reference="order-1042", return_url="https://shop.example/return", capture=True,
        customer_reference=None, metadata={}, captured_amount=0, refunded_amount=0,
        last_error_code=None, save_payment_method=False, payment_method_id=None,
        initiator=None, pending_operation=None, pending_amount=None, authorized_at=None,
        version=1, created_at=now, updated_at=now, expires_at=now + timedelta(hours=1))
    if state in WITH_RECEIPT:
        payment = replace(payment, items=SAMPLE_ITEMS, taxation="osn")
    if attempt_status is None:
        return payment, merchant, None
    link = f"http://127.0.0.1/sandbox/{acquirer}/checkout/gallery" if family == "page" \
        else SAMPLE_LINK
    attempt = Attempt(
        id="att_gallery", payment_id=payment.id, acquirer=acquirer, acquirer_account_id=None,
        acquirer_ref="ps_gallery",
        status=attempt_status, platform_type=platform, platform_os="", platform_browser="",
        language=None, action_url=link, deadline_at=now + timedelta(seconds=left),
        error_code=ERROR_CODES.get(state), error_message=None, version=1, created_at=now,
        updated_at=now, checked_at=None)
    if attempt_status is A.PROCESSING:
        attempt = replace(attempt, action_url=None)
    return payment, merchant, attempt
