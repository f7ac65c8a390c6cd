"""What every use-case needs, handed over explicitly instead of read from globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from checkout.acquirers.base import Acquirer
from checkout.flow.versions import VersionCache
from checkout.settings import Settings
from checkout.store.db import Database
from checkout.store.records import Payment
from checkout.vault import Vault, vault_for


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class FlowContext:
    db: Database
    settings: Settings
    acquirers: dict[str, Acquirer]
    versions: VersionCache
    # Where the acquirer sends the buyer back to: our checkout page for a payment id. The web
    # layer owns URLs, so it hands this in.
    checkout_url: Callable[[Payment], str]
    now: Callable[[], datetime] = field(default=utcnow)
    # Called after a commit that wrote merchant events: wakes the delivery worker.
    outbox_written: Callable[[], None] = field(default=lambda: None)

    def acquirer(self, name: str) -> Acquirer:
        return self.acquirers[name]

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
