"""Signed, expiring tokens for the buyer's URLs, and HMAC form tokens against CSRF.

itsdangerous with SHA-256 (not its SHA-1 default) and a list of keys, newest first, so a key
can be rotated without breaking links already sent. itsdangerous signs with the *last* key of
its list, so it is given ours oldest first: new links are signed with the newest key, and a
retired (leaked) key never signs again.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime, timedelta
from functools import lru_cache

from itsdangerous import BadSignature, URLSafeSerializer

from checkout.settings import Settings

# A checkout link keeps working this long after its payment's own expiry: the buyer's way back
# to the final page (and the acquirer's return URL) must not die with the payment.
LINK_GRACE = timedelta(days=30)


# A real token is a payment id and a timestamp, signed: about 90 characters. Anything much
# longer is refused before any work is spent on it.
MAX_TOKEN_LENGTH = 256
_CACHE_SIZE = 65_536


@lru_cache(maxsize=8)
def _serializer(keys: tuple[str, ...]) -> URLSafeSerializer:
    return URLSafeSerializer(list(reversed(keys)), salt="checkout",
                             signer_kwargs={"digest_method": hashlib.sha256})


def checkout_token(settings: Settings, payment_id: str, payment_expires_at: datetime) -> str:
    """The same payment always gets the same token: a link never changes under a merchant."""
    return _token(settings.secret_keys, payment_id,
                  int((payment_expires_at + LINK_GRACE).timestamp()))


@lru_cache(maxsize=_CACHE_SIZE)
def _token(keys: tuple[str, ...], payment_id: str, until: int) -> str:
    """A payment's link is made several times (the merchant's answer, its events, the
    acquirer's return URL): signed once. What we signed needs no check when it comes back."""
    token = _serializer(keys).dumps([payment_id, until])
    _remember(keys, token, (payment_id, until))
    return token


def checkout_url(settings: Settings, payment_id: str, payment_expires_at: datetime) -> str:
    return f"{settings.public_url}/c/{checkout_token(settings, payment_id, payment_expires_at)}"


def read_checkout_token(settings: Settings, token: str) -> str | None:
    """The payment id a token grants, or None if it is forged or too old."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    keys = settings.secret_keys
    verified = _verified.get((keys, token))
    if verified is None:
        verified = _verify(keys, token)
        if verified is None:
            return None  # never cached: forged tokens must not fill the memory
        _remember(keys, token, verified)
    if time.time() > verified[1]:
        return None
    return verified[0]


# Every waiting buyer polls with the same token every 2 s: its signature is checked once.
# Only good tokens are kept; the expiry is checked on every use, outside the cache.
_verified: dict[tuple[tuple[str, ...], str], tuple[str, int]] = {}


def _remember(keys: tuple[str, ...], token: str, value: tuple[str, int]) -> None:
    if len(_verified) >= _CACHE_SIZE:
        _verified.pop(next(iter(_verified)))  # the oldest entry
    _verified[(keys, token)] = value


def _verify(keys: tuple[str, ...], token: str) -> tuple[str, int] | None:
    try:
        value = _serializer(keys).loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], int)):
        return None
    return value[0], value[1]


def form_token(settings: Settings, purpose: str, subject: str) -> str:
    msg = f"{purpose}:{subject}".encode()
    return hmac.new(settings.secret_keys[0].encode(), msg, hashlib.sha256).hexdigest()


def form_token_ok(settings: Settings, purpose: str, subject: str, token: str) -> bool:
    msg = f"{purpose}:{subject}".encode()
    return any(
        hmac.compare_digest(hmac.new(k.encode(), msg, hashlib.sha256).hexdigest(), token)
        for k in settings.secret_keys
    )
