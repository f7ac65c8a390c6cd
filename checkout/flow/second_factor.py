"""The console's second factor: TOTP (RFC 6238, `pyotp`), as authenticator apps make it.

Turned on by the user from their account page: we make a secret, show it as a QR code and as
text, and keep it (sealed by the vault) only once a code from the app proves the app has it.
A code is good for its 30-second step and the ones either side (clocks drift); each step's
code is taken once (the last step used is kept, and moved forward only by a compare-and-set),
so a code seen over someone's shoulder cannot be used again. Turning it off takes a code too.
"""

from __future__ import annotations

from checkout.domain.totp import matching_step
from checkout.errors import Conflict, InvalidRequest
from checkout.flow.console import Visitor, audit_entry, second_factor_ok
from checkout.settings import Settings
from checkout.store import console as store
from checkout.store.console import ConsoleUser
from checkout.store.db import Database
from checkout.vault import vault_for


async def turn_on(db: Database, settings: Settings, who: Visitor, *, secret: str, code: str,
                  ip: str) -> None:
    if who.user.has_second_factor:
        raise Conflict("the second factor is on already")
    try:
        step = matching_step(secret, code)
    except (ValueError, TypeError):  # not a base32 secret of ours: a forged form
        step = None
    if step is None:
        raise InvalidRequest("console_wrong_code")
    async with db.transaction() as conn:
        await store.set_second_factor(conn, who.user.id,
                                      vault_for(settings.secret_keys).seal(secret), step)
        await audit_entry(conn, user_id=who.user.id, email=who.user.email,
                          action="second_factor.on", ip=ip)


async def turn_off(db: Database, settings: Settings, who: Visitor, *, code: str,
                   ip: str) -> None:
    if not who.user.has_second_factor:
        raise Conflict("the second factor is off already")
    if not await second_factor_ok(db, settings, who.user, code):
        raise InvalidRequest("console_wrong_code")
    async with db.transaction() as conn:
        await store.set_second_factor(conn, who.user.id, None, None)
        await audit_entry(conn, user_id=who.user.id, email=who.user.email,
                          action="second_factor.off", ip=ip)


def required(settings: Settings, user: ConsoleUser) -> bool:
    """Operators of a production deployment must have one before they do anything else."""
    return user.operator and not settings.sandbox and not user.has_second_factor
