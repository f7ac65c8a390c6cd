"""Applying what the acquirer says: move an attempt and its payment, and do what follows.

Every change is one compare-and-set transaction (`flow.cas`) that re-reads the attempt and
its payment; late, duplicated and out-of-order news is recorded and ignored, never applied
backwards. What the news makes due is done right after the commit: confirm a session, capture
a hold nobody asked for, perform the merchant's recorded operation, give back money paid twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from checkout.acquirers.base import METHOD_UNAVAILABLE, REDACTED, Notice, SessionState, Snapshot
from checkout.domain.money import Money
from checkout.domain.receipts import items_from_json, part_of
from checkout.domain.states import (
    DEBTS_OWED,
    AttemptStatus,
    Debt,
    PaymentStatus,
    Watch,
    attempt_can_move,
    payment_can_move,
)
from checkout.errors import AcquirerError, Conflict, NotFound
from checkout.flow import cas
from checkout.flow import refunds as refund_flow
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.flow.receipts import fiscal_changes, receipt_of, tell_registered
from checkout.notify import outbox
from checkout.store import repo
from checkout.store.db import Conn
from checkout.store.records import Attempt, Payment

log = logging.getLogger("checkout.flow")
A, P = AttemptStatus, PaymentStatus
# Why a payment was canceled, as `last_error.code` (the buyer's page words it).
CANCELED_BY_MERCHANT = "canceled_by_merchant"
# `attempts.error_code` of a starting attempt whose every start call failed before it left us
# (`flow.attempts`): nothing there to look for before starting again.
START_UNSENT = "start_unsent"
HOLD_EXPIRED = "hold_expired"

# What an acquirer's session state means for our attempt.
ATTEMPT_STATUS_FOR: dict[SessionState, AttemptStatus] = {
    SessionState.PROCESSING: A.PROCESSING,
    SessionState.NEEDS_CONFIRM: A.PROCESSING,
    SessionState.AWAITING_BUYER: A.AWAITING_BUYER,
    SessionState.AUTHORIZED: A.AUTHORIZED,
    SessionState.SUCCEEDED: A.SUCCEEDED,
    SessionState.FAILED: A.FAILED,
    SessionState.CANCELED: A.CANCELED,
    SessionState.EXPIRED: A.EXPIRED,
}


@dataclass(frozen=True)
class Applied:
    outcome: str  # "applied", "unchanged", "stale"
    attempt: Attempt
    payment: Payment


async def apply_snapshot(ctx: FlowContext, attempt_id: str, snap: Snapshot,
                         watch: Watch | None = None, *, follow_later: bool = False) -> Applied:
    """Move the attempt (and its payment) to what the acquirer's session says, if allowed.
    `watch`: the attempt ends here only, and the acquirer is still asked about it.
    `follow_later`: the acquirer calls this news makes due are made after the caller's
    answer (`FlowContext.later`); the result is then the news's own."""
    result = await cas.write(ctx, "apply the acquirer's news",
                             lambda tx: _apply_once(ctx, tx, attempt_id, snap, watch),
                             attempt_id=attempt_id)
    await _noted(ctx, attempt_id, snap, result)
    if follow_later:
        ctx.later(_what_follows(ctx, attempt_id, snap, result), "what the acquirer's news "
                  "made due", attempt_id=attempt_id)
        return result
    return await _what_follows(ctx, attempt_id, snap, result)


async def _noted(ctx: FlowContext, attempt_id: str, snap: Snapshot, result: Applied) -> None:
    """Right after the news is committed: the log, and the refunds it tells of (ours only:
    no acquirer call)."""
    if result.outcome == "applied":
        log.info("attempt %s, payment %s", result.attempt.status, result.payment.status,
                 extra={"attempt_id": attempt_id, "payment_id": result.payment.id})
    if snap.refunds:
        await refund_flow.apply_states(ctx, result.attempt, snap.refunds)


async def _what_follows(ctx: FlowContext, attempt_id: str, snap: Snapshot, result: Applied
                        ) -> Applied:
    """After the news is committed and noted: the acquirer calls it makes due (a confirm,
    a capture, money given back…)."""
    if result.attempt.debt in DEBTS_OWED:
        await give_back(ctx, result.attempt, snap)
        return result
    if result.outcome == "applied" and result.payment.pending_operation and \
            result.attempt.status is A.AUTHORIZED:
        return await perform_pending(ctx, result.payment.id) or result
    if result.outcome != "stale" and snap.state is SessionState.NEEDS_CONFIRM and \
            result.attempt.status is A.PROCESSING and result.attempt.acquirer_ref:
        # We confirm automatically: the buyer already chose to pay when they started. The
        # acquirer's webhook and the answer to our start often say so at the same moment:
        # one confirm is enough, and the second to come waits until its answer is applied
        # (the buyer's start then shows the link at once).
        doing = f"{attempt_id}:confirm"
        if (under_way := ctx.calling.get(doing)) is not None:
            await under_way.wait()
            return result
        ctx.calling[doing] = done = asyncio.Event()
        try:
            driver = await ctx.driver(result.attempt)
            try:
                confirmed = await driver.confirm(result.attempt.acquirer_ref,
                                                 result.attempt.id)
            except AcquirerError as err:
                log.warning("confirm failed: %s", err.detail, extra={"attempt_id": attempt_id})
                return result
            if confirmed.state is not SessionState.NEEDS_CONFIRM:
                return await apply_snapshot(ctx, attempt_id, confirmed)
        finally:
            del ctx.calling[doing]
            done.set()
    return result


async def _apply_once(ctx: FlowContext, tx: cas.Versioned, attempt_id: str, snap: Snapshot,
                      watch: Watch | None,
                      read: tuple[Attempt, Payment] | None = None) -> Applied:
    """`read`: the attempt and its payment as this very transaction read them already."""
    found = read if read is not None else await repo.attempt_and_payment(tx.conn, attempt_id)
    if found is None:
        raise NotFound("no such attempt")
    attempt, payment = found
    target = ATTEMPT_STATUS_FOR[snap.state]
    if target is A.AUTHORIZED and payment.capture and \
            ctx.capabilities(attempt.acquirer).captures_itself:
        # A one-stage payment on its way to being captured by the acquirer itself (T-Bank's
        # AUTHORIZED before CONFIRMED): nothing for us to do but keep what it carries.
        target = A.PROCESSING if attempt.status is A.STARTING else attempt.status
    if not snap.final and target in (A.FAILED, A.CANCELED):
        watch = watch or Watch.NOT_FINAL
    changes: dict[str, object] = {}
    token = snap.recurrent_token
    if token and payment.save_payment_method and target is not A.SUCCEEDED and \
            attempt.kept_token is None:
        # Given before the payment is final (T-Bank: on AUTHORIZED only), and maybe never
        # again: kept, sealed, to save the method once it succeeds.
        changes["kept_token"] = ctx.vault.seal(token)
    elif not token and attempt.kept_token is not None:
        token = ctx.vault.open(attempt.kept_token)
    if snap.ref and not attempt.acquirer_ref:
        changes["acquirer_ref"] = snap.ref
    if target is not attempt.status:
        if not attempt_can_move(attempt.status, target):
            log.info("stale acquirer news ignored: %s -> %s", attempt.status, target,
                     extra={"attempt_id": attempt.id})
            return Applied("stale", attempt, payment)
        changes["status"] = target
        changes["watch"] = watch
        if snap.error_code:
            changes["error_code"] = snap.error_code[:64]
            changes["error_message"] = snap.error_message[:500]
        elif attempt.error_code == START_UNSENT:
            changes["error_code"] = None
    if target is A.SUCCEEDED and "status" in changes and snap.refunded_amount:
        # What the acquirer counts as returned already when it is paid (TBC: the rest of a
        # partly completed hold, undocumented): refunds are what comes above it.
        changes["returned_baseline"] = snap.refunded_amount
    if target is A.AWAITING_BUYER and snap.action_url and not attempt.action_url:
        changes["action_url"] = snap.action_url
        changes["deadline_at"] = tx.now + timedelta(seconds=ctx.settings.attempt_ttl_seconds)
    fiscal = fiscal_changes(payment, snap.fiscal)
    if not changes and not fiscal:
        return Applied("unchanged", attempt, payment)
    if not changes:  # only the fiscal receipt moved
        await tx.payment(payment, **fiscal)
        tx.told = await tell_registered(ctx, tx, payment, tx.payments[payment.id])
        return Applied("applied", attempt, tx.payments[payment.id])
    pay_changes = {**_payment_effect(payment, attempt, target, snap, tx.now), **fiscal}
    if "status" in changes and target is A.SUCCEEDED and "status" not in pay_changes:
        changes["debt"] = Debt.REFUND_DUE  # paid, but the payment was settled already
    elif "status" in changes and target is A.AUTHORIZED and payment.status is not P.PENDING:
        changes["debt"] = Debt.RELEASE_DUE  # held, but the payment was settled already
    await tx.attempt(attempt, **changes)
    if target is A.SUCCEEDED and payment.save_payment_method and token \
            and payment.payment_method_id is None and "status" in pay_changes:
        method_id = new_id("pm")
        await repo.insert_payment_method(tx.conn, {
            "id": method_id, "merchant_id": payment.merchant_id,
            "acquirer": attempt.acquirer, "acquirer_account_id": attempt.acquirer_account_id,
            "token": ctx.vault.seal(token),
            "customer_reference": payment.customer_reference,
            "source_payment_id": payment.id, "created_at": tx.now})
        pay_changes["payment_method_id"] = method_id
    await tx.payment(payment, **pay_changes)
    before = payment
    attempt, payment = tx.attempts[attempt_id], tx.payments[before.id]
    tx.told = await outbox.payment_changed(tx.conn, before, payment, ctx.checkout_url(payment),
                                           new_id("evt"), tx.now)
    tx.told = await tell_registered(ctx, tx, before, payment) or tx.told
    return Applied("applied", attempt, payment)


def _payment_effect(payment: Payment, attempt: Attempt, target: AttemptStatus,
                    snap: Snapshot, now: datetime) -> dict[str, object]:
    """What an attempt's new status does to its payment (always at least a version bump)."""
    if target is A.SUCCEEDED:
        if payment_can_move(payment.status, P.SUCCEEDED):
            captured = snap.captured_amount
            if captured is None:
                # The acquirer did not say (Bank 131's webhooks may carry no gross): a capture
                # we asked for took what we asked; otherwise the whole amount.
                captured = payment.pending_amount if payment.pending_operation == "capture" \
                    and payment.pending_amount is not None else payment.amount
            return {"status": P.SUCCEEDED, "captured_amount": min(captured, payment.amount),
                    "last_error_code": None, "pending_operation": None,
                    "pending_amount": None, "pending_items": None}
        # Money taken for a payment that is already paid (or over): it goes back, see
        # `give_back`; the attempt row carries the debt until then.
        log.error("a second success for one payment: refunding it",
                  extra={"payment_id": payment.id, "attempt_id": attempt.id})
        return {}
    if target is A.AUTHORIZED and payment.capture and payment.status is P.PENDING:
        # The acquirer holds every payment of this project; this one asked for no hold, so we
        # owe the acquirer a full capture: recorded here, performed right after the commit.
        return {"pending_operation": "capture", "pending_amount": payment.amount,
                "authorized_at": now}
    if target is A.AUTHORIZED and payment_can_move(payment.status, P.WAITING_FOR_CAPTURE):
        return {"status": P.WAITING_FOR_CAPTURE, "authorized_at": now}
    if target is A.CANCELED and (payment.status is P.WAITING_FOR_CAPTURE or
                                 payment.pending_operation == "cancel"):
        # A hold released (by the merchant, or lapsed), or a cancel the merchant asked for.
        ended: dict[str, object] = {"status": P.CANCELED, "pending_operation": None,
                                    "pending_amount": None, "pending_items": None}
        if payment.pending_operation != "cancel":
            # Nobody here asked: the acquirer let the hold lapse before our own release.
            ended["last_error_code"] = HOLD_EXPIRED
        return ended
    if target in (A.FAILED, A.EXPIRED):
        # Our own vocabulary for the merchant; the acquirer's code stays on the attempt.
        if snap.error_code == METHOD_UNAVAILABLE:
            return {"last_error_code": METHOD_UNAVAILABLE}  # the account's doing, not a decline
        return {"last_error_code": "declined" if target is A.FAILED else "expired"}
    return {}


async def give_back(ctx: FlowContext, attempt: Attempt, snap: Snapshot | None = None) -> None:
    """Return money the buyer should not have paid: refund a capture, release a hold.

    Idempotent (the keys derive from the attempt); the reconciler calls it again until done.
    """
    assert attempt.acquirer_ref
    driver = await ctx.driver(attempt)
    async with ctx.db.reader() as conn:
        payment = await repo.payment(conn, attempt.payment_id)
    assert payment is not None
    try:
        if attempt.debt is Debt.REFUND_DUE:
            amount = snap.captured_amount if snap and snap.captured_amount else payment.amount
            done = False
            if not driver.capabilities.idempotent_refunds:
                # An acquirer that forgets keys (TBC) is asked first whether it already did
                # it, once it is not still running a cancel (its total is settled then).
                there = await driver.fetch(attempt.acquirer_ref)
                if there.settling:
                    return
                done = (there.refunded_amount or 0) - (attempt.returned_baseline or 0) >= amount
            if not done:
                # The refund receipt of what goes back, where the payment has one.
                part = part_of(items_from_json(payment.items) or (), amount)
                await driver.refund(attempt.acquirer_ref, Money(amount, payment.currency),
                                    f"{attempt.id}:give-back",
                                    receipt_of(ctx, payment, part) if part else None)
            settled = Debt.REFUNDED
        else:
            await driver.cancel(attempt.acquirer_ref, f"{attempt.id}:give-back")
            settled = Debt.RELEASED
    except AcquirerError as err:
        log.warning("giving money back failed, will retry: %s", err.detail,
                    extra={"attempt_id": attempt.id})
        return

    async def settle(tx: cas.Versioned) -> None:
        current = await repo.attempt(tx.conn, attempt.id)
        if current is not None and current.debt is attempt.debt:
            await tx.attempt(current, debt=settled)
    await cas.write(ctx, "settle a given-back payment", settle, attempt_id=attempt.id)
    log.warning("money of a second payment given back (%s)", settled,
                extra={"attempt_id": attempt.id, "payment_id": attempt.payment_id})


# ---- inbound webhooks ------------------------------------------------------------------------

async def receive_notice(ctx: FlowContext, acquirer: str, notice: Notice, body: bytes,
                         account_id: str | None = None) -> str:
    """Record a verified webhook, then apply it. Returns what happened, for the log. It was
    verified with the keys of `account_id` (None: the deployment's own account), so only that
    account's payments may take it.

    An unsigned hint ("look at this payment", anyone can send one) costs us a read at the
    acquirer, so per payment and per `unsigned_hint_window_seconds` the first is acted on at
    once and all the others become one deferred hint, which the reconciler reads a little
    later (so news that came in a burst is not lost). Only the first `unsigned_body_bytes` of
    a hint are kept."""
    if notice.fiscal is not None:
        return await _record_fiscal(ctx, acquirer, notice, notice.record or body, account_id)
    now = ctx.now()
    dedup_key = notice.dedup_key
    # The stored body is for the record: a token in it would be a usable secret in clear.
    body = notice.record or body
    if notice.snapshot is not None and notice.snapshot.recurrent_token:
        body = body.replace(notice.snapshot.recurrent_token.encode(), REDACTED.encode())
    if notice.snapshot is None:
        window = max(ctx.settings.unsigned_hint_window_seconds, 0.001)
        dedup_key = f"{dedup_key}:{int(now.timestamp() // window)}"
        body = body[:ctx.settings.unsigned_body_bytes]
    fetched = None
    lost_start = False
    if notice.snapshot is None:  # signed news names our attempt itself, if it must
        async with ctx.db.reader() as conn:
            lost_start = await repo.attempt_by_ref(conn, acquirer, notice.ref) is None and \
                await repo.has_unanswered_starts(conn, acquirer, since=now - timedelta(
                    seconds=2 * ctx.settings.attempt_ttl_seconds))
    if lost_start:
        # A hint about a session we do not know, while a start of ours at this acquirer has
        # no answer: it may be that start's session. Its own (authenticated) answer says.
        try:
            fetched = await (await ctx.drivers.get(acquirer, account_id)).fetch(notice.ref)
        except AcquirerError:
            fetched = None
    if notice.snapshot is not None:
        return await _record_and_apply(ctx, acquirer, notice, notice.snapshot, body,
                                       dedup_key, account_id)
    async with ctx.db.transaction() as conn:
        hint = fetched.attempt_hint if fetched is not None else ""
        if fetched is not None and not hint:
            hint = await _lost_charge(conn, acquirer, account_id, fetched)
        attempt, _ = await _attempt_of(conn, acquirer, notice.ref, hint, account_id)
        event_id = await repo.record_event(conn, acquirer=acquirer, dedup_key=dedup_key,
                                           ref=notice.ref, event_type=notice.event_type,
                                           body=body, now=now)
        if event_id is None:
            later = await repo.record_event(conn, acquirer=acquirer,
                                            dedup_key=f"{dedup_key}:later", ref=notice.ref,
                                            event_type=notice.event_type, body=body, now=now)
            if later is not None:
                return "deferred"  # left unapplied: `jobs.reconcile_once` replays it
    if event_id is None:
        return "duplicate"
    snap = fetched or await (await ctx.driver(attempt)).fetch(notice.ref)
    result = await apply_snapshot(ctx, attempt.id, snap, follow_later=True)
    async with ctx.db.transaction() as conn:
        await repo.mark_event(conn, event_id, result.outcome, ctx.now())
    return result.outcome


async def _record_and_apply(ctx: FlowContext, acquirer: str, notice: Notice, snap: Snapshot,
                            body: bytes, dedup_key: str, account_id: str | None) -> str:
    """Signed news carries its own snapshot: applied, and recorded with what that did, in one
    transaction. A crash before the commit leaves nothing, and the acquirer, unanswered,
    sends it again; what the news makes due runs after the commit, as `apply_snapshot`'s."""
    async def step(tx: cas.Versioned) -> Applied:
        read = await _attempt_of(tx.conn, acquirer, notice.ref, notice.attempt_hint,
                                 account_id)
        applied = await _apply_once(ctx, tx, read[0].id, snap, None, read=read)
        # Recorded with what it did, in one statement; news the acquirer sent before undoes
        # the whole transaction instead (rare: a retry of a webhook we answered).
        if await repo.record_event(tx.conn, acquirer=acquirer, dedup_key=dedup_key,
                                   ref=notice.ref, event_type=notice.event_type, body=body,
                                   now=tx.now, outcome=applied.outcome) is None:
            raise _HeardBefore
        return applied
    try:
        result = await cas.write(ctx, "record and apply the acquirer's news", step,
                                 ref=notice.ref)
    except _HeardBefore:
        return "duplicate"
    await _noted(ctx, result.attempt.id, snap, result)
    ctx.later(_what_follows(ctx, result.attempt.id, snap, result),
              "what the acquirer's news made due", attempt_id=result.attempt.id)
    return result.outcome


async def _record_fiscal(ctx: FlowContext, acquirer: str, notice: Notice, body: bytes,
                         account_id: str | None) -> str:
    """Signed news of the payment's fiscal receipt only (T-Bank's `RECEIPT`): the session's
    state is not in it, so nothing is fetched; recorded and applied in one transaction."""
    async def step(tx: cas.Versioned) -> str:
        _, payment = await _attempt_of(tx.conn, acquirer, notice.ref, "", account_id)
        changes = fiscal_changes(payment, notice.fiscal)
        if changes:
            await tx.payment(payment, **changes)
            tx.told = await tell_registered(ctx, tx, payment, tx.payments[payment.id])
        outcome = "applied" if changes else "unchanged"
        if await repo.record_event(tx.conn, acquirer=acquirer, dedup_key=notice.dedup_key,
                                   ref=notice.ref, event_type=notice.event_type, body=body,
                                   now=tx.now, outcome=outcome) is None:
            raise _HeardBefore
        return outcome
    try:
        return await cas.write(ctx, "note the fiscal receipt", step, ref=notice.ref)
    except _HeardBefore:
        return "duplicate"


async def _lost_charge(conn: Conn, acquirer: str, account_id: str | None,
                       snap: Snapshot) -> str:
    """The attempt a session we do not know is, by what the acquirer's own answer shows of it
    (its amount), when it echoes no id of ours (TBC's GET): a saved method's charge whose
    answer was lost, the only one still waiting for that amount. Two such: a person decides
    (both stay watched; the news is kept in the inbox)."""
    if snap.amount is None or not snap.currency or snap.state not in (
            SessionState.SUCCEEDED, SessionState.AUTHORIZED, SessionState.FAILED):
        # Only a charge's outcome: a page payment whose own answer was lost ends expired
        # (nobody saw its page), and must not be taken for a charge of the same amount.
        return ""
    found = await repo.unanswered_charges(conn, acquirer, account_id, snap.amount,
                                          snap.currency)
    if len(found) > 1:
        log.error("%s session %s may be any of several saved-method charges whose answers were "
                  "lost: left for a person", acquirer, snap.ref,
                  extra={"attempt_id": ",".join(found)})
        return ""
    return found[0] if found else ""


class _HeardBefore(Exception):
    """The acquirer's news is in the inbox already: what applying it again did is undone."""


async def _attempt_of(conn: Conn, acquirer: str, ref: str, hint: str,
                      account_id: str | None) -> tuple[Attempt, Payment]:
    """The attempt a notice is about, with its payment: by the acquirer's session id, or, for
    news that overtook our start call or came after its answer was lost, by the attempt the
    signed metadata (or the acquirer's own answer) names."""
    found = await repo.attempt_and_payment_by_ref(conn, acquirer, ref)
    if found is None and hint:
        hinted = await repo.attempt_and_payment(conn, hint)
        # Its session may have been tied to it between the two reads (PostgreSQL reads each
        # statement afresh): the same session is still this attempt.
        if hinted and hinted[0].acquirer == acquirer and hinted[0].acquirer_ref in (None, ref):
            found = hinted
    if found is None:
        raise NotFound(f"no attempt for {acquirer} session {ref}")
    if found[0].acquirer_account_id != account_id:
        # Verified with this account's keys, about a session of another account: no account
        # speaks for another's payments.
        raise NotFound(f"no attempt for {acquirer} session {ref} on this account")
    return found


# ---- the merchant's recorded operation -----------------------------------------------------

async def perform_pending(ctx: FlowContext, payment_id: str, raise_errors: bool = False
                          ) -> Applied | None:
    """Call the acquirer for the operation recorded on the payment, and apply its answer."""
    async with ctx.db.reader() as conn:
        found = await repo.payment_and_latest_attempt(conn, payment_id)
    if found is None:
        return None
    payment, attempt = found
    if not payment.pending_operation or attempt is None or not attempt.acquirer_ref:
        return None
    driver = await ctx.driver(attempt)
    key = f"{attempt.id}:{payment.pending_operation}"
    try:
        if payment.pending_operation == "capture":
            assert payment.pending_amount is not None
            part = items_from_json(payment.pending_items)
            snap = await driver.capture(attempt.acquirer_ref,
                                        Money(payment.pending_amount, payment.currency), key,
                                        receipt_of(ctx, payment, part) if part else None)
        else:
            snap = await driver.cancel(attempt.acquirer_ref, key)
    except AcquirerError as err:
        log.warning("%s failed: %s", payment.pending_operation, err.detail,
                    extra={"payment_id": payment_id})
        if err.temporary:
            if raise_errors:
                raise
            return None
        # The acquirer refuses: learn where the session really is, and forget the operation.
        snap = await driver.fetch(attempt.acquirer_ref)
        await _forget_operation(ctx, payment_id)
        result = await apply_snapshot(ctx, attempt.id, snap)
        if raise_errors:
            raise Conflict(f"the acquirer refused the {payment.pending_operation}: "
                           f"{err.detail}") from err
        return result
    watch = None
    if payment.pending_operation == "cancel" and snap.state in (
            SessionState.AWAITING_BUYER, SessionState.PROCESSING, SessionState.NEEDS_CONFIRM):
        # Acquirers with their own page cannot cancel what nobody has paid yet: there it just
        # runs out. It ends here; the attempt stays watched, and a late payment is given back.
        snap = Snapshot(snap.ref, SessionState.CANCELED, error_code=CANCELED_BY_MERCHANT,
                        error_message="canceled by the merchant before the buyer paid")
        watch = Watch.CANCELED_HERE
    if snap.state is SessionState.SUCCEEDED and payment.pending_operation == "cancel":
        # The buyer approved before our cancel landed: the money is taken; say so.
        await _forget_operation(ctx, payment_id)
    return await apply_snapshot(ctx, attempt.id, snap, watch)


async def _forget_operation(ctx: FlowContext, payment_id: str) -> None:
    async def forget(tx: cas.Versioned) -> None:
        payment = await repo.payment(tx.conn, payment_id)
        if payment is not None and payment.pending_operation is not None:
            await tx.payment(payment, pending_operation=None, pending_amount=None,
                             pending_items=None)
    await cas.write(ctx, "forget the merchant's operation", forget, payment_id=payment_id)


