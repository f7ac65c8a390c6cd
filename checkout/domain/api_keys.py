"""Merchant API keys are stored as SHA-256 hashes and looked up by hash (no plaintext kept)."""

from __future__ import annotations

import hashlib


def hash_key(api_key: str) -> str:
    # Keys are long random strings, so a fast hash is enough; the lookup is by hash equality in
    # the database, which reveals nothing about how close a wrong key was.
    return hashlib.sha256(api_key.encode()).hexdigest()
