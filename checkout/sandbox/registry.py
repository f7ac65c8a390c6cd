"""The emulator packages of the sandbox: the one list here that names them."""

from __future__ import annotations

from checkout.sandbox import bank131, tbank, tbc, yookassa
from checkout.sandbox.package import DemoMerchant, EmulatorPackage

PACKAGES: tuple[EmulatorPackage, ...] = (bank131.EMULATOR, yookassa.EMULATOR, tbc.EMULATOR,
                                          tbank.EMULATOR)
DEMO_MERCHANTS: tuple[DemoMerchant, ...] = tuple(
    m for package in PACKAGES for m in package.demo_merchants)
DEMO_API_KEY = DEMO_MERCHANTS[0].api_key  # the demo shop's first choice
