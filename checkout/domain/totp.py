"""TOTP codes (RFC 6238) as authenticator apps make them, with `pyotp`: a secret, the link an
app scans, and which 30-second step a typed code belongs to (within one step of drift)."""

from __future__ import annotations

import hmac
import time

import pyotp

ISSUER = "T-Pay checkout"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code this is (within the drift), or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    at = time.time() if now is None else now
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        step = int(at // totp.interval) + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
