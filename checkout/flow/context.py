"""What every use-case needs, handed over explicitly instead of read from globals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from checkout.acquirers.base import Acquirer, Capabilities
from checkout.drivers import AcquirerPackage, Drivers, Wiring, capabilities_of
from checkout.flow.versions import VersionCache
from checkout.settings import Settings
from checkout.store.db import Database
from checkout.store.records import Payment
from checkout.vault import Vault, vault_for

log = logging.getLogger("checkout.flow")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Holder(Protocol):
    """A record made on one acquirer account: a payment, an attempt, a saved method."""

    @property
    def acquirer(self) -> str: ...

    @property
    def acquirer_account_id(self) -> str | None: ...


@dataclass
class FlowContext:
    db: Database
    settings: Settings
    acquirers: dict[str, Acquirer]  # the deployment's own: one per acquirer configured
    versions: VersionCache
    # Where the acquirer sends the buyer back to: our checkout page for a payment id. The web
    # layer owns URLs, so it hands this in.
    checkout_url: Callable[[Payment], str]
    now: Callable[[], datetime] = field(default=utcnow)
    # Called after a commit that wrote merchant events: wakes the delivery worker.
    outbox_written: Callable[[], None] = field(default=lambda: None)
    # Where each acquirer's deployment settings come from (the environment, the sandbox),
    # and how a driver is wired: for the drivers of merchants' own accounts.
    bases: dict[str, dict[str, Any]] = field(default_factory=dict)
    wiring: Callable[[AcquirerPackage, str | None], Wiring] | None = None
    drivers: Drivers = field(init=False)
    # Acquirer calls this process is making now, by what they do ("<attempt id>:confirm"),
    # each set once its answer is applied: news that makes one due while it is under way
    # waits for that rather than making it again.
    calling: dict[str, asyncio.Event] = field(default_factory=dict)
    # Work started by `later`, until it ends.
    _later: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        def no_wiring(package: AcquirerPackage, account_id: str | None) -> Wiring:
            raise ValueError("this context builds no driver")
        self.drivers = Drivers(db=self.db, vault=lambda: self.vault, defaults=self.acquirers,
                               bases=self.bases, wiring=self.wiring or no_wiring)

    def later(self, work: Coroutine[Any, Any, object], what: str, **ids: str) -> None:
        """Do `work` after the caller has answered. An acquirer's webhook is acknowledged as
        soon as its news is stored, not after the confirm or capture it made due: the bank
        sends a bounded number of webhooks at once, each waiting for our answer, and past
        capacity that wait was the queue everything stood in. Work cut short (a crash, a
        stop) is found undone by the reconciler: an operation still pending, a session
        still to confirm, money still owed."""
        task = asyncio.create_task(self._do_later(work, what, ids))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _do_later(self, work: Coroutine[Any, Any, object], what: str,
                        ids: dict[str, str]) -> None:
        try:
            await work
        except Exception:  # logged; the reconciler does it again
            log.exception("%s failed after the answer; left for the reconciler", what,
                          extra=ids)

    async def finish_later(self, grace_seconds: float) -> None:
        """At a stop: let work begun by `later` finish, for up to `grace_seconds`."""
        if not self._later:
            return
        _, late = await asyncio.wait(set(self._later), timeout=grace_seconds)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def capabilities(self, acquirer: str) -> Capabilities:
        """What an acquirer can do whatever the account (partial captures and refunds, its
        family); what a contract decides (saved methods) is its driver's."""
        driver = self.acquirers.get(acquirer)
        return driver.capabilities if driver else capabilities_of(acquirer)

    async def driver(self, record: Holder) -> Acquirer:
        """The driver of the account `record` was made on."""
        return await self.drivers.get(record.acquirer, record.acquirer_account_id)

    @property
    def work_lease(self) -> timedelta:
        """How long a piece of work may hold what it claimed (a background job, a merchant's
        request under its Idempotency-Key) before it counts as dead: longer than several
        acquirer calls can take."""
        return timedelta(seconds=4 * self.settings.acquirer_timeout_seconds + 30)

    @property
    def vault(self) -> Vault:
        """Seals and opens the secrets we store (recurrent tokens)."""
        return vault_for(self.settings.secret_keys)
