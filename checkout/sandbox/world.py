"""The whole sandbox: one emulator per acquirer, their shared fault book, their credentials.

`Sandbox.endpoints()` tells the app where each emulated acquirer lives and with which keys,
in the same terms production configuration uses, so the real drivers talk to them unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import httpx

from checkout.sandbox import keys as sandbox_keys
from checkout.sandbox.bank131.emulator import Bank131Emulator, EmulatorConfig
from checkout.sandbox.faults import FaultBook
from checkout.sandbox.tbc.emulator import TbcConfig, TbcEmulator
from checkout.sandbox.yookassa.emulator import YooKassaConfig, YooKassaEmulator

BANK131_PROJECT = "sandbox-project"
YOOKASSA_SHOP_ID = "100500"
YOOKASSA_SECRET = "test_sandbox_secret_key"  # noqa: S105 - the sandbox's, deliberately public
TBC_API_KEY = "sandbox-apikey"
TBC_CLIENT_ID = "sandbox-client"
TBC_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105 - the sandbox's, deliberately public


class Emulator(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class Sandbox:
    def __init__(self, *, public_url: str, data_dir: Path, client: httpx.AsyncClient,
                 session_ttl_seconds: int, hold_seconds: int, auto_confirm: bool,
                 delayed_capture: bool, webhooks: bool, slow: dict[str, float],
                 notify_url: str = "") -> None:
        self.public_url = public_url
        # Where the acquirers' webhooks go: the checkout, or the balancer in front of several.
        notify_url = notify_url or public_url
        self.faults = FaultBook()
        self.keys = sandbox_keys.load_or_create(data_dir)
        state = data_dir / "sandbox"

        def bank131_like(name: str) -> Bank131Emulator:
            return Bank131Emulator(EmulatorConfig(
                public_url=public_url, webhook_url=f"{notify_url}/webhooks/{name}",
                project=BANK131_PROJECT, partner_public_pem=self.keys.partner.public_pem,
                bank_private_pem=self.keys.bank.private_pem, db_path=state / f"{name}.db",
                session_ttl_seconds=session_ttl_seconds, auto_confirm=auto_confirm,
                delayed_capture=delayed_capture, hold_seconds=hold_seconds, slow=slow,
                webhooks=webhooks), client, self.faults, name)

        self.bank131 = bank131_like("bank131")
        self.smartglocal = bank131_like("smartglocal")
        self.yookassa = YooKassaEmulator(YooKassaConfig(
            public_url=public_url, webhook_url=f"{notify_url}/webhooks/yookassa",
            shop_id=YOOKASSA_SHOP_ID, secret_key=YOOKASSA_SECRET,
            db_path=state / "yookassa.db", pay_seconds=session_ttl_seconds,
            hold_seconds=hold_seconds, webhooks=webhooks), client, self.faults)
        self.tbc = TbcEmulator(TbcConfig(
            public_url=public_url, api_key=TBC_API_KEY, client_id=TBC_CLIENT_ID,
            client_secret=TBC_CLIENT_SECRET, db_path=state / "tbc.db", callbacks=webhooks),
            client, self.faults)
        self.emulators: dict[str, Any] = {
            e.name: e for e in (self.bank131, self.smartglocal, self.yookassa, self.tbc)}

    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Per acquirer: where its API is and the credentials it expects (all of them public
        sandbox secrets: `/sandbox/credentials` hands them to instances sharing this sandbox)."""
        base = self.public_url + "/sandbox"
        bank131_like = {"project": BANK131_PROJECT,
                        "private_key_pem": self.keys.partner.private_pem,
                        "acquirer_public_key_pem": self.keys.bank.public_pem}
        return {
            "bank131": {"base_url": f"{base}/bank131/api/v1/", **bank131_like},
            # Smart Glocal's sandbox takes the two-call start, so both shapes stay tested.
            "smartglocal": {"base_url": f"{base}/smartglocal/api/v1/", **bank131_like,
                            "session_flow": "create_start"},
            "yookassa": {"base_url": f"{base}/yookassa/v3/", "shop_id": YOOKASSA_SHOP_ID,
                         "secret_key": YOOKASSA_SECRET,
                         # The emulator notifies from here, as YooKassa does from its own.
                         "notification_networks": ("127.0.0.0/8", "::1/128")},
            "tbc": {"base_url": f"{base}/tbc/v1/tpay/", "api_key": TBC_API_KEY,
                    "client_id": TBC_CLIENT_ID, "client_secret": TBC_CLIENT_SECRET},
        }

    def tpay_owner(self, tpay_id: str) -> Bank131Emulator | None:
        """Which Bank 131-like emulator issued a T-Pay link (both share the T-Bank app)."""
        for emulator in (self.bank131, self.smartglocal):
            if emulator.app_view(tpay_id) is not None:
                return emulator
        return None

    async def start(self) -> None:
        for emulator in self.emulators.values():
            await emulator.start()

    async def stop(self) -> None:
        for emulator in self.emulators.values():
            await emulator.stop()
