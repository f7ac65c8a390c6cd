"""The YooKassa emulator over HTTP: its API, and YooMoney's payment page."""

from __future__ import annotations

from checkout.sandbox.http import acquirer_page_routes
from checkout.sandbox.yookassa.emulator import YooKassaEmulator

routes = acquirer_page_routes(
    name="yookassa", kind=YooKassaEmulator, api_path="/sandbox/yookassa/v3",
    page_path="/sandbox/yookassa/checkout", template="sandbox/yoomoney.html", lang="ru",
    # YooMoney sends the buyer back to the shop's return_url once they are done.
    back=lambda payment: payment["confirmation"]["return_url"])
