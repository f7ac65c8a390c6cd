"""YooKassa's own Python SDK, pointed at our emulator: it must not tell the difference."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from yookassa import Configuration, Payment, Refund
from yookassa.domain.exceptions import BadRequestError, UnauthorizedError

from checkout.sandbox.yookassa import SECRET as YOOKASSA_SECRET
from checkout.sandbox.yookassa import SHOP_ID as YOOKASSA_SHOP_ID
from tests.buyer import decide, wait_for
from tests.server import LiveServer


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[None]:
    Configuration.configure(YOOKASSA_SHOP_ID, YOOKASSA_SECRET,
                            api_url=f"{server.url}/sandbox/yookassa/v3")
    yield
    Configuration.configure("", "", api_url="https://api.yookassa.ru/v3")


def _create(server: LiveServer, capture: bool, key: str | None = None) -> object:
    return Payment.create({
        "amount": {"value": "150.00", "currency": "RUB"},
        "payment_method_data": {"type": "tinkoff_bank"},
        "confirmation": {"type": "redirect", "return_url": f"{server.url}/shop/return"},
        "capture": capture, "description": "Order 42", "metadata": {"order": "42"},
    }, key or str(uuid.uuid4()))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_official_sdk_pays_captures_and_refunds_on_the_emulator(
        server: LiveServer, sdk: None) -> None:
    key = str(uuid.uuid4())
    payment = _create(server, capture=False, key=key)
    assert payment.status == "pending" and payment.paid is False  # type: ignore[attr-defined]
    again = _create(server, capture=False, key=key)  # the same Idempotence-Key: the same one
    assert again.id == payment.id  # type: ignore[attr-defined]
    url = payment.confirmation.confirmation_url  # type: ignore[attr-defined]
    with httpx.Client(base_url=server.url) as buyer:
        decide(buyer, url, approve=True)
    held = Payment.find_one(payment.id)  # type: ignore[attr-defined]
    assert held.status == "waiting_for_capture" and held.paid is True
    captured = Payment.capture(held.id, {"amount": {"value": "100.00", "currency": "RUB"}},
                               str(uuid.uuid4()))
    assert captured.status == "succeeded" and captured.amount.value == 100.0
    refund = Refund.create({"payment_id": held.id,
                            "amount": {"value": "40.00", "currency": "RUB"}},
                           str(uuid.uuid4()))
    # A refund may stay pending a while (YooKassa's reference), then succeeds.
    assert refund.status == "pending" and refund.payment_id == held.id
    wait_for(lambda: Refund.find_one(refund.id).status == "succeeded" or None,
             what="the refund to succeed")
    listed = Refund.list({"payment_id": held.id})
    assert [r.id for r in listed.items] == [refund.id]
    after = Payment.find_one(held.id)
    assert after.refunded_amount.value == 40.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_official_sdk_sees_yookassas_errors(server: LiveServer, sdk: None) -> None:
    with pytest.raises(BadRequestError) as too_much:
        Payment.create({"amount": {"value": "700000.01", "currency": "RUB"},
                        "payment_method_data": {"type": "tinkoff_bank"},
                        "confirmation": {"type": "redirect",
                                         "return_url": f"{server.url}/shop/return"}},
                       str(uuid.uuid4()))
    assert too_much.value.args[0]["code"] == "invalid_request"
    assert too_much.value.args[0]["parameter"] == "amount.value"
    Configuration.configure(YOOKASSA_SHOP_ID, "wrong-secret",
                            api_url=f"{server.url}/sandbox/yookassa/v3")
    with pytest.raises(UnauthorizedError):
        Payment.find_one(str(uuid.uuid4()))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_official_sdk_sends_receipts_a_fiscal_shop_takes(server: LiveServer) -> None:
    """The SDK's own receipt example (its README: a charger, with the customer's INN, the
    country of origin, a customs declaration and a supplier), sent through the SDK's models to
    the sandbox's shop with fiscalization on; without a receipt, YooKassa's refusal."""
    from checkout.sandbox.yookassa import RECEIPTS, SECRET3, SHOP3_ID

    assert RECEIPTS.account_id
    Configuration.configure(SHOP3_ID, SECRET3, api_url=f"{server.url}/sandbox/yookassa/v3")
    try:
        body = {"amount": {"value": "1000.00", "currency": "RUB"},
                "payment_method_data": {"type": "tinkoff_bank"},
                "confirmation": {"type": "redirect",
                                 "return_url": f"{server.url}/shop/return"},
                "capture": True, "description": "Заказ №72"}
        with pytest.raises(BadRequestError) as refused:
            Payment.create(body, str(uuid.uuid4()))
        assert refused.value.content["parameter"] == "receipt"
        receipt = {
            "customer": {"full_name": "Ivanov Ivan Ivanovich", "email": "email@email.ru",
                         "phone": "79211234567", "inn": "6321341814"},
            "items": [{
                "description": "Переносное зарядное устройство Хувей", "quantity": "1.00",
                "amount": {"value": 1000, "currency": "RUB"}, "vat_code": "2",
                "payment_mode": "full_payment", "payment_subject": "commodity",
                "country_of_origin_code": "CN",
                "customs_declaration_number": "10714040/140917/0090376", "excise": "20.00",
                "supplier": {"name": "string", "phone": "string", "inn": "string"}}]}
        payment = Payment.create({**body, "receipt": receipt}, str(uuid.uuid4()))
        assert payment.status == "pending"
        with httpx.Client(base_url=server.url) as buyer:
            decide(buyer, payment.confirmation.confirmation_url, approve=True)
        paid = Payment.find_one(payment.id)
        assert paid.status == "succeeded" and paid.receipt_registration == "succeeded"
        with pytest.raises(BadRequestError):  # a refund at a fiscal shop carries its receipt
            Refund.create({"payment_id": paid.id,
                           "amount": {"value": "1000.00", "currency": "RUB"}},
                          str(uuid.uuid4()))
        refund = Refund.create({"payment_id": paid.id,
                                "amount": {"value": "1000.00", "currency": "RUB"},
                                "receipt": receipt}, str(uuid.uuid4()))
        assert refund.status == "pending"
    finally:
        Configuration.configure("", "", api_url="https://api.yookassa.ru/v3")
