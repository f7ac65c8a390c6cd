"""The whole sandbox: the emulators of every emulator package, their shared fault book, their
credentials.

`Sandbox.endpoints()` tells the app where each emulated acquirer lives and with which keys,
in the same terms production configuration uses, so the real drivers talk to them unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from checkout.sandbox import keys as sandbox_keys
from checkout.sandbox import registry
from checkout.sandbox.faults import FaultBook
from checkout.sandbox.package import EmulatorPackage, Setup


class Sandbox:
    def __init__(self, *, public_url: str, data_dir: Path, client: httpx.AsyncClient,
                 session_ttl_seconds: int, hold_seconds: int | None, auto_confirm: bool,
                 delayed_capture: bool, webhooks: bool, slow: dict[str, float],
                 webhook_paths: dict[str, str], notify_url: str = "") -> None:
        self.public_url = public_url
        self.faults = FaultBook()
        self.keys = sandbox_keys.load_or_create(data_dir)
        # Where the acquirers' webhooks go: the checkout, or the balancer in front of several.
        notify_url = notify_url or public_url
        self._setup = Setup(
            public_url=public_url,
            webhook_urls={name: notify_url + path for name, path in webhook_paths.items()},
            state_dir=data_dir / "sandbox", client=client, faults=self.faults, keys=self.keys,
            session_ttl_seconds=session_ttl_seconds, hold_seconds=hold_seconds,
            auto_confirm=auto_confirm, delayed_capture=delayed_capture, webhooks=webhooks,
            slow=slow)
        self.emulators: dict[str, Any] = {}
        self._package_of: dict[str, EmulatorPackage] = {}
        for package in registry.PACKAGES:
            for emulator in package.make(self._setup):
                self.emulators[emulator.name] = emulator
                self._package_of[emulator.name] = package

    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Per acquirer: where its API is and the credentials it expects (all of them public
        sandbox secrets: `/sandbox/credentials` hands them to instances sharing this sandbox)."""
        return {name: self._package_of[name].endpoint(emulator, self._setup)
                for name, emulator in self.emulators.items()}

    def own_accounts(self) -> dict[str, dict[str, str]]:
        """The demo merchants' own acquirer accounts: account id -> its settings, as its
        merchant would enter them in the console."""
        return {merchant.account_id: package.account(merchant, self._setup)
                for package in registry.PACKAGES for merchant in package.demo_merchants
                if merchant.account_id}

    async def start(self) -> None:
        for emulator in self.emulators.values():
            await emulator.start()

    async def stop(self) -> None:
        for emulator in self.emulators.values():
            await emulator.stop()
