"""TBC Bank (Georgia) TPay e-commerce API: an access token, then the buyer on TBC's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checkout.acquirers.package import AcquirerPackage, Setting, Wiring, comma_list
from checkout.acquirers.tbc import wire
from checkout.acquirers.tbc.driver import (
    CAPABILITIES,
    STANDARD_MAX_AMOUNT,
    TBC_NETWORKS,
    TbcDriver,
)

API_URL = "https://api.tbcbank.ge/v1/tpay/"
TEST_API_URL = "https://test-api.tbcbank.ge/v1/tpay/"


def _build(conf: Mapping[str, Any], wiring: Wiring) -> TbcDriver:
    return TbcDriver(
        base_url=conf["base_url"], api_key=conf["api_key"], client_id=conf["client_id"],
        client_secret=conf["client_secret"], callback_url=wiring.webhook_url,
        client=wiring.http, timeout=wiring.timeout,
        methods=tuple(int(m) for m in comma_list(conf.get("methods") or "5")),
        # TBC recommends at most 12 minutes on its page (its default); a shorter attempt time
        # of ours is kept.
        expiration_minutes=max(1, min(wire.EXPIRATION_MAX, wiring.attempt_ttl_seconds // 60)),
        callback_networks=comma_list(conf.get("callback_networks") or ""),
        max_amount=_minor(conf.get("max_amount") or str(STANDARD_MAX_AMOUNT)))


def _minor(major: str) -> int:
    """A whole amount in major units, as the bank names the merchant's limit, in minor."""
    if not major.isdigit() or int(major) < 1:
        raise ValueError("max_amount must be a whole number of at least 1")
    return int(major) * 100


PACKAGE = AcquirerPackage(
    name="tbc", title="TBC Bank",
    settings=(
        Setting("api_key", "TBC_API_KEY", help="the developer app's apikey header",
                secret=True),
        Setting("client_id", "TBC_CLIENT_ID", help="the merchant's client_id"),
        Setting("client_secret", "TBC_CLIENT_SECRET", help="the merchant's client_secret",
                secret=True),
        Setting("base_url", "TBC_BASE_URL", API_URL, help="the API's address", account=False),
        # Which TBC payment methods the page offers (TBC's numeric codes).
        Setting("methods", "TBC_METHODS", "5", help="payment methods on TBC's page (codes)"),
        # TBC's standard limit; the bank raises it per merchant on request.
        Setting("max_amount", "TBC_MAX_AMOUNT", str(STANDARD_MAX_AMOUNT),
                help="the largest payment TBC takes for this merchant, in whole GEL/USD/EUR"),
        # TBC signs no callback: they are taken only from the addresses TBC publishes.
        Setting("callback_networks", "TBC_CALLBACK_NETWORKS", ",".join(TBC_NETWORKS),
                help="networks callbacks may come from (CIDRs, comma-separated)",
                account=False),
    ),
    capabilities=CAPABILITIES, build=_build)

__all__ = ["API_URL", "PACKAGE", "TBC_NETWORKS", "TEST_API_URL", "TbcDriver"]
