"""The schema, as SQLAlchemy Core tables. Migrations in `migrations/` must match it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite has no time zones), always handed out time-zone aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# The background sweeps look for a few rows among millions (the deliveries still to send,
# the live attempts, the news not yet applied…). A partial index holds just those rows; a
# query uses it only if its WHERE has the index's condition word for word (a bound parameter
# will not do: SQLite plans before it binds, PostgreSQL's generic plans the same), so each
# condition is written once, here, for both.
DELIVERY_PENDING = "status = 'pending'"
LIVE_STATUSES = ("starting", "processing", "awaiting_buyer")  # domain.states.LIVE_ATTEMPT
ATTEMPT_LIVE = "status IN ({})".format(", ".join(f"'{s}'" for s in LIVE_STATUSES))
EVENT_UNAPPLIED = "applied_at IS NULL"
PAYMENT_OPERATION_DUE = "pending_operation IS NOT NULL"
ATTEMPT_DEBT = "debt IS NOT NULL"


def _partial(name: str, column: str, where: str) -> Index:
    return Index(name, column, sqlite_where=text(where), postgresql_where=text(where))


# Columns whose values `checkout.vault` seals: `checkout secrets rotate` re-seals every one of
# them with the newest key (`store.sealed`), so a column marked here cannot be forgotten there.
# SEALED_IF_SEALED: only the values that are sealed (the column holds plain ones too).
SEALED = {"sealed": "always"}
SEALED_IF_SEALED = {"sealed": "if_sealed"}

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

merchants = Table(
    "merchants", metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("return_origins", Text, nullable=False),  # JSON list of origin patterns
    Column("embed_origins", Text, nullable=False, server_default="[]"),  # JSON list
    Column("acquirer", String(40), nullable=False),
    # The merchant's own acquirer account its new payments use (`acquirer_accounts`); NULL:
    # the deployment's account for `acquirer`, configured from the environment.
    Column("acquirer_account_id", String(40)),
    # The page's language when the buyer's browser asks for none we speak (ru, en, ka).
    Column("default_language", String(8)),
    Column("logo_url", Text),  # shown on the checkout page; its origin joins img-src
    Column("accent_color", String(7)),  # "#rrggbb", contrast-checked
    Column("created_at", UTCDateTime, nullable=False),
)

# A merchant may hold several keys at once: rotation with overlap.
merchant_keys = Table(
    "merchant_keys", metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 of the key
    Column("hint", String(16), nullable=False),  # the key's last characters, to tell them apart
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),  # set when a newer key replaces it, or it is revoked
    Column("last_used_at", UTCDateTime),  # to the minute: written at most once a minute
    Column("scope", String(16), nullable=False, server_default="full"),  # domain.api_keys.Scope
    # The console user who made it (None: the command line, or before this was kept); a
    # removed member's keys are found by it.
    Column("created_by", String(40), index=True),
)

# A merchant's own contract with an acquirer: its credentials and settings, sealed by
# `checkout.vault` as one JSON object; `hints` is what may be shown of them.
acquirer_accounts = Table(
    "acquirer_accounts", metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("acquirer", String(40), nullable=False),
    Column("label", String(100), nullable=False),
    Column("sealed_settings", Text, nullable=False, info=SEALED),
    Column("hints", Text, nullable=False),  # JSON: setting -> its value, or a secret's hint
    # Bumped on every change of the settings: a cached driver of an older version is rebuilt.
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime),  # the last "check connection"
    Column("check_problem", Text),  # what it found wrong; NULL: it passed
)

# A link a merchant shares (a chat, a printed QR, an invoice) that makes a payment when a buyer
# presses Pay: a fixed amount, or one the buyer enters between `min_amount` and `max_amount`.
payment_links = Table(
    "payment_links", metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False),
    Column("slug", String(32), nullable=False, unique=True),  # the short URL: /l/<slug>
    Column("amount", BigInteger),  # NULL: the buyer enters it
    Column("min_amount", BigInteger),
    Column("max_amount", BigInteger),
    Column("currency", String(3), nullable=False),
    Column("description", String(128), nullable=False),
    Column("reusable", Boolean, nullable=False),  # False: one successful payment, then done
    Column("expires_at", UTCDateTime),
    Column("deactivated_at", UTCDateTime),
    # Its tax profile (JSON: taxation, vat, payment_method, payment_object): each payment made
    # at it carries a 54-FZ receipt of one item. NULL: no receipt.
    Column("receipt", Text),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("(amount IS NOT NULL AND amount > 0) OR (min_amount > 0 AND "
                    "max_amount >= min_amount)", name="amount_given"),
    Index("ix_payment_links_merchant_created", "merchant_id", "created_at"),
)

payments = Table(
    "payments", metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False),
    # The merchant's acquirer when the payment was made: a later switch of the merchant does
    # not move it, so it finishes, captures and refunds where it began.
    Column("acquirer", String(40), nullable=False),
    Column("acquirer_account_id", String(40)),  # as it was then; NULL: the default account
    Column("status", String(24), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", String(128), nullable=False),
    Column("reference", String(128)),
    Column("return_url", Text, nullable=False),
    Column("capture", Boolean, nullable=False),
    Column("customer_reference", String(128)),
    Column("metadata", Text, nullable=False),  # JSON object of strings
    Column("captured_amount", BigInteger, nullable=False, default=0),
    Column("refunded_amount", BigInteger, nullable=False, default=0),
    Column("last_error_code", String(64)),
    # A merchant's capture or cancel we owe the acquirer: recorded before the call, cleared
    # when the acquirer's answer is applied, retried by the reconciler if we crash in between.
    Column("save_payment_method", Boolean, nullable=False, server_default="0"),
    Column("payment_method_id", String(40)),  # saved by this payment, or charged by it
    Column("initiator", String(16)),  # for charges of a saved method: merchant | client
    Column("payment_link_id", String(40)),  # made by a buyer at this payment link
    Column("pending_operation", String(16)),
    Column("pending_amount", BigInteger),
    Column("authorized_at", UTCDateTime),
    # 54-FZ (`domain.receipts`): the line items (JSON), the receipt's tax system (NULL: no
    # receipt), the buyer's email and phone (JSON, sealed: personal data), what the acquirer
    # says of the fiscal receipt, and the items of the capture in `pending_operation`.
    Column("items", Text),
    Column("taxation", String(32)),
    Column("receipt_contact", Text, info=SEALED),
    Column("receipt_status", String(16)),
    Column("receipt_url", Text),
    Column("pending_items", Text),
    # The closing receipt of a prepayment: sending (asked, answer not yet in), pending,
    # succeeded, failed. Set before the call: a closing receipt is issued once.
    Column("settlement_status", String(16)),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(
        "0 <= refunded_amount AND refunded_amount <= captured_amount "
        "AND captured_amount <= amount", name="money_order"),
    Index("ix_payments_merchant_created", "merchant_id", "created_at"),
    # The console's (and the API's) filters: by status, newest first; by the shop's reference.
    Index("ix_payments_merchant_status_created", "merchant_id", "status", "created_at"),
    Index("ix_payments_merchant_reference", "merchant_id", "reference"),
    Index("ix_payments_link_status", "payment_link_id", "status"),  # a link's payments, totals
    Index("ix_payments_status_expires", "status", "expires_at"),
    Index("ix_payments_updated_at", "updated_at"),  # the version feed of other instances
    _partial("ix_payments_operation_due", "updated_at", PAYMENT_OPERATION_DUE),
)

attempts = Table(
    "attempts", metadata,
    Column("id", String(40), primary_key=True),
    Column("payment_id", String(40), ForeignKey("payments.id"), nullable=False, index=True),
    Column("acquirer", String(40), nullable=False),
    Column("acquirer_account_id", String(40)),  # its payment's; NULL: the default account
    Column("acquirer_ref", String(128)),
    Column("status", String(24), nullable=False),
    Column("platform_type", String(16), nullable=False),
    Column("platform_os", String(32), nullable=False),
    Column("platform_browser", String(32), nullable=False),
    Column("language", String(8)),  # the buyer's page language, for acquirers with a page
    Column("action_url", Text),
    Column("deadline_at", UTCDateTime),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime),  # last time we asked the acquirer about it
    Column("watch", String(32)),  # domain.states.Watch: why an ended one is still asked about
    Column("debt", String(32)),  # domain.states.Debt: money to give back, and whether it was
    # What the acquirer counted as returned when the attempt was paid (TBC counts the rest of
    # a partly completed hold in `returnedAmount`, undocumented): refunds are what is above it.
    Column("returned_baseline", BigInteger),
    # A saved-method token the acquirer gave before the payment was final (T-Bank's RebillId
    # comes on AUTHORIZED only): the method is saved from it once the payment succeeds.
    Column("kept_token", Text, info=SEALED),
    UniqueConstraint("acquirer", "acquirer_ref", name="uq_attempts_acquirer_ref"),
    Index("ix_attempts_status_updated", "status", "updated_at"),
    _partial("ix_attempts_debt", "debt", ATTEMPT_DEBT),
    _partial("ix_attempts_live", "updated_at", ATTEMPT_LIVE),
)

acquirer_events = Table(
    "acquirer_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("acquirer", String(40), nullable=False),
    Column("dedup_key", String(255), nullable=False),
    Column("acquirer_ref", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("applied_at", UTCDateTime),
    Column("outcome", String(64)),
    UniqueConstraint("acquirer", "dedup_key", name="uq_acquirer_events_identity"),
    Index("ix_acquirer_events_received", "received_at"),  # retention
    _partial("ix_acquirer_events_unapplied", "id", EVENT_UNAPPLIED),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("merchant_id", String(40), ForeignKey("merchants.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    # An answer carrying a secret (a webhook endpoint made or rotated, with its signing
    # secret) is sealed; the others are plain JSON.
    Column("response_body", Text, nullable=False, info=SEALED_IF_SEALED),
    Column("created_at", UTCDateTime, nullable=False),
    # While the first request runs (status 0): the instance running it. A restarted instance
    # frees its own at once; another's is free once `created_at` is older than the lease.
    Column("owner", String(100)),
    Index("ix_idempotency_keys_created", "created_at"),  # retention
)

payment_methods = Table(
    "payment_methods", metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("acquirer", String(40), nullable=False),
    Column("acquirer_account_id", String(40)),  # a token works only where it was made
    # The acquirer's recurrent token, sealed by `checkout.vault` (never stored in clear).
    Column("token", Text, nullable=False, info=SEALED),
    Column("customer_reference", String(128)),
    Column("source_payment_id", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

refunds = Table(
    "refunds", metadata,
    Column("id", String(40), primary_key=True),  # also the acquirer call's idempotency key
    Column("payment_id", String(40), ForeignKey("payments.id"), nullable=False, index=True),
    Column("attempt_id", String(40), ForeignKey("attempts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # pending | succeeded | failed
    Column("acquirer_ref", String(128), unique=True),  # one acquirer refund, one of ours
    # The merchant's Idempotency-Key: a retry whose first answer was lost (a crash, a 5xx)
    # finds this refund instead of making a second one.
    Column("request_key", String(255)),
    UniqueConstraint("payment_id", "request_key", name="uq_refunds_request_key"),
    # Why it waits for a person (the acquirer's total moved by an amount no refund explains):
    # never sent again, never guessed settled.
    Column("review", String(64)),
    Column("items", Text),  # its receipt's items (JSON); NULL: no receipt
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index("ix_refunds_status_updated", "status", "updated_at"),
)

# ---- merchant webhooks (outbox) --------------------------------------------------------------

webhook_endpoints = Table(
    "webhook_endpoints", metadata,
    Column("id", String(40), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    # "whsec_<base64>" (Standard Webhooks style), sealed by the vault: we must sign with it.
    Column("secret", Text, nullable=False, info=SEALED),
    # During a rotation both sign, until `previous_secret_until` (sealed as well).
    Column("previous_secret", Text, info=SEALED),
    Column("previous_secret_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("failing_since", UTCDateTime),  # first failure of the current failing streak
    Column("disabled_at", UTCDateTime),
    Column("disabled_reason", String(200)),
    # Deleted by the merchant: nothing more is sent to it; its past deliveries stay readable.
    Column("deleted_at", UTCDateTime),
)

events = Table(
    "events", metadata,
    Column("id", String(40), primary_key=True),  # also the webhook-id of every delivery
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payment_id", String(40), ForeignKey("payments.id")),
    Column("sequence", Integer, nullable=False),  # the payment's version: orders its events
    Column("body", Text, nullable=False),  # the exact JSON sent, signed on every attempt
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_events_merchant_created", "merchant_id", "created_at"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(40), ForeignKey("events.id"), nullable=False, index=True),
    Column("endpoint_id", String(40), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("status", String(16), nullable=False),  # pending | succeeded | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("lease_until", UTCDateTime),  # a worker holds it until then
    Column("lease_owner", String(120)),  # which instance (released on a graceful stop)
    Column("last_status_code", Integer),
    Column("last_error", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    _partial("ix_deliveries_pending", "next_attempt_at", DELIVERY_PENDING),
    Index("ix_deliveries_created", "created_at"),  # retention
)

# Every try of a delivery and what the endpoint answered: the merchant's console shows them.
delivery_tries = Table(
    "delivery_tries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),  # None: no answer (timeout, refused address, network)
    Column("error", String(300)),
    Column("duration_ms", Integer, nullable=False),
)


# Background work several instances share: an instance works on a subject (an attempt to poll,
# a refund to resume, one expiry pass…) only while it holds the subject's claim.
job_claims = Table(
    "job_claims", metadata,
    Column("subject", String(80), primary_key=True),
    Column("owner", String(120), nullable=False),
    Column("until", UTCDateTime, nullable=False),
)


# ---- the merchant console ----------------------------------------------------------------

console_users = Table(
    "console_users", metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # case-folded
    Column("password_hash", Text, nullable=False),  # argon2id; never the password
    Column("operator", Boolean, nullable=False, default=False),  # runs the deployment
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    # The second factor (RFC 6238 TOTP): its secret, sealed by the vault, and the last time
    # step a code was accepted for, so that no code is accepted twice.
    Column("totp_secret", Text, info=SEALED),
    Column("totp_last_step", BigInteger),
    # When an operator vouched for the email (`store.console.ConsoleUser.email_verified`).
    Column("email_verified_at", UTCDateTime),
)

# One role per user per merchant.
memberships = Table(
    "memberships", metadata,
    Column("user_id", String(40), ForeignKey("console_users.id"), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), primary_key=True,
           index=True),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("role IN ('owner', 'developer', 'support', 'viewer')", name="role"),
)

# Server-side sessions: the cookie holds a random id, the table only its SHA-256.
console_sessions = Table(
    "console_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(40), ForeignKey("console_users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),  # asked of every state-changing form
    Column("created_at", UTCDateTime, nullable=False),  # the absolute expiry counts from here
    Column("seen_at", UTCDateTime, nullable=False),  # the idle expiry counts from here
    Column("ip", String(64), nullable=False),
    Column("user_agent", String(200), nullable=False),
)

# Every console action: who, what, when and from where. Only ever added to.
audit_log = Table(
    "audit_log", metadata,
    Column("id", String(40), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("user_id", String(40), ForeignKey("console_users.id")),  # None: nobody signed in
    Column("email", String(254), nullable=False),  # as given, for failed sign-ins too
    Column("merchant_id", String(40), ForeignKey("merchants.id")),  # None: not one merchant's
    Column("action", String(64), nullable=False),  # "sign_in", "refund.create", …
    Column("target", String(200), nullable=False),  # what it acted on ("" for none)
    Column("detail", Text, nullable=False),  # JSON: the action's own facts (never a secret)
    Column("ip", String(64), nullable=False),
    Index("ix_audit_log_merchant_at", "merchant_id", "at"),
)

# One-time links a person copies to a colleague (no email server here): an invitation to a
# merchant's team. Only the link's SHA-256 is kept; a link works once, until it expires.
console_invites = Table(
    "console_invites", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("merchant_id", String(40), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False),  # case-folded
    Column("role", String(16), nullable=False),
    Column("invited_by", String(40), ForeignKey("console_users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    CheckConstraint("role IN ('owner', 'developer', 'support', 'viewer')", name="role"),
)

# One-time links an operator makes for a person to set a new password (no email server here).
console_resets = Table(
    "console_resets", metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the link's token
    Column("user_id", String(40), ForeignKey("console_users.id"), nullable=False, index=True),
    Column("made_by", String(40), ForeignKey("console_users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
)
