"""The one interface every acquirer driver implements, in our own vocabulary.

Drivers take values and return values: they never touch our database and never decide a
payment's status. The flow reads a driver's `Snapshot` and decides.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Protocol

from checkout.domain.money import Money
from checkout.domain.receipts import Receipt
from checkout.domain.states import RefundStatus
from checkout.errors import WebhookRejected


@dataclass(frozen=True)
class Platform:
    """The buyer's device, in our own words; a driver that needs it says it in its own."""

    type: str  # "mobile" | "desktop" ("server": a merchant's charge, nobody present)
    os: str  # "ios", "android", "windows", "macos", "linux", "chromeos", or "" (unknown)
    browser: str  # "chrome", "safari", "firefox", "edge", "yandex", "opera", "miui", … or ""


@dataclass(frozen=True)
class StartRequest:
    idempotency_key: str  # our attempt id: the same on every retry of this start
    amount: Money
    platform: Platform
    return_url: str
    customer_reference: str
    capture: bool = True
    metadata: dict[str, str] = field(default_factory=dict)  # echoed back by the acquirer
    save_method: bool = False  # ask for a recurrent token on success
    token: str = ""  # charge this saved method instead of asking the buyer for a new one
    initiator: str = ""  # with a token: "merchant" (no buyer) or "client" (buyer confirms)
    description: str = ""
    language: str = ""  # the buyer's page language (ru, en, ka), for acquirers with a page
    receipt: Receipt | None = None  # the 54-FZ receipt, where the account carries one


# Capabilities.receipts
REQUIRED, OPTIONAL, UNSUPPORTED = "required", "optional", "unsupported"
RECEIPT_MODES = (REQUIRED, OPTIONAL, UNSUPPORTED)


class SessionState(StrEnum):
    PROCESSING = "processing"
    NEEDS_CONFIRM = "needs_confirm"
    AWAITING_BUYER = "awaiting_buyer"
    AUTHORIZED = "authorized"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"  # the buyer did not act within the acquirer's time limit


@dataclass(frozen=True)
class RefundState:
    ref: str  # the acquirer's refund id
    status: RefundStatus
    amount: int


@dataclass(frozen=True)
class FiscalReceipt:
    """What the acquirer says of a payment's 54-FZ receipt at its cash register."""

    status: str  # pending | succeeded | failed
    url: str = ""  # where the buyer sees the registered receipt (T-Bank's `Url`)
    # Which receipt, where the acquirer says: "sale" (the payment's, or a later closing
    # one), "return" (a refund's). "": the payment's own.
    kind: str = ""


@dataclass(frozen=True)
class Snapshot:
    """The acquirer's session as we understand it, at one moment."""

    ref: str  # the acquirer's session id
    state: SessionState
    action_url: str = ""  # where the buyer approves (T-Bank app link / acquirer page)
    error_code: str = ""
    error_message: str = ""
    recurrent_token: str = ""
    captured_amount: int | None = None  # known once SUCCEEDED (a partial capture is less)
    refunds: tuple[RefundState, ...] = ()
    # For acquirers that keep no list of refunds, only a running total (TBC): what has been
    # refunded so far, so a refund whose answer was lost can be recognised as done.
    refunded_amount: int | None = None
    # False: the acquirer says this failure or cancel may still change (Bank 131's `error`
    # status is "not final"): the attempt stays watched, and a later success is taken.
    final: bool = True
    # Our attempt id as the acquirer echoes it (T-Bank's `OrderId`), read from its own
    # authenticated answer: lets a session whose start answer was lost find its attempt.
    attempt_hint: str = ""
    # True: a cancel or a completion is still running at the acquirer (TBC's
    # `CancelPaymentProcessing`, `PaymentCompletionProcessing`): its totals of returned money
    # are not settled, so nothing is decided or sent again from them until it is over.
    settling: bool = False
    # The session's amount in minor units as the acquirer states it (None: not said). With no
    # echo of our id, it is what ties a session whose start answer was lost to its attempt.
    amount: int | None = None
    currency: str = ""  # of `amount`
    fiscal: FiscalReceipt | None = None  # the receipt's registration, where the acquirer says


@dataclass(frozen=True)
class Notice:
    """A verified inbound webhook: which session it is about, and what it says if trusted."""

    ref: str
    event_type: str
    dedup_key: str  # the acquirer's own identity of this event
    snapshot: Snapshot | None  # None: an unsigned hint; the flow must fetch the session
    # Our attempt id as we sent it in the session's metadata: lets news that overtakes our own
    # start call (webhook before the HTTP answer) find its attempt. Trust it only when signed.
    attempt_hint: str = ""
    # The body as we may keep it: the acquirer's secrets in it (recurrent tokens) cut out.
    # Empty: the body has none.
    record: bytes = b""
    # News of the payment's fiscal receipt only (T-Bank's `RECEIPT` notification): it says
    # nothing of the session's state, so `snapshot` is None and nothing is fetched.
    fiscal: FiscalReceipt | None = None


REDACTED = "[recurrent token]"
# An `AcquirerError.code` of `find_start`: a saved-method charge may have been made, and the
# acquirer offers no way to tell. The attempt is never ended unpaid for it: it stays watched
# until the acquirer's own news ties a session to it.
START_UNKNOWN = "start_unknown"
# An `AcquirerError.code` any driver may give a start: the merchant's account at the acquirer
# does not take T-Pay (switched off, or not in the flow we drive). Not the buyer's doing, and no
# retry helps until the merchant fixes the account.
METHOD_UNAVAILABLE = "method_unavailable"


def require_source(source_ip: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
                   what: str) -> None:
    """Refuse an unsigned notice that does not come from the acquirer's own networks."""
    try:
        source = ipaddress.ip_address(source_ip)
    except ValueError as exc:
        raise WebhookRejected(f"{what} from an unknown address", status=403) from exc
    if not any(source in net for net in networks):
        raise WebhookRejected(f"{what} from outside the acquirer's networks", status=403)


def redact(doc: Any, where: Callable[[str, Any], bool]) -> bytes:
    """`doc` as a `Notice.record`, with every string value whose (key, value) `where` picks
    replaced."""
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: REDACTED if where(k, v) and isinstance(v, str) else walk(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return as_record(walk(doc))


def as_record(doc: Any) -> bytes:
    """`doc` as a `Notice.record`: compact JSON."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


class Family(StrEnum):
    LINK = "link"  # we get the T-Bank link and render the QR or the button ourselves
    PAGE = "page"  # we send the buyer to the acquirer's page


@dataclass(frozen=True)
class Capabilities:
    """What a driver can do, checked by the merchant API before any call (a clear 422)."""

    family: Family
    # Currency -> (min, max) amount in minor units that this acquirer takes for T-Pay.
    limits: dict[str, tuple[int, int]]
    signed_webhooks: bool
    link_fixed_at_start: bool  # the link format depends on the platform sent at start
    holds: bool = True  # two-stage payments: authorise now, capture or cancel later
    partial_capture: bool = False
    partial_refund: bool = False
    # How many refunds for less than what is left one payment may take (None: no limit).
    partial_refund_limit: int | None = None
    recurring: bool = False
    hold_seconds: int = 7 * 24 * 3600  # how long the acquirer keeps a hold, at most
    # A hold counted in calendar days, the day of authorization included (T-Bank: "within 7
    # days, including the day of authorization"): it ends at the midnight that closes the
    # last day, on the acquirer's own clock. 0: `hold_seconds` from authorization.
    hold_calendar_days: int = 0
    local_utc_offset_hours: int = 0  # the acquirer's clock, for its calendar-day rules
    # How many refunds for less than what is left it takes on the payment's own day (its
    # clock): TBC allows one partial cancel then, partial refunds only on later days.
    partial_refunds_first_day: int | None = None
    # One-stage payments pass AUTHORIZED on the way and the acquirer captures them by itself
    # (T-Bank's PayType O): that AUTHORIZED is "still processing", and we send no capture.
    captures_itself: bool = False
    # How long a buyer can still pay at the acquirer after the start, whatever our own clock
    # says: ended attempts are watched at least this long, so a late payment is never missed.
    pay_seconds: int = 20 * 60
    # Whether a start repeated with the same key is answered from the acquirer's memory. When
    # not, a start whose answer was lost is looked for (`Acquirer.find_start`), never resent
    # blind: a repeated charge of a saved method could take the money twice.
    idempotent_start: bool = True
    # Whether a repeated refund call with the same key is answered from the acquirer's memory.
    # When not, a refund whose answer was lost is recognised by `Snapshot.refunded_amount`.
    idempotent_refunds: bool = True
    # The merchant's `reference` travels to the acquirer; some limit it (TBC `extra`: ≤ 25
    # printable ASCII characters).
    reference_max: int | None = None
    # 54-FZ receipts (`domain.receipts`): `required` (the account refuses a payment without
    # one), `optional` (carried when the merchant sends one), `unsupported` (the acquirer's
    # API has no receipt: the merchant fiscalises on its own side). Per account: the driver's
    # `receipt_mode()` says what this account's contract is.
    receipts: str = UNSUPPORTED

    @property
    def local_clock(self) -> timezone:
        return timezone(timedelta(hours=self.local_utc_offset_hours))

    def local_day(self, moment: datetime) -> date:
        """The calendar day of `moment` on the acquirer's own clock."""
        return moment.astimezone(self.local_clock).date()

    def hold_ends(self, authorized_at: datetime) -> datetime:
        """When the acquirer lets a hold made at `authorized_at` lapse."""
        if not self.hold_calendar_days:
            return authorized_at + timedelta(seconds=self.hold_seconds)
        after_last = self.local_day(authorized_at) + timedelta(days=self.hold_calendar_days)
        return datetime.combine(after_last, time(0), self.local_clock)

    def hold_shortest(self) -> timedelta:
        """The least time any hold lasts here (made just before a calendar day ends)."""
        if self.hold_calendar_days:
            return timedelta(days=self.hold_calendar_days - 1)
        return timedelta(seconds=self.hold_seconds)

    def describe(self) -> dict[str, object]:
        """For the merchant API: what a merchant may ask of this acquirer."""
        return {
            "family": str(self.family),
            "currencies": {c: {"min_amount": lo, "max_amount": hi}
                           for c, (lo, hi) in sorted(self.limits.items())},
            "holds": self.holds, "hold_seconds": self.hold_seconds,
            "hold_calendar_days": self.hold_calendar_days or None,
            "hold_utc_offset": (f"{self.local_utc_offset_hours:+03d}:00"
                                if self.hold_calendar_days else None),
            "partial_capture": self.partial_capture, "partial_refund": self.partial_refund,
            "partial_refund_limit": self.partial_refund_limit,
            "partial_refunds_first_day": self.partial_refunds_first_day,
            "recurring": self.recurring,
            "signed_webhooks": self.signed_webhooks, "reference_max_length": self.reference_max,
            "pay_seconds": self.pay_seconds, "receipts": self.receipts,
        }

    def refusal(self, amount: int, currency: str, *, hold: bool, recurring: bool,
                reference: str = "") -> tuple[str, str] | None:
        """Why this acquirer cannot take such a payment, as (field, message); None if it can."""
        if currency not in self.limits:
            return "currency", f"this merchant's acquirer does not take {currency}"
        low, high = self.limits[currency]
        if not low <= amount <= high:
            return "amount", (f"this merchant's acquirer takes {low} to {high} minor units "
                              f"of {currency}")
        if hold and not self.holds:
            return "capture", "this merchant's acquirer does not support two-stage payments"
        if recurring and not self.recurring:
            return "save_payment_method", ("this merchant's acquirer does not support saved "
                                           "payment methods")
        if reference and self.reference_max is not None and (
                len(reference) > self.reference_max or
                not all(32 <= ord(c) < 127 for c in reference)):
            return "reference", (f"this merchant's acquirer takes a reference of at most "
                                 f"{self.reference_max} printable ASCII characters")
        return None


class Acquirer(Protocol):
    """What the checkout flow may ask of an acquirer.

    Every method that moves money takes an idempotency key derived from our own record and
    reused on every retry. Errors are `checkout.errors.AcquirerError`, `temporary` when the
    same call may succeed later.
    """

    name: str
    capabilities: Capabilities
    # The body a webhook that was taken is answered with, where the acquirer wants its own
    # (T-Bank: `OK`, nothing else); None: our JSON.
    acknowledgement: bytes | None

    async def start(self, request: StartRequest) -> Snapshot:
        """Create the acquirer's session for one attempt and return its first state."""
        ...

    async def find_start(self, request: StartRequest) -> Snapshot | None:
        """The session an earlier `start(request)` made, whose answer was lost; None when
        there surely is none, so starting again is safe. Raises a temporary
        `AcquirerError` when the acquirer cannot tell (wait for its own news). Asked only of
        drivers without `idempotent_start`."""
        ...

    async def confirm(self, ref: str, idempotency_key: str) -> Snapshot:
        """Tell the acquirer to go ahead after it said it is ready (`NEEDS_CONFIRM`)."""
        ...

    async def cancel(self, ref: str, idempotency_key: str) -> Snapshot:
        """End a session that has not been captured (declines a hold too)."""
        ...

    async def capture(self, ref: str, amount: Money | None, idempotency_key: str,
                      receipt: Receipt | None = None) -> Snapshot:
        """Capture a hold (`AUTHORIZED`), fully (`amount` None) or partly; `receipt`, of
        what is captured, where the account carries receipts."""
        ...

    async def refund(self, ref: str, amount: Money, idempotency_key: str,
                     receipt: Receipt | None = None) -> Snapshot:
        """Refund part or all of a finished payment; the answer lists the session's refunds.
        `receipt`: the refund receipt (its items are what is returned)."""
        ...

    async def fetch(self, ref: str) -> Snapshot:
        """Read the session's current state; the way to learn it when webhooks are silent."""
        ...

    async def disable_token(self, token: str, idempotency_key: str) -> None:
        """Make a saved method unusable at the acquirer."""
        ...

    async def settle_receipt(self, ref: str, receipt: Receipt, prepaid: Money,
                             idempotency_key: str) -> FiscalReceipt:
        """Issue the closing (settlement) receipt of a prepaid payment: its items as now
        delivered in full, `prepaid` counted from the prepayment. Moves no money."""
        ...

    async def receipt_mode(self) -> str:
        """Whether this account requires, takes or cannot carry 54-FZ receipts (one of
        `RECEIPT_MODES`), as its contract or the acquirer itself says."""
        ...

    async def check_connection(self) -> None:
        """One harmless authenticated call: returns if these credentials work here, raises an
        `AcquirerError` whose detail says what is wrong otherwise. Moves no money."""
        ...

    def parse_webhook(self, headers: dict[str, str], body: bytes, source_ip: str) -> Notice:
        """Verify an inbound webhook over its raw bytes (or, unsigned, its source) and translate it.

        Raises `checkout.errors.WebhookRejected` for a bad signature, a sender outside the
        acquirer's networks or an unreadable body.
        """
        ...
