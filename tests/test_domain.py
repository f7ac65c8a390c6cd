"""The pure rules: money in minor units, and the transition tables."""

from __future__ import annotations

import pytest

from checkout.domain.money import Money, MoneyError
from checkout.domain.states import (
    ATTEMPT_TRANSITIONS,
    FINAL_PAYMENT,
    AttemptStatus,
    PaymentStatus,
    attempt_can_move,
    payment_can_move,
)


def test_money_gives_decimals_only_for_the_wire() -> None:
    assert Money(1_234_56, "RUB").to_decimal_string() == "1234.56"
    assert Money(100, "RUB").to_decimal_string() == "1.00"


@pytest.mark.parametrize("amount", [1.5, "100", True, None])
def test_money_refuses_non_integers(amount: object) -> None:
    with pytest.raises(MoneyError):
        Money(amount, "RUB")  # type: ignore[arg-type]


def test_money_limits_follow_the_currency_table() -> None:
    Money(100, "RUB").check_limits()
    Money(700_000_00, "RUB").check_limits()
    for bad in (99, 700_000_01):
        with pytest.raises(MoneyError):
            Money(bad, "RUB").check_limits()
    with pytest.raises(MoneyError):
        Money(100, "XXX")


def test_final_payments_never_move() -> None:
    for final in FINAL_PAYMENT:
        assert not any(payment_can_move(final, target) for target in PaymentStatus)
    assert payment_can_move(PaymentStatus.PENDING, PaymentStatus.SUCCEEDED)
    assert not payment_can_move(PaymentStatus.SUCCEEDED, PaymentStatus.PENDING)


def test_a_success_may_still_land_on_an_attempt_we_gave_up_on() -> None:
    assert attempt_can_move(AttemptStatus.EXPIRED, AttemptStatus.SUCCEEDED)
    assert attempt_can_move(AttemptStatus.CANCELED, AttemptStatus.SUCCEEDED)
    assert not attempt_can_move(AttemptStatus.SUCCEEDED, AttemptStatus.FAILED)
    assert not attempt_can_move(AttemptStatus.AWAITING_BUYER, AttemptStatus.STARTING)
    assert set(ATTEMPT_TRANSITIONS) == set(AttemptStatus)
