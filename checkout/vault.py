"""Secrets we must keep but never show (recurrent tokens; later, acquirer credentials),
encrypted at rest with keys derived from `CHECKOUT_SECRET_KEYS`.

Each application key gives one Fernet key (AES-128-CBC + HMAC-SHA256, from `cryptography`) by
HKDF, so there is one secret to manage and it rotates the same way: new values are sealed with
the newest key, values sealed with an older one still open, and `checkout secrets rotate`
re-seals every stored value with the newest so an old key can then be retired. A stored value
says how it was sealed: `fernet:` and the token, or, from before encryption, the plain value.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:"


class VaultError(Exception):
    """A stored value cannot be opened with any configured key."""


class Vault:
    def __init__(self, secret_keys: tuple[str, ...]) -> None:
        if not secret_keys:
            raise ValueError("no keys")
        self._fernet = MultiFernet([Fernet(_derive(k)) for k in secret_keys])

    def seal(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # stored before encryption at rest; `checkout secrets rotate` seals it
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode()
        except InvalidToken as exc:
            raise VaultError("sealed with a key that is no longer configured") from exc

    def reseal(self, stored: str) -> str:
        """The same value sealed with the newest key (plain legacy values get sealed)."""
        return self.seal(self.open(stored))


def _derive(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"tpay-checkout",
               info=b"data at rest v1").derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=8)
def vault_for(secret_keys: tuple[str, ...]) -> Vault:
    return Vault(secret_keys)
