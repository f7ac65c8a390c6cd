"""T-Bank's own Internet Acquiring (API v2, "eacq"): T-Pay at its source. We get the T-Pay
link and show the button or the QR ourselves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checkout.acquirers.base import OPTIONAL, RECEIPT_MODES
from checkout.acquirers.package import (
    AcquirerPackage,
    Setting,
    Wiring,
    choice,
    comma_list,
    flag,
)
from checkout.acquirers.tbank.driver import CAPABILITIES, TBANK_NETWORKS, TbankDriver
from checkout.acquirers.tbank.receipt import FFD_VERSIONS

API_URL = "https://securepay.tinkoff.ru/v2/"
TEST_API_URL = "https://rest-api-test.tinkoff.ru/v2/"


def _build(conf: Mapping[str, Any], wiring: Wiring) -> TbankDriver:
    return TbankDriver(
        base_url=conf["base_url"], terminal_key=conf["terminal_key"],
        password=conf["password"], notification_url=wiring.webhook_url, client=wiring.http,
        recurring=flag(conf.get("recurring", "")),
        notification_networks=comma_list(conf.get("notification_networks") or "")
        or TBANK_NETWORKS, pay_seconds=wiring.attempt_ttl_seconds, timeout=wiring.timeout,
        receipts=choice(conf.get("receipts") or OPTIONAL, RECEIPT_MODES, "receipts"),
        ffd_version=choice(conf.get("ffd_version") or "1.05", FFD_VERSIONS, "ffd_version"))


PACKAGE = AcquirerPackage(
    name="tbank", title="T-Bank",
    settings=(
        Setting("terminal_key", "TBANK_TERMINAL_KEY", help="the terminal's TerminalKey"),
        Setting("password", "TBANK_PASSWORD", help="the terminal's password (signs the Token)",
                secret=True),
        Setting("base_url", "TBANK_BASE_URL", API_URL, help="the API's address", account=False),
        # T-Pay for saved methods is unconfirmed by T-Bank's documentation: off unless the
        # terminal's contract says it works.
        Setting("recurring", "TBANK_RECURRING", "false",
                help="offer saved T-Pay methods (true/false)"),
        Setting("receipts", "TBANK_RECEIPTS", OPTIONAL,
                help="54-FZ receipts: required (the terminal has an online cash register: "
                     "T-Bank refuses a payment without a receipt), optional or unsupported"),
        Setting("ffd_version", "TBANK_FFD_VERSION", "1.05",
                help="the cash register's fiscal data format: 1.05 or 1.2"),
        Setting("notification_networks", "TBANK_NOTIFICATION_NETWORKS",
                ",".join(TBANK_NETWORKS),
                help="networks notifications may come from (CIDRs, comma-separated)",
                account=False),
    ),
    capabilities=CAPABILITIES, build=_build)

__all__ = ["API_URL", "PACKAGE", "TEST_API_URL", "TBANK_NETWORKS", "TbankDriver"]
