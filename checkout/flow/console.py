"""The merchant console's people: users, roles, sign-in and sessions, and the audit log.

A session is a random id in a cookie; the database keeps only its SHA-256, with a CSRF token
of its own. It ends after `console_idle_minutes` unused or `console_absolute_hours` in any
case, at sign-out (that session), or at "sign out everywhere" (all of the user's).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from checkout.domain import passwords, totp
from checkout.domain.roles import Role
from checkout.errors import Conflict, InvalidRequest, NotFound
from checkout.flow.context import utcnow
from checkout.flow.ids import new_id
from checkout.settings import ConfigError, Settings
from checkout.store import console as store
from checkout.store import repo
from checkout.store.console import ConsoleSession, ConsoleUser, Membership
from checkout.store.db import Database
from checkout.vault import VaultError, vault_for

log = logging.getLogger("checkout.flow")
# A session's last use is written at most this often: a page's polls do not each cost a write.
TOUCH_EVERY = timedelta(seconds=60)
DEMO_PASSWORD = "sandbox-owner-pass"  # noqa: S105 - public by design, refused by production
DEMO_DOMAIN = "demo.test"


@dataclass(frozen=True)
class SignedIn:
    """A session just begun: `cookie` goes to the browser once; only its hash is kept."""

    cookie: str
    user: ConsoleUser


@dataclass(frozen=True)
class Visitor:
    """Who a request comes from, read from its session cookie."""

    user: ConsoleUser
    session: ConsoleSession
    memberships: tuple[Membership, ...]

    def role_at(self, merchant_id: str) -> Role | None:
        for m in self.memberships:
            if m.merchant_id == merchant_id:
                return m.role
        return None


class SignInRefused(Exception):
    """Wrong email or password (which, we do not say), or a disabled account."""


def normal_email(email: str) -> str:
    email = email.strip().casefold()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or " " in email:
        raise InvalidRequest("enter an email address like name@example.com")
    return email


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


async def audit_entry(conn: Any, *, user_id: str | None, email: str, action: str, ip: str,
                 merchant_id: str | None = None, target: str = "",
                 detail: dict[str, Any] | None = None) -> None:
    await store.add_audit(conn, entry_id=new_id("aud"), at=utcnow(), user_id=user_id,
                          email=email, merchant_id=merchant_id, action=action, target=target,
                          detail=detail or {}, ip=ip)


async def hashed_new_password(settings: Settings, password: str, email: str,
                              prefix: str = "") -> str:
    """The hash to keep of a new password, once it passes the policy (else 422, saying why).
    Hashing takes tens of milliseconds of CPU by design: in a thread."""
    try:
        passwords.check(password, email, settings.console_password_min_length)
    except passwords.WeakPassword as err:
        raise InvalidRequest(f"{prefix}{err}") from err
    return await asyncio.to_thread(passwords.hash_password, password)


async def create_user(db: Database, settings: Settings, *, email: str, password: str,
                      operator: bool = False) -> str:
    email = normal_email(email)
    hashed = await hashed_new_password(settings, password, email, "password refused: ")
    user_id = new_id("usr")
    async with db.transaction() as conn:
        if await store.user_by_email(conn, email) is not None:
            raise InvalidRequest(f"there is already a user {email}")
        await store.add_user(conn, user_id=user_id, email=email, password_hash=hashed,
                             operator=operator, now=utcnow(), verified=True)
    return user_id


async def reset_access(db: Database, settings: Settings, *, email: str, password: str) -> int:
    """An operator's way back in for a locked-out person: a new password, no second factor
    (they set one up again), every session ended. Returns how many sessions ended."""
    email = normal_email(email)
    hashed = await hashed_new_password(settings, password, email, "password refused: ")
    async with db.transaction() as conn:
        found = await store.user_by_email(conn, email)
        if found is None:
            raise NotFound(f"no console user {email}")
        await store.set_password_hash(conn, found.id, hashed)
        await store.end_resets_of(conn, found.id, utcnow())
        # The operator hands this password to the person: now the email is theirs for sure.
        await store.set_email_verified(conn, found.id, utcnow())
        await store.set_second_factor(conn, found.id, None, None)
        ended = await store.end_sessions_of(conn, found.id)
        await audit_entry(conn, user_id=None, email=email, action="access.reset",
                          ip="cli", detail={"sessions": ended})
    return ended


async def remove_user(db: Database, email: str) -> None:
    email = normal_email(email)
    async with db.transaction() as conn:
        found = await store.user_by_email(conn, email)
        if found is None:
            raise NotFound(f"no console user {email}")
        await store.remove_user(conn, found.id)


async def grant_by_email(db: Database, *, email: str, merchant_id: str, role: Role) -> None:
    email = normal_email(email)
    async with db.transaction() as conn:
        found = await store.user_by_email(conn, email)
        if found is None:
            raise NotFound(f"no console user {email}")
        if not found.email_verified:
            raise Conflict(
                f"{email} has not been verified: the account was made by accepting an "
                "invitation, and whoever held that link chose the email. Make sure the person "
                f"holds it first: `checkout console reset-access --email {email}` and hand "
                "them the new password yourself (that also ends anyone else's access); then "
                "grant")
        if await repo.merchant_by_id(conn, merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}")
        await store.set_membership(conn, user_id=found.id, merchant_id=merchant_id, role=role,
                                   now=utcnow())


async def sign_in(db: Database, settings: Settings, *, email: str, password: str, ip: str,
                  user_agent: str, code: str = "") -> SignedIn:
    """A new session for the account, under a new id (a cookie the browser brought before
    signing in is never promoted: no fixation). An account with a second factor needs its
    current code too; a wrong one is refused like a wrong password."""
    email = email.strip().casefold()
    async with db.reader() as conn:
        found = await store.user_by_email(conn, email)
    # The password is checked even for an unknown email (against a decoy): the same time,
    # so the answer does not tell which accounts exist. Hashing takes tens of milliseconds
    # of CPU by design: in a thread, so the buyers' polls do not wait for it.
    good = len(password) <= passwords.MAX_LENGTH and await asyncio.to_thread(
        passwords.verify, found.password_hash if found else None, password)
    if good and found is not None and not found.disabled:
        good = await second_factor_ok(db, settings, found, code)
    if found is None or not good or found.disabled:
        async with db.transaction() as conn:
            await audit_entry(conn, user_id=found.id if found else None, email=email[:254],
                         action="sign_in.refused", ip=ip)
        raise SignInRefused
    rehashed = await asyncio.to_thread(passwords.hash_password, password) \
        if passwords.needs_rehash(found.password_hash) else None
    async with db.transaction() as conn:
        if rehashed is not None:
            await store.set_password_hash(conn, found.id, rehashed)
        cookie = await new_session(conn, found, ip=ip, user_agent=user_agent)
        await audit_entry(conn, user_id=found.id, email=found.email, action="sign_in", ip=ip)
    return SignedIn(cookie, found)


async def second_factor_ok(db: Database, settings: Settings, user: ConsoleUser,
                           code: str) -> bool:
    """True for a user without a second factor; else once per time step, for its code."""
    if user.totp_secret is None:
        return True
    try:
        secret = vault_for(settings.secret_keys).open(user.totp_secret)
    except VaultError:
        # Refused like a wrong code (never a 500), and said where on-call looks: the keys lost
        # the one it was sealed with. `checkout secrets rotate` with it listed re-seals it.
        log.error("the second factor of console user %s cannot be opened: it was sealed with "
                  "a key CHECKOUT_SECRET_KEYS no longer lists. Put that key back (after the "
                  "newest) and run `checkout secrets rotate`, or reset the user's access "
                  "(`checkout console reset-access`)", user.id)
        return False
    step = totp.matching_step(secret, code)
    if step is None:
        return False
    async with db.transaction() as conn:
        return await store.use_time_step(conn, user.id, step)


async def new_session(conn: Any, user: ConsoleUser, *, ip: str, user_agent: str) -> str:
    """A session for `user`, in the caller's transaction; returns the cookie's value."""
    cookie = secrets.token_urlsafe(32)
    await store.add_session(conn, id_hash=_hash(cookie), user_id=user.id,
                            csrf_token=secrets.token_hex(32), now=utcnow(), ip=ip[:64],
                            user_agent=user_agent[:200])
    return cookie


async def visitor(db: Database, settings: Settings, cookie: str) -> Visitor | None:
    """The signed-in user behind a session cookie, or None (no such session, expired, or the
    account disabled). Refreshes the session's last use."""
    if not cookie:
        return None
    id_hash, now = _hash(cookie), utcnow()
    async with db.reader() as conn:
        session = await store.session(conn, id_hash)
        user = await store.user(conn, session.user_id) if session else None
        members = await store.memberships_of(conn, user.id) if user else []
    if session is None or user is None:
        return None
    idle = timedelta(minutes=settings.console_idle_minutes)
    absolute = timedelta(hours=settings.console_absolute_hours)
    if user.disabled or now - session.seen_at > idle or now - session.created_at > absolute:
        async with db.transaction() as conn:
            await store.end_session(conn, id_hash)
        return None
    if now - session.seen_at > TOUCH_EVERY:
        async with db.transaction() as conn:
            await store.touch_session(conn, id_hash, now)
    return Visitor(user, session, tuple(members))


async def sign_out(db: Database, who: Visitor, ip: str, everywhere: bool = False) -> int:
    """Ends this session, or every session of the user; returns how many ended."""
    async with db.transaction() as conn:
        if everywhere:
            ended = await store.end_sessions_of(conn, who.user.id)
        else:
            await store.end_session(conn, who.session.id_hash)
            ended = 1
        await audit_entry(conn, user_id=who.user.id, email=who.user.email,
                     action="sign_out.everywhere" if everywhere else "sign_out", ip=ip,
                     detail={"sessions": ended})
    return ended


async def record(db: Database, who: Visitor, *, action: str, target: str, ip: str,
                 merchant_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """A console action in the audit log (never a secret in `detail`)."""
    async with db.transaction() as conn:
        await audit_entry(conn, user_id=who.user.id, email=who.user.email, action=action, ip=ip,
                     merchant_id=merchant_id, target=target, detail=detail)


# ---- the sandbox's demo owners ---------------------------------------------------------------

def demo_email(merchant_id: str) -> str:
    """The demo merchant `mer_demo` is owned by owner@demo.test, `mer_demo_tbc` by
    owner+tbc@demo.test, and so on."""
    suffix = merchant_id.removeprefix("mer_demo").removeprefix("_")
    return f"owner{'+' + suffix if suffix else ''}@{DEMO_DOMAIN}"


async def seed_demo_owners(db: Database, merchant_ids: Iterable[str]) -> list[str]:
    """One owner per demo merchant, password `DEMO_PASSWORD`; made once, kept after."""
    made: list[str] = []
    hashed = await asyncio.to_thread(passwords.hash_password, DEMO_PASSWORD)
    async with db.transaction() as conn:
        await db.serialize(conn, "seed-demo-owners")  # instances starting together
        for merchant_id in merchant_ids:
            email = demo_email(merchant_id)
            user = await store.user_by_email(conn, email)
            if user is None:
                user_id = new_id("usr")
                await store.add_user(conn, user_id=user_id, email=email, password_hash=hashed,
                                     operator=False, now=utcnow(), verified=True)
                made.append(email)
            else:
                user_id = user.id
            await store.set_membership(conn, user_id=user_id, merchant_id=merchant_id,
                                       role=Role.OWNER, now=utcnow())
    return made


async def refuse_demo_owners(db: Database) -> None:
    """Production does not start while a sandbox account (of `demo.test`) can sign in."""
    async with db.reader() as conn:
        found = await store.users_on_domain(conn, DEMO_DOMAIN)
    if found:
        raise ConfigError(f"production mode refuses to run with the sandbox console user "
                          f"{found[0]!r}: remove it first (`checkout console remove-user`)")
