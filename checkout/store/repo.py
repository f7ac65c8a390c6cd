"""Queries. Every state change is a compare-and-set on `version`; callers retry on a miss."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.exc import IntegrityError

from checkout.domain.states import DEBTS_OWED, LIVE_ATTEMPT, AttemptStatus, PaymentStatus, Watch
from checkout.store.compiled import row as table_row
from checkout.store.db import Conn, insert_if_new
from checkout.store.paging import older_than
from checkout.store.records import Attempt, Merchant, Payment, Refund
from checkout.store.tables import (
    ATTEMPT_LIVE,
    acquirer_events,
    attempts,
    console_users,
    merchant_keys,
    merchants,
    payment_methods,
    payments,
    refunds,
)

# Live attempts: the condition of their partial index, word for word (`tables.ATTEMPT_LIVE`).
ATTEMPTS_LIVE = text(f"attempts.{ATTEMPT_LIVE}")
# The ended attempts that can still be watched (`attempts_to_check`).
WATCHED_ENDED = (AttemptStatus.EXPIRED, AttemptStatus.CANCELED, AttemptStatus.FAILED)

# The statements every payment runs, built once: building one (and its cache key) costs
# several times what SQLite then spends running it.
_PAYMENT = select(payments).where(payments.c.id == bindparam("id"))
_PAYMENT_OF = _PAYMENT.where(payments.c.merchant_id == bindparam("merchant_id"))
_PAYMENT_VERSION = select(payments.c.version).where(payments.c.id == bindparam("id"))
_INSERT_PAYMENT = insert(payments).returning(*payments.c)
_ATTEMPT = select(attempts).where(attempts.c.id == bindparam("id"))
_ATTEMPT_BY_REF = select(attempts).where(and_(attempts.c.acquirer == bindparam("acquirer"),
                                              attempts.c.acquirer_ref == bindparam("ref")))
_LATEST_ATTEMPT = select(attempts).where(attempts.c.payment_id == bindparam("payment_id")) \
    .order_by(attempts.c.created_at.desc(), attempts.c.id.desc()).limit(1)
_INSERT_ATTEMPT = insert(attempts).returning(*attempts.c)
_MERCHANT = select(merchants).where(merchants.c.id == bindparam("id"))
_KEY_HOLDER = select(merchants, merchant_keys.c.id.label("key_id"),
                     merchant_keys.c.last_used_at, merchant_keys.c.scope.label("key_scope")) \
    .join(merchant_keys, merchant_keys.c.merchant_id == merchants.c.id) \
    .where(and_(merchant_keys.c.key_hash == bindparam("key_hash"),
                or_(merchant_keys.c.expires_at.is_(None),
                    merchant_keys.c.expires_at > bindparam("now"))))
# Joined reads: where one step needs rows of several tables (a payment's page; news about an
# attempt, applied to its payment), one statement instead of one each. The columns come back
# table by table, in order, and each table's are cut into a row of that table (`_split`).
_LATEST = attempts.alias("latest")
_LATEST_ATTEMPT_ID = select(_LATEST.c.id).where(_LATEST.c.payment_id == payments.c.id) \
    .order_by(_LATEST.c.created_at.desc(), _LATEST.c.id.desc()).limit(1) \
    .correlate(payments).scalar_subquery()
_PAYMENT_AND_LATEST = select(payments, attempts) \
    .select_from(payments.outerjoin(attempts, attempts.c.id == _LATEST_ATTEMPT_ID)) \
    .where(payments.c.id == bindparam("id"))
_PAYMENT_PAGE = select(payments, attempts, merchants) \
    .select_from(payments.join(merchants, merchants.c.id == payments.c.merchant_id)
                 .outerjoin(attempts, attempts.c.id == _LATEST_ATTEMPT_ID)) \
    .where(payments.c.id == bindparam("id"))
_ATTEMPT_AND_PAYMENT = select(attempts, payments) \
    .join(payments, payments.c.id == attempts.c.payment_id)
_ATTEMPT_AND_PAYMENT_BY_ID = _ATTEMPT_AND_PAYMENT.where(attempts.c.id == bindparam("id"))
_ATTEMPT_AND_PAYMENT_BY_REF = _ATTEMPT_AND_PAYMENT.where(and_(
    attempts.c.acquirer == bindparam("acquirer"), attempts.c.acquirer_ref == bindparam("ref")))
_MARK_EVENT = update(acquirer_events).where(acquirer_events.c.id == bindparam("event_id"))
# A compare-and-set: the SET clause comes from the parameters given (`_compare_and_set`).
_CAS = {table.name: update(table)
        .where(and_(table.c.id == bindparam("cas_id"), table.c.version == bindparam("cas_v")))
        .returning(*table.c) for table in (payments, attempts)}


# ---- merchants -------------------------------------------------------------------------------

async def merchant_by_key_hash(conn: Conn, key_hash: str,
                               now: datetime | None = None) -> Merchant | None:
    """The merchant holding this key, unless the key has expired (rotated out)."""
    q = select(merchants).join(merchant_keys, merchant_keys.c.merchant_id == merchants.c.id) \
        .where(merchant_keys.c.key_hash == key_hash)
    if now is not None:
        q = q.where(or_(merchant_keys.c.expires_at.is_(None), merchant_keys.c.expires_at > now))
    row = (await conn.execute(q)).first()
    return Merchant.from_row(row) if row else None


async def key_holder(conn: Conn, key_hash: str, now: datetime
                     ) -> tuple[Merchant, str, datetime | None, str] | None:
    """The merchant holding this live key, the key's id, when it was last used, its scope."""
    row = (await conn.execute(_KEY_HOLDER, {"key_hash": key_hash, "now": now})).first()
    return (Merchant.from_row(row), row.key_id, row.last_used_at, row.key_scope) if row \
        else None


async def key_used(conn: Conn, key_id: str, now: datetime,
                   not_since: datetime) -> None:
    """`last_used_at` = now, unless another request wrote it after `not_since`."""
    await conn.execute(update(merchant_keys).where(and_(
        merchant_keys.c.id == key_id,
        or_(merchant_keys.c.last_used_at.is_(None),
            merchant_keys.c.last_used_at < not_since))).values(last_used_at=now))


async def key_of(conn: Conn, merchant_id: str, key_id: str) -> Any:
    return (await conn.execute(select(merchant_keys).where(and_(
        merchant_keys.c.id == key_id, merchant_keys.c.merchant_id == merchant_id)))).first()


async def set_key_expiry(conn: Conn, key_id: str, at: datetime) -> None:
    """The key stops working at `at`, or earlier if it was to stop before."""
    await conn.execute(update(merchant_keys).where(and_(
        merchant_keys.c.id == key_id,
        or_(merchant_keys.c.expires_at.is_(None), merchant_keys.c.expires_at > at)))
        .values(expires_at=at))


async def merchant_by_id(conn: Conn, merchant_id: str) -> Merchant | None:
    row = (await conn.execute(_MERCHANT, {"id": merchant_id})).first()
    return Merchant.from_row(row) if row else None


async def upsert_merchant(conn: Conn, *, id: str, name: str,
                          return_origins: list[str], embed_origins: list[str],
                          now: datetime, acquirer: str) -> None:
    """Insert a merchant (with its acquirer), or update the names and origins of one."""
    values = {"name": name, "return_origins": json.dumps(return_origins),
              "embed_origins": json.dumps(embed_origins)}
    done = await conn.execute(update(merchants).where(merchants.c.id == id).values(**values))
    if done.rowcount == 0:
        await conn.execute(insert(merchants).values(id=id, created_at=now,
                                                    acquirer=acquirer, **values))


async def set_acquirer(conn: Conn, merchant_id: str, acquirer: str,
                       account_id: str | None = None) -> bool:
    """New payments go to `acquirer`, on the merchant's own account (None: the default)."""
    return await _set_merchant(conn, merchant_id, acquirer=acquirer,
                               acquirer_account_id=account_id)


async def set_language(conn: Conn, merchant_id: str, language: str) -> bool:
    return await _set_merchant(conn, merchant_id, default_language=language)


async def set_brand(conn: Conn, merchant_id: str, logo_url: str | None,
                    accent_color: str | None) -> bool:
    return await _set_merchant(conn, merchant_id, logo_url=logo_url, accent_color=accent_color)


async def set_checkout(conn: Conn, merchant_id: str, *, name: str,
                       logo_url: str | None, accent_color: str | None, language: str | None,
                       return_origins: list[str], embed_origins: list[str]) -> bool:
    """Everything of the merchant's checkout page at once."""
    return await _set_merchant(conn, merchant_id, name=name, logo_url=logo_url,
                               accent_color=accent_color, default_language=language,
                               return_origins=json.dumps(return_origins),
                               embed_origins=json.dumps(embed_origins))


async def _set_merchant(conn: Conn, merchant_id: str, **values: str | None) -> bool:
    done = await conn.execute(update(merchants).where(merchants.c.id == merchant_id)
                              .values(**values))
    return done.rowcount == 1


async def all_merchants(conn: Conn) -> list[Merchant]:
    return [Merchant.from_row(r) for r in
            await conn.execute(select(merchants).order_by(merchants.c.created_at,
                                                          merchants.c.id))]


async def add_key(conn: Conn, *, key_id: str, merchant_id: str, key_hash: str,
                  hint: str, now: datetime, scope: str = "full",
                  created_by: str | None = None) -> None:
    await conn.execute(insert(merchant_keys).values(
        id=key_id, merchant_id=merchant_id, key_hash=key_hash, hint=hint, created_at=now,
        scope=scope, created_by=created_by))


async def ensure_key(conn: Conn, *, key_id: str, merchant_id: str, key_hash: str,
                     hint: str, now: datetime) -> None:
    found = (await conn.execute(select(merchant_keys.c.id).where(
        merchant_keys.c.key_hash == key_hash))).first()
    if found is None:
        await add_key(conn, key_id=key_id, merchant_id=merchant_id, key_hash=key_hash,
                      hint=hint, now=now)


async def expire_keys(conn: Conn, merchant_id: str, *, except_id: str,
                      at: datetime) -> None:
    """Every other live key of the merchant stops working at `at` (the overlap's end)."""
    await conn.execute(update(merchant_keys).where(and_(
        merchant_keys.c.merchant_id == merchant_id, merchant_keys.c.id != except_id,
        or_(merchant_keys.c.expires_at.is_(None), merchant_keys.c.expires_at > at)))
        .values(expires_at=at))


async def keys_of(conn: Conn, merchant_id: str) -> list[Any]:
    """The merchant's keys, oldest first, each with the email of who made it (None: the
    command line, or a member since removed from the console)."""
    return list(await conn.execute(
        select(merchant_keys.c.id, merchant_keys.c.hint, merchant_keys.c.created_at,
               merchant_keys.c.expires_at, merchant_keys.c.last_used_at, merchant_keys.c.scope,
               merchant_keys.c.created_by, console_users.c.email.label("created_by_email"))
        .outerjoin(console_users, console_users.c.id == merchant_keys.c.created_by)
        .where(merchant_keys.c.merchant_id == merchant_id)
        .order_by(merchant_keys.c.created_at)))


async def live_keys_made_by(conn: Conn, merchant_id: str, user_id: str, now: datetime
                            ) -> list[str]:
    """The ids of the merchant's keys `user_id` made that still work."""
    rows = await conn.execute(select(merchant_keys.c.id).where(and_(
        merchant_keys.c.merchant_id == merchant_id, merchant_keys.c.created_by == user_id,
        or_(merchant_keys.c.expires_at.is_(None), merchant_keys.c.expires_at > now))))
    return [r.id for r in rows]


# ---- payments --------------------------------------------------------------------------------

async def insert_payment(conn: Conn, values: dict[str, Any]) -> Payment:
    """The payment as stored (with its defaults)."""
    return Payment.from_row((await conn.execute(_INSERT_PAYMENT, values)).one())


async def versions_changed_since(conn: Conn, since: datetime
                                 ) -> list[tuple[str, int]]:
    rows = await conn.execute(select(payments.c.id, payments.c.version)
                              .where(payments.c.updated_at > since))
    return [(r.id, r.version) for r in rows]


async def payment_version(conn: Conn, payment_id: str) -> int | None:
    """Just the version: what a buyer's poll needs to know whether anything changed."""
    return (await conn.execute(_PAYMENT_VERSION, {"id": payment_id})).scalar()


async def payment(conn: Conn, payment_id: str,
                  merchant_id: str | None = None) -> Payment | None:
    if merchant_id is None:
        row = (await conn.execute(_PAYMENT, {"id": payment_id})).first()
    else:
        row = (await conn.execute(_PAYMENT_OF, {"id": payment_id,
                                                "merchant_id": merchant_id})).first()
    return Payment.from_row(row) if row else None


async def update_payment(conn: Conn, current: Payment, now: datetime,
                         **values: Any) -> Payment | None:
    """Compare-and-set: applies only if nobody changed the payment since `current` was read.
    Returns the payment as written, or None if it had moved."""
    row = await _compare_and_set(conn, payments, current.id, current.version, now, values)
    return Payment.from_row(row) if row is not None else None


async def payments_to_expire(conn: Conn, now: datetime, limit: int = 100
                             ) -> list[Payment]:
    live = select(attempts.c.id).where(and_(
        attempts.c.payment_id == payments.c.id,
        attempts.c.status.in_([str(s) for s in LIVE_ATTEMPT]),
    )).exists()
    rows = await conn.execute(
        select(payments).where(and_(payments.c.status == str(PaymentStatus.PENDING),
                                    payments.c.expires_at < now, ~live)).limit(limit)
    )
    return [Payment.from_row(r) for r in rows]


# ---- attempts --------------------------------------------------------------------------------

async def insert_attempt(conn: Conn, values: dict[str, Any]) -> Attempt:
    """The attempt as stored (with its defaults)."""
    return Attempt.from_row((await conn.execute(_INSERT_ATTEMPT, values)).one())


async def attempt(conn: Conn, attempt_id: str) -> Attempt | None:
    row = (await conn.execute(_ATTEMPT, {"id": attempt_id})).first()
    return Attempt.from_row(row) if row else None


async def attempt_by_ref(conn: Conn, acquirer: str, ref: str) -> Attempt | None:
    row = (await conn.execute(_ATTEMPT_BY_REF, {"acquirer": acquirer, "ref": ref})).first()
    return Attempt.from_row(row) if row else None


async def has_unanswered_starts(conn: Conn, acquirer: str, since: datetime) -> bool:
    """Whether some attempt at `acquirer`, begun after `since` or still starting (a saved
    method's charge is never given up), has no session of its own (its start's answer may
    have been lost)."""
    row = (await conn.execute(select(attempts.c.id).where(and_(
        attempts.c.acquirer == acquirer, attempts.c.acquirer_ref.is_(None),
        or_(attempts.c.created_at > since,
            attempts.c.status == str(AttemptStatus.STARTING)))).limit(1))).first()
    return row is not None


async def unanswered_charges(conn: Conn, acquirer: str, account_id: str | None,
                             amount: int, currency: str) -> list[str]:
    """Attempts at `acquirer` (on that account), still starting, that charge a saved method
    for `amount` of `currency` and have no session of their own: what a session the acquirer
    names, whose start answer was lost, may be."""
    account = attempts.c.acquirer_account_id.is_(None) if account_id is None else \
        attempts.c.acquirer_account_id == account_id
    rows = await conn.execute(
        select(attempts.c.id).join(payments, payments.c.id == attempts.c.payment_id).where(and_(
            attempts.c.acquirer == acquirer, account, attempts.c.acquirer_ref.is_(None),
            attempts.c.status == str(AttemptStatus.STARTING),
            payments.c.initiator.is_not(None),
            payments.c.payment_method_id.is_not(None), payments.c.amount == amount,
            payments.c.currency == currency)).limit(2))
    return [r.id for r in rows]


# Each table's columns, as a result's metadata of its own: a joined row is cut into rows of
# each table (`compiled.rows`), which the records read as they read any row of it.
_TABLE_COLUMNS = {table.name: SimpleResultMetaData([c.name for c in table.c])
                  for table in (payments, attempts, merchants)}


def _split(joined: Any, *tables: Table) -> list[Row[Any] | None]:
    """Each table's columns of a joined row, in the order selected; None for a table the outer
    join found no row of."""
    values = tuple(joined)
    parts: list[Row[Any] | None] = []
    at = 0
    for table in tables:
        metadata = _TABLE_COLUMNS[table.name]
        width = len(metadata.keys)
        part = table_row(metadata, values[at:at + width])
        at += width
        parts.append(part if part.id is not None else None)
    assert at == len(values), "a joined read selects exactly its tables' columns"
    return parts


async def payment_page(conn: Conn, payment_id: str
                       ) -> tuple[Payment, Merchant, Attempt | None] | None:
    """What a buyer's page shows, in one read: the payment, its merchant, its latest attempt."""
    row = (await conn.execute(_PAYMENT_PAGE, {"id": payment_id})).first()
    if row is None:
        return None
    payment, attempt, merchant = _split(row, payments, attempts, merchants)
    assert payment is not None and merchant is not None
    return (Payment.from_row(payment), Merchant.from_row(merchant),
            Attempt.from_row(attempt) if attempt is not None else None)


async def payment_and_latest_attempt(conn: Conn, payment_id: str
                                     ) -> tuple[Payment, Attempt | None] | None:
    row = (await conn.execute(_PAYMENT_AND_LATEST, {"id": payment_id})).first()
    if row is None:
        return None
    payment, attempt = _split(row, payments, attempts)
    assert payment is not None
    return Payment.from_row(payment), Attempt.from_row(attempt) if attempt is not None else None


async def attempt_and_payment(conn: Conn, attempt_id: str) -> tuple[Attempt, Payment] | None:
    return _attempt_and_payment(
        (await conn.execute(_ATTEMPT_AND_PAYMENT_BY_ID, {"id": attempt_id})).first())


async def attempt_and_payment_by_ref(conn: Conn, acquirer: str, ref: str
                                     ) -> tuple[Attempt, Payment] | None:
    return _attempt_and_payment((await conn.execute(
        _ATTEMPT_AND_PAYMENT_BY_REF, {"acquirer": acquirer, "ref": ref})).first())


def _attempt_and_payment(row: Any) -> tuple[Attempt, Payment] | None:
    if row is None:
        return None
    attempt, payment = _split(row, attempts, payments)
    assert attempt is not None and payment is not None
    return Attempt.from_row(attempt), Payment.from_row(payment)


async def attempt_count(conn: Conn, payment_id: str) -> int:
    found = await conn.execute(select(func.count()).select_from(attempts).where(
        attempts.c.payment_id == payment_id))
    return int(found.scalar_one())


async def latest_attempt(conn: Conn, payment_id: str) -> Attempt | None:
    row = (await conn.execute(_LATEST_ATTEMPT, {"payment_id": payment_id})).first()
    return Attempt.from_row(row) if row else None


async def update_attempt(conn: Conn, current: Attempt, now: datetime,
                         **values: Any) -> Attempt | None:
    """Compare-and-set, as `update_payment`."""
    row = await _compare_and_set(conn, attempts, current.id, current.version, now, values)
    return Attempt.from_row(row) if row is not None else None


async def _compare_and_set(conn: Conn, table: Table, row_id: str, version: int,
                           now: datetime, values: dict[str, Any]) -> Any:
    """The row as written (`RETURNING`: no second read), or None if it had moved."""
    values = {k: str(v) if isinstance(v, StrEnum) else v for k, v in values.items()}
    done = await conn.execute(_CAS[table.name], {"cas_id": row_id, "cas_v": version,
                                                 "version": version + 1, "updated_at": now,
                                                 **values})
    return done.first()


async def attempts_to_check(conn: Conn, *, quiet_since: datetime,
                            overdue_before: datetime, unstarted_since: datetime,
                            watch_since: dict[str, datetime], limit: int = 200) -> list[Attempt]:
    """Attempts to ask the acquirer about:
    - live ones unheard of since `quiet_since`, past their deadline before `overdue_before`,
      or never started there and not tried since `unstarted_since`;
    - ones we ended (by our own clock, or canceled where the acquirer cannot cancel) after
      `watch_since[their acquirer]`, and unheard of since `quiet_since`: the buyer may still
      have approved at the last second, and with webhooks off only we can notice;
    - ones the acquirer failed with a word it says is not final, as long.

    Two queries, each on an index, rather than one over their OR, which no index serves: the
    live ones through their partial index, the ended ones through their status and when
    they ended (only those of the last watch window are read)."""
    last_news = func.coalesce(attempts.c.checked_at, attempts.c.updated_at)
    live = and_(
        ATTEMPTS_LIVE,
        or_(last_news < quiet_since,
            attempts.c.deadline_at < overdue_before,
            and_(attempts.c.acquirer_ref.is_(None), last_news < unstarted_since)),
    )
    ended_here = or_(attempts.c.status == str(AttemptStatus.EXPIRED),
                     and_(attempts.c.status == str(AttemptStatus.CANCELED),
                          attempts.c.watch == str(Watch.CANCELED_HERE)),
                     and_(attempts.c.status.in_([str(AttemptStatus.FAILED),
                                                 str(AttemptStatus.CANCELED)]),
                          attempts.c.watch == str(Watch.NOT_FINAL)))
    watched = and_(attempts.c.status.in_([str(s) for s in WATCHED_ENDED]),
                   attempts.c.updated_at > min(watch_since.values()),
                   ended_here,
                   attempts.c.acquirer_ref.is_not(None),
                   or_(*[and_(attempts.c.acquirer == name, attempts.c.updated_at > since)
                         for name, since in watch_since.items()]),
                   last_news < quiet_since)
    found = {}
    for which in (live, watched):
        for row in await conn.execute(select(attempts).where(which).order_by(last_news)
                                      .limit(limit)):
            found[row.id] = Attempt.from_row(row)
    return sorted(found.values(), key=lambda a: a.checked_at or a.updated_at)[:limit]


async def mark_checked(conn: Conn, attempt_id: str, now: datetime) -> None:
    """Not a state change: no version bump, so no one's view is disturbed."""
    await conn.execute(update(attempts).where(attempts.c.id == attempt_id)
                       .values(checked_at=now))


async def attempt_failed_before(conn: Conn, payment_id: str) -> bool:
    n = (await conn.execute(select(func.count()).select_from(attempts).where(and_(
        attempts.c.payment_id == payment_id,
        attempts.c.status == str(AttemptStatus.FAILED),
    )))).scalar_one()
    return bool(n)


# ---- inbound acquirer events (inbox) ---------------------------------------------------------

async def record_event(conn: Conn, *, acquirer: str, dedup_key: str, ref: str,
                       event_type: str, body: bytes, now: datetime,
                       outcome: str | None = None) -> int | None:
    """Store an inbound event (already applied, if its `outcome` is given); None if the
    acquirer sent this very event before."""
    found = await insert_if_new(conn, acquirer_events, {
        "acquirer": acquirer, "dedup_key": dedup_key, "acquirer_ref": ref,
        "event_type": event_type, "body": body.decode("utf-8", "replace"), "received_at": now,
        "applied_at": now if outcome is not None else None, "outcome": outcome,
    }, returning=acquirer_events.c.id)
    return int(found) if found is not None else None


async def mark_event(conn: Conn, event_id: int, outcome: str, now: datetime) -> None:
    await conn.execute(_MARK_EVENT, {"event_id": event_id, "applied_at": now,
                                     "outcome": outcome})


async def unapplied_events(conn: Conn, received_before: datetime, limit: int = 100
                           ) -> list[tuple[int, str, str]]:
    rows = await conn.execute(
        select(acquirer_events.c.id, acquirer_events.c.acquirer, acquirer_events.c.acquirer_ref)
        .where(and_(acquirer_events.c.applied_at.is_(None),
                    acquirer_events.c.received_at < received_before))
        .order_by(acquirer_events.c.id).limit(limit)
    )
    return [(r.id, r.acquirer, r.acquirer_ref) for r in rows]


# ---- refunds ---------------------------------------------------------------------------------

async def refunds_of(conn: Conn, payment_id: str) -> list[Refund]:
    rows = await conn.execute(select(refunds).where(refunds.c.payment_id == payment_id)
                              .order_by(refunds.c.created_at, refunds.c.id))
    return [Refund.from_row(r) for r in rows]


async def refund_by_request_key(conn: Conn, payment_id: str,
                                request_key: str) -> Refund | None:
    row = (await conn.execute(select(refunds).where(and_(
        refunds.c.payment_id == payment_id, refunds.c.request_key == request_key)))).first()
    return Refund.from_row(row) if row else None


async def insert_refund(conn: Conn, values: dict[str, Any]) -> None:
    await conn.execute(insert(refunds).values(**values))


async def update_refund(conn: Conn, current: Refund, now: datetime,
                        **values: Any) -> bool:
    """Compare-and-set on the refund's status: a refund moves out of `pending` once."""
    done = await conn.execute(
        update(refunds).where(and_(refunds.c.id == current.id,
                                   refunds.c.status == current.status))
        .values(updated_at=now, **values))
    return done.rowcount == 1


async def claim_refund_retry(conn: Conn, current: Refund, now: datetime) -> bool:
    """Restart a pending refund's clock, once: of two instances, one wins the retry."""
    done = await conn.execute(
        update(refunds).where(and_(refunds.c.id == current.id, refunds.c.status == "pending",
                                   refunds.c.updated_at == current.updated_at))
        .values(updated_at=now))
    return done.rowcount == 1


async def park_refund(conn: Conn, current: Refund, reason: str, now: datetime) -> bool:
    """Set a pending refund aside for a person: the reconciler leaves it alone from now."""
    done = await conn.execute(
        update(refunds).where(and_(refunds.c.id == current.id, refunds.c.status == "pending",
                                   refunds.c.review.is_(None)))
        .values(review=reason, updated_at=now))
    return done.rowcount == 1


async def link_refund(conn: Conn, refund_id: str, acquirer_ref: str,
                      now: datetime) -> bool:
    """Tie our refund to the acquirer's; False if either is already tied to another."""
    try:
        async with conn.begin_nested():
            done = await conn.execute(update(refunds).where(and_(
                refunds.c.id == refund_id, refunds.c.acquirer_ref.is_(None)))
                .values(acquirer_ref=acquirer_ref, updated_at=now))
    except IntegrityError:
        return False
    return done.rowcount == 1


async def pending_refunds(conn: Conn, before: datetime, limit: int = 100
                          ) -> list[Refund]:
    rows = await conn.execute(select(refunds).where(and_(
        refunds.c.status == "pending", refunds.c.review.is_(None),
        refunds.c.updated_at < before))
        .order_by(refunds.c.updated_at).limit(limit))
    return [Refund.from_row(r) for r in rows]


async def payments_with_pending_operation(conn: Conn, before: datetime,
                                          limit: int = 100) -> list[str]:
    rows = await conn.execute(select(payments.c.id).where(and_(
        payments.c.pending_operation.is_not(None), payments.c.updated_at < before))
        .limit(limit))
    return [r.id for r in rows]


async def holds_to_release(conn: Conn, acquirer: str, authorized_before: datetime,
                           limit: int = 100) -> list[tuple[str, datetime]]:
    """Payments held at `acquirer`, authorized before then, oldest first:
    (id, authorized_at)."""
    rows = await conn.execute(
        select(payments.c.id, payments.c.authorized_at).where(and_(
            payments.c.status == str(PaymentStatus.WAITING_FOR_CAPTURE),
            payments.c.pending_operation.is_(None), payments.c.acquirer == acquirer,
            payments.c.authorized_at < authorized_before))
        .order_by(payments.c.authorized_at).limit(limit))
    return [(r.id, r.authorized_at) for r in rows]


async def list_payments(conn: Conn, merchant_id: str, *, limit: int,
                        before: tuple[datetime, str] | None, status: str | None,
                        reference: str | None, created_gte: datetime | None,
                        created_lt: datetime | None) -> list[Payment]:
    q = select(payments).where(payments.c.merchant_id == merchant_id)
    if before is not None:
        q = q.where(older_than(payments, before))
    if status is not None:
        q = q.where(payments.c.status == status)
    if reference is not None:
        q = q.where(payments.c.reference == reference)
    if created_gte is not None:
        q = q.where(payments.c.created_at >= created_gte)
    if created_lt is not None:
        q = q.where(payments.c.created_at < created_lt)
    rows = await conn.execute(q.order_by(payments.c.created_at.desc(), payments.c.id.desc())
                              .limit(limit))
    return [Payment.from_row(r) for r in rows]


# ---- saved payment methods -------------------------------------------------------------------

async def insert_payment_method(conn: Conn, values: dict[str, Any]) -> None:
    await conn.execute(insert(payment_methods).values(**values))


async def payment_method(conn: Conn, method_id: str, merchant_id: str) -> Any:
    return (await conn.execute(select(payment_methods).where(and_(
        payment_methods.c.id == method_id, payment_methods.c.merchant_id == merchant_id)))
    ).first()




async def disable_payment_method(conn: Conn, method_id: str, now: datetime) -> None:
    await conn.execute(update(payment_methods).where(and_(
        payment_methods.c.id == method_id, payment_methods.c.disabled_at.is_(None)))
        .values(disabled_at=now))


async def attempts_owing_money(conn: Conn, limit: int = 100) -> list[Attempt]:
    rows = await conn.execute(select(attempts).where(
        attempts.c.debt.is_not(None),  # the condition of the partial index
        attempts.c.debt.in_([str(d) for d in DEBTS_OWED])).limit(limit))
    return [Attempt.from_row(r) for r in rows]
