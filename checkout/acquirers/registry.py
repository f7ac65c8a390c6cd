"""The acquirer packages this checkout knows: the one list that names them.

A merchant names its acquirer (`merchants.acquirer`); a payment keeps the one it began with.
Adding an acquirer is a package under `checkout.acquirers` (and its emulator under
`checkout.sandbox`), plus one line here (and one in `checkout.sandbox.registry`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from checkout.acquirers import bank131, tbank, tbc, yookassa
from checkout.acquirers.base import Acquirer
from checkout.acquirers.package import AcquirerPackage, Wiring

PACKAGES: tuple[AcquirerPackage, ...] = (
    bank131.BANK131, bank131.SMART_GLOCAL, yookassa.PACKAGE, tbc.PACKAGE, tbank.PACKAGE)
BY_NAME = {p.name: p for p in PACKAGES}
NAMES = tuple(BY_NAME)
DEFAULT = PACKAGES[0].name  # a merchant added without naming one


def build(endpoints: Mapping[str, Mapping[str, Any]],
          wiring: Callable[[AcquirerPackage], Wiring]) -> dict[str, Acquirer]:
    """One driver per configured acquirer (production's settings or the sandbox's)."""
    drivers: dict[str, Acquirer] = {}
    for name, conf in endpoints.items():
        package = BY_NAME.get(name)
        if package is None:
            raise ValueError(f"unknown acquirer {name!r}; known: {', '.join(NAMES)}")
        drivers[name] = package.build(conf, wiring(package))
    return drivers
