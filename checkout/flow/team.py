"""A merchant's team in the console: invitations by one-time link, roles, removal.

There is no email server here: an owner makes an invitation and copies its link to the
colleague. The link is shown once and kept only as its SHA-256; it works once, until
`console_invite_hours` have passed. A merchant always keeps at least one owner.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from checkout.domain import passwords
from checkout.domain.roles import Role
from checkout.errors import Conflict, InvalidRequest, NotFound
from checkout.flow import one_time_links
from checkout.flow.console import SignedIn, Visitor, audit_entry, new_session, normal_email
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


async def open_invite(db: Database, token: str) -> Invite | None:
    """The invitation behind a link, while it can still be accepted."""
    async with db.reader() as conn:
        found = await store.invite(conn, one_time_links.hash_of(token))
    return found if found and one_time_links.still_good(found.used, found.expires_at) else None


async def accept(db: Database, settings: Settings, token: str, *, password: str, ip: str,
                 user_agent: str) -> tuple[SignedIn, str]:
    """The invited person joins: a new account with this password, or, if the email has one
    already, that account once its password is given. Signs them in; returns the session and
    the merchant."""
    found = await open_invite(db, token)
    if found is None:
        raise NotFound("this invitation is not valid any more")
    async with db.reader() as conn:
        user = await store.user_by_email(conn, found.email)
    if user is not None:
        if not await asyncio.to_thread(passwords.verify, user.password_hash, password):
            raise InvalidRequest("console_wrong_password")
        hashed = None
    else:
        try:
            passwords.check(password, found.email, settings.console_password_min_length)
        except passwords.WeakPassword as err:
            raise InvalidRequest(str(err)) from err
        hashed = await asyncio.to_thread(passwords.hash_password, password)
    now = utcnow()
    async with db.transaction() as conn:
        if not await store.use_invite(conn, found.id_hash, now):
            raise NotFound("this invitation is not valid any more")
        if user is None:
            user_id = new_id("usr")
            assert hashed is not None
            await store.add_user(conn, user_id=user_id, email=found.email,
                                 password_hash=hashed, operator=False, now=now)
        else:
            user_id = user.id
        await store.set_membership(conn, user_id=user_id, merchant_id=found.merchant_id,
                                   role=found.role, now=now)
        await audit_entry(conn, user_id=user_id, email=found.email, action="team.join",
                     merchant_id=found.merchant_id, target=found.email,
                     detail={"role": found.role.value}, ip=ip)
        joined = await store.user(conn, user_id)
        assert joined is not None
        cookie = await new_session(conn, joined, ip=ip, user_agent=user_agent)
    return SignedIn(cookie, joined), found.merchant_id


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
                 ip: str) -> None:
    async with db.transaction() as conn:
        await _keep_an_owner(conn, merchant_id, user_id, None)
        target = await store.user(conn, user_id)
        await store.remove_membership(conn, user_id, merchant_id)
        await audit_entry(conn, user_id=who.user.id, email=who.user.email, action="team.remove",
                     merchant_id=merchant_id, target=target.email if target else user_id,
                     ip=ip)
