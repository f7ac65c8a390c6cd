"""Console passwords: what we accept, and how they are kept (argon2id, never the password).

The policy is NIST SP 800-63B's, kept short: a minimum length, no upper limit worth meeting,
no composition rules, and a refusal of the guesses that come first: the account's own email
(or its name part), and a short pattern repeated ("abcabcabcabc", "111111111111").
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_LENGTH = 1024  # past this, hashing a password is a way to spend our CPU, not a password
_HASHER = PasswordHasher()  # argon2id, the library's defaults (RFC 9106's second choice)


@cache
def _decoy() -> str:
    """A hash to check a password against when the account does not exist, so that a wrong
    email costs the same time as a wrong password and does not tell which one it was. Made at
    the first sign-in, not at import: every `checkout` process (the CLI's too) imports this."""
    return _HASHER.hash("decoy password, never anybody's")


class WeakPassword(ValueError):
    """The password is refused; the message says why, in words a person can act on."""


def check(password: str, email: str, min_length: int) -> None:
    if len(password) < min_length:
        raise WeakPassword(f"use at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"use at most {MAX_LENGTH} characters")
    folded, address = password.casefold(), email.casefold()
    if folded in (address, address.partition("@")[0]):
        raise WeakPassword("the password must not be your email")
    for size in range(1, 5):
        unit = folded[:size]
        if unit * (len(folded) // size) + unit[:len(folded) % size] == folded:
            raise WeakPassword("the password must not be a short pattern repeated")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` is the one `stored` was made from (None: no such account, checked
    against a decoy all the same)."""
    try:
        return _HASHER.verify(stored or _decoy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's: hash it again at the
    next successful sign-in."""
    return _HASHER.check_needs_rehash(stored)
