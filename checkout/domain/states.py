"""The payment and attempt state machines: every allowed transition, in one table each.

A payment is what the merchant sees; an attempt is one session at the acquirer. A buyer whose
attempt failed or ran out of time may start another until the payment itself expires.
"""

from __future__ import annotations

from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class AttemptStatus(StrEnum):
    STARTING = "starting"  # our row exists; the acquirer may or may not have the session yet
    PROCESSING = "processing"  # the acquirer has it; no buyer link yet (e.g. confirm pending)
    AWAITING_BUYER = "awaiting_buyer"  # we have the T-Bank link; the 20-minute clock runs
    AUTHORIZED = "authorized"  # held, waiting for capture
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class Watch(StrEnum):
    """Why we keep asking the acquirer about an attempt that is over for us."""

    # Ended on our side only: its acquirer cannot cancel a session nobody has paid yet, so the
    # buyer may still pay there (and that money is then given back or taken, never lost).
    CANCELED_HERE = "canceled_here"


class Debt(StrEnum):
    """Money a buyer paid on an attempt after its payment was settled by another one."""

    REFUND_DUE = "refund_due"  # captured: to be refunded
    RELEASE_DUE = "release_due"  # held: to be released
    REFUNDED = "refunded"
    RELEASED = "released"


DEBTS_OWED = frozenset({Debt.REFUND_DUE, Debt.RELEASE_DUE})

P = PaymentStatus
A = AttemptStatus

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    P.PENDING: frozenset({P.WAITING_FOR_CAPTURE, P.SUCCEEDED, P.FAILED, P.CANCELED, P.EXPIRED}),
    P.WAITING_FOR_CAPTURE: frozenset({P.SUCCEEDED, P.CANCELED}),
    P.SUCCEEDED: frozenset(),
    P.FAILED: frozenset(),
    P.CANCELED: frozenset(),
    P.EXPIRED: frozenset(),
}

ATTEMPT_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    A.STARTING: frozenset({A.PROCESSING, A.AWAITING_BUYER, A.AUTHORIZED, A.SUCCEEDED, A.FAILED,
                           A.CANCELED, A.EXPIRED}),
    A.PROCESSING: frozenset({A.AWAITING_BUYER, A.AUTHORIZED, A.SUCCEEDED, A.FAILED, A.CANCELED,
                             A.EXPIRED}),
    A.AWAITING_BUYER: frozenset({A.AUTHORIZED, A.SUCCEEDED, A.FAILED, A.CANCELED, A.EXPIRED}),
    A.AUTHORIZED: frozenset({A.SUCCEEDED, A.CANCELED, A.FAILED}),
    # A success may still arrive on an attempt we gave up on: money must never be lost.
    A.CANCELED: frozenset({A.SUCCEEDED, A.AUTHORIZED}),
    A.EXPIRED: frozenset({A.SUCCEEDED, A.AUTHORIZED}),
    A.SUCCEEDED: frozenset(),
    A.FAILED: frozenset(),
}

FINAL_PAYMENT = frozenset(s for s, nxt in PAYMENT_TRANSITIONS.items() if not nxt)
LIVE_ATTEMPT = frozenset({A.STARTING, A.PROCESSING, A.AWAITING_BUYER})


def payment_can_move(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in PAYMENT_TRANSITIONS[current]


def attempt_can_move(current: AttemptStatus, target: AttemptStatus) -> bool:
    return target in ATTEMPT_TRANSITIONS[current]
