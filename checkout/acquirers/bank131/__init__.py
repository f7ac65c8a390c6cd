"""Bank 131 / Smart Glocal session API: one protocol, two hosts, so two packages' worth of
declarations in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from checkout.acquirers.bank131.driver import CAPABILITIES, Bank131Driver
from checkout.acquirers.package import AcquirerPackage, Setting, Wiring

PRESETS = {
    "bank131-test": "https://demo.bank131.ru/api/v1/",
    "bank131": "https://proxy.bank131.ru/api/v1/",
    "smartglocal-test": "https://demo.smart-glocal.com/api/v1/",
    "smartglocal": "https://proxy.smart-glocal.com/api/v1/",
}


def _settings(prefix: str) -> tuple[Setting, ...]:
    return (
        Setting("base_url", f"{prefix}_BASE_URL", help="the API's address, ending in /api/v1/",
                account=False),
        Setting("project", f"{prefix}_PROJECT", help="our project id (X-PARTNER-PROJECT)"),
        Setting("private_key", f"{prefix}_PRIVATE_KEY",
                help="our RSA private key (PEM; in the environment, its file's path)",
                secret=True, pem=True),
        Setting("public_key", f"{prefix}_PUBLIC_KEY",
                help="the acquirer's RSA public key (PEM; in the environment, its path)",
                pem=True),
        # "init" (session/init/payment) or "create_start" (session/create + session/start)
        Setting("session_flow", f"{prefix}_SESSION_FLOW", "init",
                help="init (one call) or create_start (session/create, then start)"),
    )


def _pem(conf: Mapping[str, Any], *names: str) -> bytes:
    """PEM keys come as bytes (the sandbox's) or as file paths (production's)."""
    for name in names:
        if isinstance(conf.get(f"{name}_pem"), bytes):
            return bytes(conf[f"{name}_pem"])
        if conf.get(name):
            return Path(conf[name]).read_bytes()
    raise ValueError(f"missing key: {names[0]}")


def _factory(name: str) -> Callable[[Mapping[str, Any], Wiring], Bank131Driver]:
    def build(conf: Mapping[str, Any], wiring: Wiring) -> Bank131Driver:
        return Bank131Driver(
            name=name, base_url=conf["base_url"], project=conf["project"],
            private_key_pem=_pem(conf, "private_key"),
            acquirer_public_key_pem=_pem(conf, "acquirer_public_key", "public_key"),
            client=wiring.http, timeout=wiring.timeout,
            session_flow=conf.get("session_flow") or "init")
    return build


BANK131 = AcquirerPackage(name="bank131", title="Bank 131", settings=_settings("BANK131"),
                          capabilities=CAPABILITIES, build=_factory("bank131"))
SMART_GLOCAL = AcquirerPackage(name="smartglocal", title="Smart Glocal",
                               settings=_settings("SMARTGLOCAL"), capabilities=CAPABILITIES,
                               build=_factory("smartglocal"))

__all__ = ["BANK131", "PRESETS", "SMART_GLOCAL", "Bank131Driver"]
