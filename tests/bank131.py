"""Speak to the sandbox as Bank 131 does (signed webhooks) and as a partner does (signed calls).

Written from the protocol notes, not from our driver: a test must not share the code it checks.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.server import LiveServer


def _sign(pem_path: Any, body: bytes) -> str:
    key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def partner_call(server: LiveServer, method: str, payload: dict[str, Any],
                 version: str = "v1", **headers: str) -> httpx.Response:
    return partner_call_at(server.url, server.settings.data_dir, method, payload, version,
                           **headers)


def partner_call_at(base_url: str, data_dir: Path, method: str, payload: dict[str, Any],
                    version: str = "v1", host: str = "bank131", **headers: str
                    ) -> httpx.Response:
    """A signed partner call to the emulated `host` (Bank 131 or Smart Glocal: one protocol)."""
    body = json.dumps(payload).encode()
    keys = data_dir / "sandbox"
    url = f"{base_url}/sandbox/{host}/api/{version}/{method}"
    return httpx.post(url, content=body, headers={
        "Content-Type": "application/json", "X-PARTNER-PROJECT": "sandbox-project",
        "X-PARTNER-SIGN": _sign(keys / "partner_private.pem", body), **headers})


def session(server: LiveServer, session_id: str) -> dict[str, Any]:
    return session_at(server.url, server.settings.data_dir, session_id)


def session_at(base_url: str, data_dir: Path, session_id: str) -> dict[str, Any]:
    resp = partner_call_at(base_url, data_dir, "session/status", {"session_id": session_id})
    assert resp.status_code == 200, resp.text
    return resp.json()["session"]  # type: ignore[no-any-return]


def bank_record(data_dir: Path, session_id: str, host: str = "bank131") -> dict[str, Any]:
    """The session as the emulated bank keeps it, its own notes included (`captured`: what it
    took; the wire shows only the fee)."""
    with sqlite3.connect(data_dir / "sandbox" / f"{host}.db") as db:
        row = db.execute("SELECT doc FROM sessions WHERE id = ?", (session_id,)).fetchone()
    assert row is not None, session_id
    return json.loads(row[0])  # type: ignore[no-any-return]


def captured_at_bank(session: dict[str, Any]) -> int:
    """What the emulated bank took for a session kept by `bank_record` (0: nothing)."""
    if session["status"] != "accepted":
        return 0
    return int(session["acquiring_payments"][0]["captured"])


def send_webhook(server: LiveServer, event_type: str, session: dict[str, Any],
                 signature: str | None = "valid", raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else json.dumps({"type": event_type,
                                                   "session": session}).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "valid":
        headers["X-PARTNER-SIGN"] = _sign(server.settings.data_dir / "sandbox" /
                                          "bank_private.pem", body)
    elif signature is not None:
        headers["X-PARTNER-SIGN"] = signature
    return httpx.post(f"{server.url}/webhooks/bank131", content=body, headers=headers)
