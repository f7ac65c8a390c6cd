"""RSA key pairs for the sandbox, generated on first run and kept in the data directory.

Two pairs, as with the real bank: the partner's (we sign requests, the bank verifies) and the
bank's (it signs webhooks, we verify).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes


@dataclass(frozen=True)
class SandboxKeys:
    partner: KeyPair
    bank: KeyPair
    partner2: KeyPair  # the second demo merchant's own project's


def _pair(folder: Path, name: str) -> KeyPair:
    priv_path, pub_path = folder / f"{name}_private.pem", folder / f"{name}_public.pem"
    if not priv_path.exists() or not pub_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        priv = key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        tmp = priv_path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        # Created 0600, never readable by others even for an instant (no write-then-chmod).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(priv)
        tmp.replace(priv_path)
        pub_path.write_bytes(pub)
    return KeyPair(priv_path.read_bytes(), pub_path.read_bytes())


def load_or_create(data_dir: Path) -> SandboxKeys:
    folder = data_dir / "sandbox"
    folder.mkdir(parents=True, exist_ok=True)
    return SandboxKeys(partner=_pair(folder, "partner"), bank=_pair(folder, "bank"),
                       partner2=_pair(folder, "partner2"))
