"""Signed, expiring tokens for the buyer's URLs, and HMAC form tokens against CSRF.

itsdangerous with SHA-256 (not its SHA-1 default) and a list of keys, newest first, so a key
can be rotated without breaking links already sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from checkout.settings import Settings

TOKEN_MAX_AGE = 30 * 24 * 3600  # return links must still work long after the payment ends


@lru_cache(maxsize=8)
def _serializer(keys: tuple[str, ...]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(keys), salt="checkout",
                                  signer_kwargs={"digest_method": hashlib.sha256})


def checkout_token(settings: Settings, payment_id: str) -> str:
    return _serializer(settings.secret_keys).dumps(payment_id)


def checkout_url(settings: Settings, payment_id: str) -> str:
    return f"{settings.public_url}/c/{checkout_token(settings, payment_id)}"


def read_checkout_token(settings: Settings, token: str) -> str | None:
    """The payment id a token grants, or None if it is forged or too old."""
    verified = _verify(settings.secret_keys, token)
    if verified is None or time.time() - verified[1] > TOKEN_MAX_AGE:
        return None
    return verified[0]


@lru_cache(maxsize=65_536)
def _verify(keys: tuple[str, ...], token: str) -> tuple[str, float] | None:
    # Every waiting buyer polls with the same token every 2 s: check its signature once.
    # The age is checked on every use, outside the cache.
    try:
        value, signed_at = _serializer(keys).loads(token, return_timestamp=True)
    except (BadSignature, SignatureExpired):
        return None
    return (value, signed_at.timestamp()) if isinstance(value, str) else None


def form_token(settings: Settings, purpose: str, subject: str) -> str:
    msg = f"{purpose}:{subject}".encode()
    return hmac.new(settings.secret_keys[0].encode(), msg, hashlib.sha256).hexdigest()


def form_token_ok(settings: Settings, purpose: str, subject: str, token: str) -> bool:
    msg = f"{purpose}:{subject}".encode()
    return any(
        hmac.compare_digest(hmac.new(k.encode(), msg, hashlib.sha256).hexdigest(), token)
        for k in settings.secret_keys
    )
