"""What an acquirer package declares about itself, so that nothing outside it needs to know.

Each package under `checkout.acquirers` exposes one `AcquirerPackage` (Bank 131's exposes two:
one protocol, two hosts): its name, its settings (environment variables, defaults, which are
required), its capabilities and its factory. `registry.PACKAGES` lists them; the settings, the
app and the merchant API read everything else from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from checkout.acquirers.base import Acquirer, Capabilities


def comma_list(text: str) -> tuple[str, ...]:
    """A setting holding several values, comma-separated."""
    return tuple(item.strip() for item in str(text).split(",") if item.strip())


def flag(text: str) -> bool:
    """A setting holding yes or no."""
    return str(text).strip().lower() in ("1", "true", "yes", "on")


def choice(text: str, allowed: tuple[str, ...], name: str) -> str:
    """A setting holding one of a few words."""
    value = str(text).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {text!r}")
    return value


@dataclass(frozen=True)
class Setting:
    """One value a driver is built with, read from an environment variable."""

    key: str  # the driver's name for it
    env: str  # the environment variable
    default: str | None = None  # None: required once the acquirer is enabled
    help: str = ""
    # Part of a merchant's own acquirer account (its contract), not of the deployment (the
    # acquirer's address, the networks its notices come from).
    account: bool = True
    secret: bool = False  # stored sealed, and never shown back: only `hint`
    # A PEM key. From the environment it is a file's path; in an account, the key itself
    # (never a path: a merchant must not make us read our own files).
    pem: bool = False


@dataclass(frozen=True)
class Wiring:
    """What every driver is built with besides its own settings."""

    http: httpx.AsyncClient
    timeout: float  # seconds to wait for an answer
    attempt_ttl_seconds: int  # how long a buyer has after the redirect
    webhook_url: str  # where this acquirer's webhooks reach us (for acquirers told per call)


@dataclass(frozen=True)
class AcquirerPackage:
    name: str  # as merchants, payments and URLs name it
    title: str  # as people read it
    settings: tuple[Setting, ...]
    capabilities: Capabilities
    build: Callable[[Mapping[str, Any], Wiring], Acquirer]

    @property
    def webhook_path(self) -> str:
        """Where its webhooks are received (`web.acquirer_webhooks`' one route serves every
        acquirer's, so metrics keep one label) and where the sandbox sends them."""
        return f"/webhooks/{self.name}"

    @property
    def account_settings(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.account)

    def webhook_path_of(self, account_id: str | None) -> str:
        """Where the webhooks of one merchant's account arrive (None: the default account)."""
        return self.webhook_path + (f"/{account_id}" if account_id else "")

    @property
    def required(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.default is None)

    def from_env(self, env: Mapping[str, str]) -> dict[str, str] | None:
        """Its settings from the environment; None when none of its required ones is set
        (the acquirer is not enabled)."""
        if not any(env.get(s.env) for s in self.required):
            return None
        return {s.key: env.get(s.env, s.default or "") for s in self.settings}

    def missing(self, conf: Mapping[str, str]) -> list[Setting]:
        """The required settings that `conf` lacks."""
        return [s for s in self.required if not conf.get(s.key)]
