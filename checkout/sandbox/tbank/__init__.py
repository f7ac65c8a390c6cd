"""Emulator of T-Bank's own Internet Acquiring (API v2, "eacq") for T-Pay; the buyer approves
in the shared simulated T-Bank app."""

from __future__ import annotations

from typing import Any

from checkout.sandbox.package import DemoMerchant, EmulatorPackage, Setup, second
from checkout.sandbox.tbank import routes
from checkout.sandbox.tbank.emulator import PUBLIC_TERMINALS, TbankConfig, TbankEmulator

# The sandbox uses T-Bank's own public test terminal, so T-Bank's examples work against it.
TERMINAL_KEY, PASSWORD = next(iter(PUBLIC_TERMINALS.items()))
# The second demo merchant's own terminal.
TERMINAL2, PASSWORD2 = "SandboxTerminal2DEMO", "sandbox-terminal-2-password"
# A terminal with an online cash register (FFD 1.2), and its demo merchant.
TERMINAL3, PASSWORD3 = "SandboxReceiptsDEMO", "sandbox-receipts-password"
RECEIPTS = DemoMerchant("tbank", "mer_demo_receipts_tbank", "sk_test_demo_receipts_tbank",
                        "T-Bank (receipts)", "RUB", account_id="acct_demo_receipts_tbank")


def _make(setup: Setup) -> list[Any]:
    return [TbankEmulator(TbankConfig(
        public_url=setup.public_url, db_path=setup.state_dir / "tbank.db",
        terminals={**PUBLIC_TERMINALS, TERMINAL2: PASSWORD2, TERMINAL3: PASSWORD3},
        cash_registers={TERMINAL3: "1.2"}, hold_seconds=setup.hold_seconds,
        notifications=setup.webhooks), setup.client, setup.faults)]


def _endpoint(emulator: TbankEmulator, setup: Setup) -> dict[str, Any]:
    return {"base_url": f"{setup.public_url}/sandbox/tbank/v2/", "terminal_key": TERMINAL_KEY,
            "password": PASSWORD,
            "recurring": "true",  # unconfirmed for real T-Pay; the sandbox shows how it goes
            # The emulator notifies from here, as T-Bank does from its own networks.
            "notification_networks": "127.0.0.0/8,::1/128"}


def _account(merchant: DemoMerchant, setup: Setup) -> dict[str, str]:
    if merchant == RECEIPTS:
        return {"terminal_key": TERMINAL3, "password": PASSWORD3, "receipts": "required",
                "ffd_version": "1.2"}
    return {"terminal_key": TERMINAL2, "password": PASSWORD2, "recurring": "true"}


EMULATOR = EmulatorPackage(
    make=_make, endpoint=_endpoint, routes=routes.routes, demo_merchants=(
        DemoMerchant("tbank", "mer_demo_tbank", "sk_test_demo_tbank", "T-Bank", "RUB"),
        second("tbank", "T-Bank", "RUB"), RECEIPTS), account=_account)
