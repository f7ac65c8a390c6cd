"""Emulator of YooKassa's API (payment method `tinkoff_bank`) and of YooMoney's page."""

from __future__ import annotations

from typing import Any

from checkout.sandbox.package import DemoMerchant, EmulatorPackage, Setup, own_account_url, second
from checkout.sandbox.yookassa import routes
from checkout.sandbox.yookassa.emulator import YooKassaConfig, YooKassaEmulator

SHOP_ID = "100500"
SECRET = "test_sandbox_secret_key"  # noqa: S105 - the sandbox's, deliberately public
# The second demo merchant's own shop.
SHOP2_ID, SECRET2 = "100501", "test_sandbox_secret_key_2"
SECOND = second("yookassa", "YooKassa", "RUB")
# A shop with receipts on (a cash register through YooKassa), and its demo merchant.
SHOP3_ID, SECRET3 = "100502", "test_sandbox_secret_key_3"
RECEIPTS = DemoMerchant("yookassa", "mer_demo_receipts_yookassa",
                        "sk_test_demo_receipts_yookassa", "YooKassa (receipts)", "RUB",
                        account_id="acct_demo_receipts_yookassa")


def _make(setup: Setup) -> list[Any]:
    return [YooKassaEmulator(YooKassaConfig(
        public_url=setup.public_url, webhook_url=setup.webhook_urls["yookassa"],
        shop_id=SHOP_ID, secret_key=SECRET, db_path=setup.state_dir / "yookassa.db",
        pay_seconds=setup.session_ttl_seconds, hold_seconds=setup.hold_seconds or 7 * 24 * 3600,
        webhooks=setup.webhooks,
        other_shops={SHOP2_ID: (SECRET2, own_account_url(setup, SECOND)),
                     SHOP3_ID: (SECRET3, own_account_url(setup, RECEIPTS))},
        fiscal_shops=frozenset({SHOP3_ID})),
        setup.client, setup.faults)]


def _endpoint(emulator: YooKassaEmulator, setup: Setup) -> dict[str, Any]:
    return {"base_url": f"{setup.public_url}/sandbox/yookassa/v3/", "shop_id": SHOP_ID,
            "secret_key": SECRET,
            # The emulator notifies from here, as YooKassa does from its own networks.
            "notification_networks": ("127.0.0.0/8", "::1/128")}


def _account(merchant: DemoMerchant, setup: Setup) -> dict[str, str]:
    if merchant == RECEIPTS:
        return {"shop_id": SHOP3_ID, "secret_key": SECRET3}
    return {"shop_id": SHOP2_ID, "secret_key": SECRET2}


EMULATOR = EmulatorPackage(
    make=_make, endpoint=_endpoint, routes=routes.routes, demo_merchants=(
        DemoMerchant("yookassa", "mer_demo_yookassa", "sk_test_demo_yookassa", "YooKassa",
                     "RUB"), SECOND, RECEIPTS), account=_account)
