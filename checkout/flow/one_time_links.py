"""One-time links (team invitations, password resets): a random token goes into the link,
shown once; only its SHA-256 is kept, so the database never holds a usable link."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from checkout.flow.context import utcnow


def new_token() -> tuple[str, str]:
    """(the token for the link, the hash to keep)."""
    token = secrets.token_urlsafe(32)
    return token, hash_of(token)


def hash_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def still_good(used: bool, expires_at: datetime) -> bool:
    return not used and expires_at > utcnow()
