"""The drivers payments are made through: the deployment's own, and one per merchant's account.

Also the one place the flow and the web learn which acquirers exist, what they can do and what
an account of each needs (`NAMES`, `package_of`, `capabilities_of`), without importing an
acquirer's package: they hold only `Acquirer`s and these declarations.

The deployment's drivers (one per acquirer configured from the environment, or the sandbox's)
serve every merchant without an account of its own: a single-merchant install is exactly as
before. A merchant's account gets its own driver, built from its sealed settings the first
time one of its payments needs it, kept, and rebuilt once its settings change (the stored
`version` says so, on every instance). Its wiring differs in one way: the acquirer is told to
notify `/webhooks/{acquirer}/{account_id}`, where that account's keys verify the notice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from checkout.acquirers import registry
from checkout.acquirers.base import Acquirer, Capabilities
from checkout.acquirers.package import AcquirerPackage, Setting, Wiring
from checkout.errors import NotFound, Unsupported
from checkout.settings import Settings
from checkout.store import acquirer_accounts
from checkout.store.db import Database
from checkout.vault import Vault

NAMES = registry.NAMES
PACKAGES = registry.PACKAGES
__all__ = ["NAMES", "PACKAGES", "AcquirerPackage", "Drivers", "Setting", "Wiring",
           "account_driver", "capabilities_of", "package_of", "wiring_for"]


def package_of(acquirer: str) -> AcquirerPackage | None:
    return registry.BY_NAME.get(acquirer)


def capabilities_of(acquirer: str) -> Capabilities:
    """What an acquirer can do whatever the account (its package's declaration)."""
    return registry.BY_NAME[acquirer].capabilities


class WiringOf(Protocol):
    def __call__(self, package: AcquirerPackage, account_id: str | None = None) -> Wiring: ...


def wiring_for(settings: Settings, http: httpx.AsyncClient) -> WiringOf:
    """How every driver of this checkout is wired; an account's is told its own webhook
    path."""
    def wiring(package: AcquirerPackage, account_id: str | None = None) -> Wiring:
        return Wiring(http=http, timeout=settings.acquirer_timeout_seconds,
                      attempt_ttl_seconds=settings.attempt_ttl_seconds,
                      webhook_url=settings.public_url + package.webhook_path_of(account_id))
    return wiring


class Drivers:
    def __init__(self, *, db: Database, vault: Callable[[], Vault],
                 defaults: dict[str, Acquirer], bases: Mapping[str, Mapping[str, Any]],
                 wiring: Callable[[AcquirerPackage, str | None], Wiring]) -> None:
        self.defaults = defaults  # acquirer -> the deployment's driver
        self._db, self._vault, self._bases, self._wiring = db, vault, bases, wiring
        self._built: dict[str, tuple[int, Acquirer]] = {}  # account -> (version, driver)

    async def get(self, acquirer: str, account_id: str | None) -> Acquirer:
        """The driver of an account (None: the deployment's for `acquirer`)."""
        if not account_id:
            driver = self.defaults.get(acquirer)
            if driver is None:
                raise Unsupported(f"the acquirer {acquirer!r} is not configured on this "
                                  f"checkout", status=503)
            return driver
        built = self._built.get(account_id)
        async with self._db.reader() as conn:
            if built is not None and \
                    await acquirer_accounts.version_of(conn, account_id) == built[0]:
                return built[1]
            found = await acquirer_accounts.sealed_settings(conn, account_id)
        if found is None:
            raise NotFound(f"no acquirer account {account_id}")
        name, sealed, version = found
        try:
            driver = self.build(name, account_id, json.loads(self._vault().open(sealed)))
        except (ValueError, TypeError) as exc:
            # Settings that built once but not now: the deployment's part of them changed.
            raise Unsupported(f"the acquirer account {account_id} cannot be used: {exc}",
                              status=503) from exc
        self._built[account_id] = (version, driver)
        return driver

    def build(self, acquirer: str, account_id: str, settings: Mapping[str, str]) -> Acquirer:
        package = registry.BY_NAME[acquirer]
        return account_driver(package, settings, base=self._bases.get(acquirer) or {},
                              wiring=self._wiring(package, account_id))


def account_driver(package: AcquirerPackage, settings: Mapping[str, str], *,
                   base: Mapping[str, Any], wiring: Wiring) -> Acquirer:
    """A driver with an account's settings over what every account of `package` shares: the
    deployment's settings for it (`base`: from the environment, or the sandbox's; its
    address, the networks its notices come from), their defaults where there are none.
    Raises ValueError for settings no driver can be built with (a key that is not one)."""
    mine = {s.key for s in package.account_settings}
    conf: dict[str, Any] = {s.key: s.default or "" for s in package.settings if not s.account}
    conf.update({k: v for k, v in base.items() if k not in mine and not k.endswith("_pem")})
    unset = [s.env for s in package.settings if not s.account and not conf.get(s.key)]
    if unset:
        raise ValueError(f"this checkout does not know where {package.title} is: its "
                         f"operator sets {', '.join(unset)}")
    for setting in package.account_settings:
        value = settings.get(setting.key, "")
        if setting.pem:
            # The key itself, never a path: the package reads `<key>_pem` as bytes.
            conf[f"{setting.key}_pem"] = value.encode()
        else:
            conf[setting.key] = value or setting.default or ""
    return package.build(conf, wiring)
