"""What an emulator package declares about itself, so that the sandbox names no acquirer.

Each package under `checkout.sandbox` that emulates an acquirer exposes one `EmulatorPackage`:
the emulators it builds (Bank 131's builds two: one protocol, two hosts), the routes of their
APIs and their buyers' pages, and the demo merchants that pay through them.
`checkout.sandbox.registry.PACKAGES` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import Route

from checkout.sandbox.faults import FaultBook
from checkout.sandbox.keys import SandboxKeys


@dataclass(frozen=True)
class DemoMerchant:
    """A sandbox merchant, seeded at start, paying through one emulated acquirer."""

    acquirer: str
    merchant_id: str
    api_key: str  # public by design: a sandbox key, refused by production
    title: str  # the acquirer, as the demo shop's picker shows it
    currency: str  # what the demo shop sells in there
    language: str = ""  # the merchant's default page language
    # Its own acquirer account at the emulator (credentials: `EmulatorPackage.account`), as a
    # merchant with its own contract has; "": the sandbox's default account.
    account_id: str = ""


@dataclass(frozen=True)
class Setup:
    """What every emulator is built with."""

    public_url: str  # where the sandbox's pages are (the T-Bank app, acquirers' pages)
    webhook_urls: dict[str, str]  # per acquirer: where its webhooks go
    state_dir: Path  # each emulator keeps its sessions in a file here
    client: httpx.AsyncClient
    faults: FaultBook
    keys: SandboxKeys
    session_ttl_seconds: int
    hold_seconds: int | None  # None: each emulated acquirer's own hold window
    auto_confirm: bool
    delayed_capture: bool
    webhooks: bool
    slow: dict[str, float]


@dataclass(frozen=True)
class EmulatorPackage:
    make: Callable[[Setup], list[Any]]  # its emulators, each with a unique `name`
    # An emulator's address and credentials, in the terms production settings use for the
    # real acquirer, so the real driver talks to it unchanged.
    endpoint: Callable[[Any, Setup], dict[str, Any]]
    routes: list[Route]  # its API and its buyer's pages
    demo_merchants: tuple[DemoMerchant, ...]
    # A demo merchant's own account: its settings as the merchant enters them in the console
    # (the emulator knows them, and notifies that account's webhook path).
    account: Callable[[DemoMerchant, Setup], dict[str, str]] = lambda merchant, setup: {}


def own_account_url(setup: Setup, merchant: DemoMerchant) -> str:
    """Where the emulator notifies a demo merchant's own account (the acquirer's dashboard
    setting, for acquirers that are not told per call)."""
    return f"{setup.webhook_urls[merchant.acquirer]}/{merchant.account_id}"


def second(acquirer: str, title: str, currency: str, language: str = "") -> DemoMerchant:
    """The second demo merchant of an acquirer: the same emulator, its own account."""
    return DemoMerchant(acquirer, f"mer_demo2_{acquirer}", f"sk_test_demo2_{acquirer}",
                        f"{title} (own account)", currency, language,
                        account_id=f"acct_demo2_{acquirer}")
