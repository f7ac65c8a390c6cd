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


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeliveryStatus(StrEnum):
    """One event's delivery to one merchant endpoint."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # given up: the retry window is over


class EventType(StrEnum):
    """What merchants are told, by webhook and in `/api/v1/events`."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_WAITING_FOR_CAPTURE = "payment.waiting_for_capture"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_CANCELED = "payment.canceled"
    PAYMENT_EXPIRED = "payment.expired"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    PAYMENT_RECEIPT_REGISTERED = "payment.receipt_registered"  # its 54-FZ receipt, with a URL
    WEBHOOK_TEST = "webhook.test"  # asked for by the merchant, to one endpoint


class Watch(StrEnum):
    """Why we keep asking the acquirer about an attempt that is over for us."""

    # Ended on our side only: its acquirer cannot cancel a session nobody has paid yet, so the
    # buyer may still pay there (and that money is then given back or taken, never lost).
    CANCELED_HERE = "canceled_here"
    # Failed or canceled by the acquirer's word, but its word is not final (Bank 131's session
    # `error`: "wait for a final status"): it may still end paid.
    NOT_FINAL = "not_final"


class Debt(StrEnum):
    """Money a buyer paid on an attempt after its payment was settled by another one."""

    REFUND_DUE = "refund_due"  # captured: to be refunded
    RELEASE_DUE = "release_due"  # held: to be released
    REFUNDED = "refunded"
    RELEASED = "released"


DEBTS_OWED = frozenset({Debt.REFUND_DUE, Debt.RELEASE_DUE})

P = PaymentStatus
A = AttemptStatus

# The event a payment's new status means (pending means none).
EVENT_FOR_STATUS: dict[PaymentStatus, EventType] = {
    P.SUCCEEDED: EventType.PAYMENT_SUCCEEDED,
    P.WAITING_FOR_CAPTURE: EventType.PAYMENT_WAITING_FOR_CAPTURE,
    P.FAILED: EventType.PAYMENT_FAILED,
    P.CANCELED: EventType.PAYMENT_CANCELED,
    P.EXPIRED: EventType.PAYMENT_EXPIRED,
}
EVENT_FOR_REFUND: dict[RefundStatus, EventType] = {
    RefundStatus.SUCCEEDED: EventType.REFUND_SUCCEEDED,
    RefundStatus.FAILED: EventType.REFUND_FAILED,
}

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
    # A success may still arrive on an attempt we gave up on, or that the acquirer said had
    # failed (some say so before their final word): money must never be lost.
    A.CANCELED: frozenset({A.SUCCEEDED, A.AUTHORIZED}),
    A.EXPIRED: frozenset({A.SUCCEEDED, A.AUTHORIZED}),
    A.FAILED: frozenset({A.SUCCEEDED, A.AUTHORIZED}),
    A.SUCCEEDED: frozenset(),
}

FINAL_PAYMENT = frozenset(s for s, nxt in PAYMENT_TRANSITIONS.items() if not nxt)
LIVE_ATTEMPT = frozenset({A.STARTING, A.PROCESSING, A.AWAITING_BUYER})


def payment_can_move(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in PAYMENT_TRANSITIONS[current]


def attempt_can_move(current: AttemptStatus, target: AttemptStatus) -> bool:
    return target in ATTEMPT_TRANSITIONS[current]
