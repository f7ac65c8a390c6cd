"""YooKassa, payment method `tinkoff_bank`: the buyer is sent to YooMoney's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checkout.acquirers.base import RECEIPT_MODES
from checkout.acquirers.package import AcquirerPackage, Setting, Wiring, choice
from checkout.acquirers.yookassa.driver import (
    AUTO,
    CAPABILITIES,
    YOOKASSA_NETWORKS,
    YooKassaDriver,
)

API_URL = "https://api.yookassa.ru/v3/"


def _build(conf: Mapping[str, Any], wiring: Wiring) -> YooKassaDriver:
    networks = conf.get("notification_networks") or YOOKASSA_NETWORKS
    return YooKassaDriver(base_url=conf["base_url"], shop_id=conf["shop_id"],
                          secret_key=conf["secret_key"], client=wiring.http,
                          timeout=wiring.timeout, notification_networks=tuple(networks),
                          receipts=choice(conf.get("receipts") or AUTO,
                                          (AUTO, *RECEIPT_MODES), "receipts"))


PACKAGE = AcquirerPackage(
    name="yookassa", title="YooKassa",
    settings=(Setting("shop_id", "YOOKASSA_SHOP_ID", help="the shop's id (HTTP Basic user)"),
              Setting("secret_key", "YOOKASSA_SECRET_KEY",
                      help="the shop's secret key (HTTP Basic password)", secret=True),
              Setting("base_url", "YOOKASSA_BASE_URL", API_URL, help="the API's address",
                      account=False),
              Setting("receipts", "YOOKASSA_RECEIPTS", AUTO,
                      help="54-FZ receipts: auto (as YooKassa's GET /me says), required, "
                           "optional or unsupported")),
    capabilities=CAPABILITIES, build=_build)

__all__ = ["API_URL", "PACKAGE", "YOOKASSA_NETWORKS", "YooKassaDriver"]
