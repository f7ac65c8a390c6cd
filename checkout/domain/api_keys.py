"""Merchant API keys are stored as SHA-256 hashes and looked up by hash (no plaintext kept),
each with a scope: what it may do."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from checkout.domain.roles import Can, Role, allows


def hash_key(api_key: str) -> str:
    # Keys are long random strings, so a fast hash is enough; the lookup is by hash equality in
    # the database, which reveals nothing about how close a wrong key was.
    return hashlib.sha256(api_key.encode()).hexdigest()


class Scope(StrEnum):
    """What a key may do. Each includes the one before it."""

    READ = "read"  # GET only
    PAYMENTS = "payments"  # also make payments, links, webhook endpoints: no money moves
    FULL = "full"  # also capture, cancel, refund, charge a saved method


_ORDER = (Scope.READ, Scope.PAYMENTS, Scope.FULL)


def covers(held: Scope, needed: Scope) -> bool:
    return _ORDER.index(held) >= _ORDER.index(needed)


def may_mint(role: Role, scope: Scope) -> bool:
    """A member makes (or rolls) only keys within their own powers: a key that moves money
    only for a role that may move money."""
    return scope is not Scope.FULL or allows(role, Can.MOVE_MONEY)
