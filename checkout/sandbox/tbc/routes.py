"""The TBC emulator over HTTP: its API, and TBC's payment page."""

from __future__ import annotations

from checkout.sandbox.http import acquirer_page_routes
from checkout.sandbox.tbc.emulator import TbcEmulator

routes = acquirer_page_routes(
    name="tbc", kind=TbcEmulator, api_path="/sandbox/tbc/v1/tpay",
    page_path="/sandbox/tbc/checkout", template="sandbox/tbc_page.html", lang="en",
    back=lambda payment: payment["returnurl"])
