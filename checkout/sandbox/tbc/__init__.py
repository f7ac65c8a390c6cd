"""Emulator of TBC's TPay e-commerce API and of TBC's payment page."""

from __future__ import annotations

from typing import Any

from checkout.sandbox.package import DemoMerchant, EmulatorPackage, Setup, second
from checkout.sandbox.tbc import routes
from checkout.sandbox.tbc.emulator import TbcConfig, TbcEmulator

API_KEY = "sandbox-apikey"
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - the sandbox's, deliberately public
# The second demo merchant's own developer app and client.
API_KEY2, CLIENT_ID2, CLIENT_SECRET2 = "sandbox-apikey-2", "sandbox-client-2", \
    "sandbox-client-secret-2"


def _make(setup: Setup) -> list[Any]:
    return [TbcEmulator(TbcConfig(
        public_url=setup.public_url, api_key=API_KEY, client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET, db_path=setup.state_dir / "tbc.db",
        callbacks=setup.webhooks, other_clients={CLIENT_ID2: (API_KEY2, CLIENT_SECRET2)}),
        setup.client, setup.faults)]


def _endpoint(emulator: TbcEmulator, setup: Setup) -> dict[str, Any]:
    return {"base_url": f"{setup.public_url}/sandbox/tbc/v1/tpay/", "api_key": API_KEY,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            # The emulator calls back from here, as TBC does from its published addresses.
            "callback_networks": "127.0.0.0/8,::1/128"}


def _account(merchant: DemoMerchant, setup: Setup) -> dict[str, str]:
    return {"api_key": API_KEY2, "client_id": CLIENT_ID2, "client_secret": CLIENT_SECRET2}


EMULATOR = EmulatorPackage(
    make=_make, endpoint=_endpoint, routes=routes.routes, demo_merchants=(
        # TBC's buyers are in Georgia.
        DemoMerchant("tbc", "mer_demo_tbc", "sk_test_demo_tbc", "TBC Bank", "GEL", "ka"),
        second("tbc", "TBC Bank", "GEL", "ka")), account=_account)
