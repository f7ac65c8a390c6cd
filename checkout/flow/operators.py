"""What the deployment's operators do in the console: onboard a merchant (its first API key
and an invitation for its first owner), switch a merchant's acquirer, and make one-time
password-reset links (there is no email server: the operator copies the link to the person).

A reset link is shown once, kept as its SHA-256, good once and for `console_reset_hours`, and
only while it is the person's newest and their password has not changed since.
Using it sets the new password and ends every session of that person; the second factor, if
any, stays on (a lost phone is `checkout console reset-access`, on the server).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from checkout.domain.roles import Role
from checkout.errors import NotFound
from checkout.flow import merchants as merchant_flow
from checkout.flow import one_time_links, team
from checkout.flow.console import Visitor, audit_entry, hashed_new_password, normal_email
from checkout.flow.context import utcnow
from checkout.settings import Settings
from checkout.store import console as store
from checkout.store.console import Reset
from checkout.store.db import Database


@dataclass(frozen=True)
class Onboarded:
    merchant_id: str
    api_key: str  # shown once
    invite: team.NewInvite  # its token shown once, in the link


async def onboard(db: Database, settings: Settings, who: Visitor, *, name: str,
                  return_origins: list[str], embed_origins: list[str], acquirer: str,
                  owner_email: str, ip: str) -> Onboarded:
    """A new merchant, its first key, and an owner's invitation. The email is checked first,
    so a bad one leaves no merchant behind."""
    email = normal_email(owner_email)
    made = await merchant_flow.add_merchant(db, settings, name=name,
                                            return_origins=return_origins,
                                            embed_origins=embed_origins, acquirer=acquirer)
    invite = await team.invite(db, settings, who, merchant_id=made.merchant_id, email=email,
                               role=Role.OWNER, ip=ip)
    async with db.transaction() as conn:
        await audit_entry(conn, user_id=who.user.id, email=who.user.email,
                          action="merchant.onboard", merchant_id=made.merchant_id,
                          target=made.merchant_id, ip=ip,
                          detail={"name": name, "acquirer": acquirer or "default",
                                  "owner": email})
    return Onboarded(made.merchant_id, made.api_key, invite)


async def switch_acquirer(db: Database, settings: Settings, who: Visitor, *,
                          merchant_id: str, acquirer: str, ip: str) -> None:
    """New payments go to `acquirer`; the ones made before stay where they are."""
    await merchant_flow.set_acquirer(db, settings, merchant_id, acquirer)
    async with db.transaction() as conn:
        await audit_entry(conn, user_id=who.user.id, email=who.user.email,
                          action="merchant.acquirer", merchant_id=merchant_id,
                          target=merchant_id, detail={"acquirer": acquirer}, ip=ip)


async def reset_link(db: Database, settings: Settings, who: Visitor, *, user_id: str,
                     ip: str) -> tuple[str, str]:
    """(token, email): a one-time link's token for that person to set a new password."""
    (token, id_hash), now = one_time_links.new_token(), utcnow()
    async with db.transaction() as conn:
        target = await store.user(conn, user_id)
        if target is None:
            raise NotFound("no such user")
        await store.end_resets_of(conn, user_id, now)  # one link at a time: the newest
        await store.add_reset(conn, id_hash=id_hash, user_id=user_id, made_by=who.user.id,
                              now=now,
                              expires_at=now + timedelta(hours=settings.console_reset_hours))
        await audit_entry(conn, user_id=who.user.id, email=who.user.email,
                          action="password.reset_link", target=target.email, ip=ip)
    return token, target.email


async def open_reset(db: Database, token: str) -> Reset | None:
    """The reset behind a link, while it can still be used."""
    async with db.reader() as conn:
        found = await store.reset(conn, one_time_links.hash_of(token))
    return found if found and one_time_links.still_good(found.used, found.expires_at) else None


async def use_reset(db: Database, settings: Settings, token: str, *, password: str,
                    ip: str) -> str:
    """Sets the new password and ends every session of the person; returns their email."""
    found = await open_reset(db, token)
    if found is None:
        raise NotFound("this link is not valid any more")
    hashed = await hashed_new_password(settings, password, found.email)
    async with db.transaction() as conn:
        if not await store.use_reset(conn, found.id_hash, utcnow()):
            raise NotFound("this link is not valid any more")
        await store.set_password_hash(conn, found.user_id, hashed)
        await store.end_resets_of(conn, found.user_id, utcnow())
        # An operator made this link for the person: whoever sets the password holds it.
        await store.set_email_verified(conn, found.user_id, utcnow())
        ended = await store.end_sessions_of(conn, found.user_id)
        await audit_entry(conn, user_id=found.user_id, email=found.email,
                          action="password.reset", ip=ip, detail={"sessions": ended})
    return found.email
