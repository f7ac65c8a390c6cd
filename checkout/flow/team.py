"""A merchant's team in the console: invitations by one-time link, roles, removal.

There is no email server here: an owner makes an invitation and copies its link to the
colleague. The link is shown once and kept only as its SHA-256; it works once, until
`console_invite_hours` have passed. A new person chooses a password at the link; a person
with an account already signs in to it first (through the sign-in page, its throttles and
second factor), then takes the invitation from that session. A merchant always keeps at
least one owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from checkout.domain.roles import Role
from checkout.errors import Conflict, NotFound
from checkout.flow import api_keys, one_time_links
from checkout.flow.console import (
    SignedIn,
    Visitor,
    audit_entry,
    hashed_new_password,
    new_session,
    normal_email,
)
from checkout.flow.context import utcnow
from checkout.flow.ids import new_id
from checkout.settings import Settings
from checkout.store import console as store
from checkout.store.console import Invite
from checkout.store.db import Database


@dataclass(frozen=True)
class NewInvite:
    token: str  # goes into the link, shown once
    email: str
    role: Role


async def invite(db: Database, settings: Settings, who: Visitor, *, merchant_id: str,
                 email: str, role: Role, ip: str) -> NewInvite:
    email = normal_email(email)
    (token, id_hash), now = one_time_links.new_token(), utcnow()
    async with db.transaction() as conn:
        if any(m.email == email for m in await store.team_of(conn, merchant_id)):
            raise Conflict(f"{email} is already in the team")
        await store.add_invite(conn, id_hash=id_hash, merchant_id=merchant_id,
                               email=email, role=role, invited_by=who.user.id, now=now,
                               expires_at=now + timedelta(hours=settings.console_invite_hours))
        await audit_entry(conn, user_id=who.user.id, email=who.user.email, action="team.invite",
                     merchant_id=merchant_id, target=email, detail={"role": role.value}, ip=ip)
    return NewInvite(token, email, role)


async def revoke_invite(db: Database, who: Visitor, *, merchant_id: str, id_hash: str,
                        ip: str) -> None:
    """An open invitation stops working now (sent to the wrong person, or no longer wanted)."""
    async with db.transaction() as conn:
        email = await store.revoke_invite(conn, merchant_id, id_hash, utcnow())
        if email is None:
            raise NotFound("no such open invitation")
        await audit_entry(conn, user_id=who.user.id, email=who.user.email,
                          action="team.invite_revoked", merchant_id=merchant_id, target=email,
                          ip=ip)


async def open_invite(db: Database, token: str) -> Invite | None:
    """The invitation behind a link, while it can still be accepted."""
    async with db.reader() as conn:
        found = await store.invite(conn, one_time_links.hash_of(token))
    return found if found and one_time_links.still_good(found.used, found.expires_at) else None


async def accept(db: Database, settings: Settings, token: str, *, password: str, ip: str,
                 user_agent: str) -> tuple[SignedIn, str]:
    """The invited person joins with a new account and this password, and is signed in;
    returns the session and the merchant. An email that has an account already joins only
    from that account's own session (`join`): a password alone, through this door, would
    skip the sign-in's throttles and second factor, so it is never checked here."""
    found = await open_invite(db, token)
    if found is None:
        raise NotFound("this invitation is not valid any more")
    async with db.reader() as conn:
        if await store.user_by_email(conn, found.email) is not None:
            raise Conflict("console_invite_sign_in_first")
    hashed = await hashed_new_password(settings, password, found.email)
    now = utcnow()
    async with db.transaction() as conn:
        if await store.user_by_email(conn, found.email) is not None:
            raise Conflict("console_invite_sign_in_first")
        user_id = new_id("usr")
        await store.add_user(conn, user_id=user_id, email=found.email, password_hash=hashed,
                             operator=False, now=now, verified=False)
        await _join(conn, found, user_id, ip, now)
        joined = await store.user(conn, user_id)
        assert joined is not None
        cookie = await new_session(conn, joined, ip=ip, user_agent=user_agent)
    return SignedIn(cookie, joined), found.merchant_id


async def join(db: Database, who: Visitor, token: str, *, ip: str) -> str:
    """A signed-in person takes an invitation made out to their own email: the membership is
    attached to the account they signed in to, with its throttles and second factor. Returns
    the merchant."""
    found = await open_invite(db, token)
    if found is None:
        raise NotFound("this invitation is not valid any more")
    if found.email != who.user.email:
        raise Conflict("console_invite_other_account")
    async with db.transaction() as conn:
        await _join(conn, found, who.user.id, ip, utcnow())
    return found.merchant_id


async def _join(conn: Any, found: Invite, user_id: str, ip: str, now: datetime) -> None:
    if not await store.use_invite(conn, found.id_hash, now):
        raise NotFound("this invitation is not valid any more")
    await store.set_membership(conn, user_id=user_id, merchant_id=found.merchant_id,
                               role=found.role, now=now)
    await audit_entry(conn, user_id=user_id, email=found.email, action="team.join",
                      merchant_id=found.merchant_id, target=found.email,
                      detail={"role": found.role.value}, ip=ip)


async def _keep_an_owner(conn: object, merchant_id: str, user_id: str,
                         new_role: Role | None) -> None:
    team = await store.team_of(conn, merchant_id)  # type: ignore[arg-type]
    member = next((m for m in team if m.user_id == user_id), None)
    if member is None:
        raise NotFound("no such member")
    owners = [m for m in team if m.role is Role.OWNER]
    if member.role is Role.OWNER and new_role is not Role.OWNER and len(owners) == 1:
        raise Conflict("a merchant keeps at least one owner: make another owner first")


async def set_role(db: Database, who: Visitor, *, merchant_id: str, user_id: str, role: Role,
                   ip: str) -> None:
    async with db.transaction() as conn:
        await _keep_an_owner(conn, merchant_id, user_id, role)
        await store.set_membership(conn, user_id=user_id, merchant_id=merchant_id, role=role,
                                   now=utcnow())
        target = await store.user(conn, user_id)
        await audit_entry(conn, user_id=who.user.id, email=who.user.email, action="team.role",
                     merchant_id=merchant_id, target=target.email if target else user_id,
                     detail={"role": role.value}, ip=ip)


async def remove(db: Database, who: Visitor, *, merchant_id: str, user_id: str,
                 ip: str, revoke_keys: bool = False) -> int:
    """The member leaves the team; with `revoke_keys`, every API key they made for this
    merchant stops now (a key outlives its maker otherwise). Returns how many stopped."""
    async with db.transaction() as conn:
        await _keep_an_owner(conn, merchant_id, user_id, None)
        target = await store.user(conn, user_id)
        await store.remove_membership(conn, user_id, merchant_id)
        revoked = await api_keys.revoke_made_by(conn, merchant_id, user_id, utcnow()) \
            if revoke_keys else 0
        await audit_entry(conn, user_id=who.user.id, email=who.user.email, action="team.remove",
                          merchant_id=merchant_id, target=target.email if target else user_id,
                          ip=ip, detail={"keys_revoked": revoked} if revoke_keys else None)
    return revoked
