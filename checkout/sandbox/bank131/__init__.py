"""Emulator of the Bank 131 / Smart Glocal session API and its simulated T-Bank app: one
protocol, two hosts, two emulators."""

from __future__ import annotations

from typing import Any

from checkout.sandbox.bank131 import routes
from checkout.sandbox.bank131.emulator import Bank131Emulator, EmulatorConfig
from checkout.sandbox.package import DemoMerchant, EmulatorPackage, Setup, own_account_url, second

PROJECT = "sandbox-project"
PROJECT2 = "sandbox-project-2"  # the second demo merchant's own
HOSTS = ("bank131", "smartglocal")
SECOND = {name: second(name, title, "RUB")
          for name, title in (("bank131", "Bank 131"), ("smartglocal", "Smart Glocal"))}


def _make(setup: Setup) -> list[Any]:
    return [Bank131Emulator(EmulatorConfig(
        public_url=setup.public_url, webhook_url=setup.webhook_urls[name], project=PROJECT,
        partner_public_pem=setup.keys.partner.public_pem,
        bank_private_pem=setup.keys.bank.private_pem, db_path=setup.state_dir / f"{name}.db",
        session_ttl_seconds=setup.session_ttl_seconds, auto_confirm=setup.auto_confirm,
        delayed_capture=setup.delayed_capture, hold_seconds=setup.hold_seconds or 7 * 24 * 3600,
        slow=setup.slow, webhooks=setup.webhooks,
        other_projects={PROJECT2: (setup.keys.partner2.public_pem,
                                   own_account_url(setup, SECOND[name]))}),
        setup.client, setup.faults, name)
        for name in HOSTS]


def _endpoint(emulator: Bank131Emulator, setup: Setup) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "base_url": f"{setup.public_url}/sandbox/{emulator.name}/api/v1/", "project": PROJECT,
        "private_key_pem": setup.keys.partner.private_pem,
        "acquirer_public_key_pem": setup.keys.bank.public_pem}
    if emulator.name == "smartglocal":
        conf["session_flow"] = "create_start"  # so both shapes of the start stay tested
    return conf


def _account(merchant: DemoMerchant, setup: Setup) -> dict[str, str]:
    return {"project": PROJECT2, "private_key": setup.keys.partner2.private_pem.decode(),
            "public_key": setup.keys.bank.public_pem.decode()}


EMULATOR = EmulatorPackage(
    make=_make, endpoint=_endpoint, routes=routes.routes, demo_merchants=(
        DemoMerchant("bank131", "mer_demo", "sk_test_demo", "Bank 131", "RUB"),
        DemoMerchant("smartglocal", "mer_demo_smartglocal", "sk_test_demo_smartglocal",
                     "Smart Glocal", "RUB"), *SECOND.values()), account=_account)
