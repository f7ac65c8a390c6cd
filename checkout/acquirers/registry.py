"""Which drivers this checkout runs, built from plain settings (production or the sandbox's).

A merchant names its acquirer (`merchants.acquirer`); a payment keeps the one it began with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from checkout.acquirers.bank131 import Bank131Driver
from checkout.acquirers.base import Acquirer
from checkout.acquirers.tbc import TbcDriver
from checkout.acquirers.yookassa import YOOKASSA_NETWORKS, YooKassaDriver

NAMES = ("bank131", "smartglocal", "yookassa", "tbc")


def build(endpoints: dict[str, dict[str, Any]], *, http: httpx.AsyncClient, public_url: str,
          timeout: float, attempt_ttl_seconds: int) -> dict[str, Acquirer]:
    """One driver per configured acquirer. PEM keys come as bytes or as file paths."""
    drivers: dict[str, Acquirer] = {}
    for name, conf in endpoints.items():
        if name in ("bank131", "smartglocal"):
            drivers[name] = Bank131Driver(
                name=name, base_url=conf["base_url"], project=conf["project"],
                private_key_pem=_pem(conf, "private_key"),
                acquirer_public_key_pem=_pem(conf, "acquirer_public_key", "public_key"),
                client=http, timeout=timeout, session_flow=conf.get("session_flow", "init"))
        elif name == "yookassa":
            drivers[name] = YooKassaDriver(
                base_url=conf["base_url"], shop_id=conf["shop_id"],
                secret_key=conf["secret_key"], client=http, timeout=timeout,
                notification_networks=tuple(conf.get("notification_networks",
                                                     YOOKASSA_NETWORKS)))
        elif name == "tbc":
            methods = conf.get("methods", "5")
            drivers[name] = TbcDriver(
                base_url=conf["base_url"], api_key=conf["api_key"],
                client_id=conf["client_id"], client_secret=conf["client_secret"],
                callback_url=f"{public_url}/webhooks/tbc", client=http, timeout=timeout,
                methods=tuple(int(m) for m in str(methods).split(",") if m.strip()),
                expiration_minutes=max(1, min(60, attempt_ttl_seconds // 60)),
                callback_networks=tuple(n.strip() for n in
                                        str(conf.get("callback_networks", "")).split(",")
                                        if n.strip()))
        else:
            raise ValueError(f"unknown acquirer {name!r}; known: {', '.join(NAMES)}")
    return drivers


def _pem(conf: dict[str, Any], *names: str) -> bytes:
    for name in names:
        if isinstance(conf.get(f"{name}_pem"), bytes):
            return bytes(conf[f"{name}_pem"])
        if conf.get(name):
            return Path(conf[name]).read_bytes()
    raise ValueError(f"missing key: {names[0]}")
