"""The console's rows: users, their memberships, sessions and the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from checkout.domain.roles import Role
from checkout.store.db import Conn
from checkout.store.paging import older_than
from checkout.store.tables import (
    audit_log,
    console_invites,
    console_resets,
    console_sessions,
    console_users,
    memberships,
    merchants,
)


@dataclass(frozen=True)
class ConsoleUser:
    id: str
    email: str
    password_hash: str
    operator: bool
    disabled: bool
    totp_secret: str | None = None  # sealed
    totp_last_step: int | None = None
    # An operator vouched that the person behind the email holds the account (made by the
    # command line, or a password an operator handed over). One made by accepting an
    # invitation is not: whoever held the link chose the email.
    email_verified: bool = False

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None


@dataclass(frozen=True)
class Membership:
    merchant_id: str
    merchant_name: str
    role: Role


@dataclass(frozen=True)
class ConsoleSession:
    id_hash: str
    user_id: str
    csrf_token: str
    created_at: datetime
    seen_at: datetime


def _user(row: Any) -> ConsoleUser:
    return ConsoleUser(row.id, row.email, row.password_hash, bool(row.operator),
                       row.disabled_at is not None, row.totp_secret, row.totp_last_step,
                       row.email_verified_at is not None)


async def set_second_factor(conn: Conn, user_id: str, sealed: str | None,
                            step: int | None) -> None:
    await conn.execute(update(console_users).where(console_users.c.id == user_id)
                       .values(totp_secret=sealed, totp_last_step=step))


async def use_time_step(conn: Conn, user_id: str, step: int) -> bool:
    """Take this time step's code for the user: False if it (or a later one) was used."""
    done = await conn.execute(update(console_users).where(and_(
        console_users.c.id == user_id,
        or_(console_users.c.totp_last_step.is_(None), console_users.c.totp_last_step < step)))
        .values(totp_last_step=step))
    return bool(done.rowcount)


async def user_by_email(conn: Conn, email: str) -> ConsoleUser | None:
    row = (await conn.execute(select(console_users).where(
        console_users.c.email == email))).first()
    return None if row is None else _user(row)


async def user(conn: Conn, user_id: str) -> ConsoleUser | None:
    row = (await conn.execute(select(console_users).where(
        console_users.c.id == user_id))).first()
    return None if row is None else _user(row)


async def add_user(conn: Conn, *, user_id: str, email: str, password_hash: str,
                   operator: bool, now: datetime, verified: bool) -> None:
    await conn.execute(insert(console_users).values(
        id=user_id, email=email, password_hash=password_hash, operator=operator,
        created_at=now, email_verified_at=now if verified else None))


async def set_email_verified(conn: Conn, user_id: str, now: datetime) -> None:
    await conn.execute(update(console_users).where(and_(
        console_users.c.id == user_id, console_users.c.email_verified_at.is_(None)))
        .values(email_verified_at=now))


async def set_password_hash(conn: Conn, user_id: str, password_hash: str) -> None:
    await conn.execute(update(console_users).where(console_users.c.id == user_id)
                       .values(password_hash=password_hash))


async def users_on_domain(conn: Conn, domain: str) -> list[str]:
    rows = await conn.execute(select(console_users.c.email).where(
        console_users.c.email.like(f"%@{domain}")).order_by(console_users.c.email))
    return [r.email for r in rows]


async def memberships_of(conn: Conn, user_id: str) -> list[Membership]:
    rows = await conn.execute(
        select(memberships.c.merchant_id, merchants.c.name, memberships.c.role)
        .join(merchants, merchants.c.id == memberships.c.merchant_id)
        .where(memberships.c.user_id == user_id).order_by(merchants.c.name, merchants.c.id))
    return [Membership(r.merchant_id, r.name, Role(r.role)) for r in rows]


async def set_membership(conn: Conn, *, user_id: str, merchant_id: str, role: Role,
                         now: datetime) -> None:
    done = await conn.execute(update(memberships).where(and_(
        memberships.c.user_id == user_id, memberships.c.merchant_id == merchant_id))
        .values(role=role.value))
    if not done.rowcount:
        await conn.execute(insert(memberships).values(
            user_id=user_id, merchant_id=merchant_id, role=role.value, created_at=now))


async def remove_user(conn: Conn, user_id: str) -> None:
    """The account goes; what it did stays in the audit log, under its email."""
    await conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))
    await conn.execute(delete(memberships).where(memberships.c.user_id == user_id))
    await conn.execute(update(audit_log).where(audit_log.c.user_id == user_id)
                       .values(user_id=None))
    await conn.execute(update(console_invites).where(console_invites.c.invited_by == user_id)
                       .values(invited_by=None))
    await conn.execute(delete(console_users).where(console_users.c.id == user_id))


# ---- sessions --------------------------------------------------------------------------------

async def add_session(conn: Conn, *, id_hash: str, user_id: str, csrf_token: str,
                      now: datetime, ip: str, user_agent: str) -> None:
    await conn.execute(insert(console_sessions).values(
        id_hash=id_hash, user_id=user_id, csrf_token=csrf_token, created_at=now, seen_at=now,
        ip=ip, user_agent=user_agent))


async def session(conn: Conn, id_hash: str) -> ConsoleSession | None:
    row = (await conn.execute(select(console_sessions).where(
        console_sessions.c.id_hash == id_hash))).first()
    if row is None:
        return None
    return ConsoleSession(row.id_hash, row.user_id, row.csrf_token, row.created_at, row.seen_at)


async def touch_session(conn: Conn, id_hash: str, now: datetime) -> None:
    await conn.execute(update(console_sessions).where(console_sessions.c.id_hash == id_hash)
                       .values(seen_at=now))


async def end_session(conn: Conn, id_hash: str) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))


async def end_sessions_of(conn: Conn, user_id: str) -> int:
    done = await conn.execute(delete(console_sessions).where(
        console_sessions.c.user_id == user_id))
    return int(done.rowcount or 0)


# ---- the audit log ---------------------------------------------------------------------------

async def add_audit(conn: Conn, *, entry_id: str, at: datetime, user_id: str | None,
                    email: str, merchant_id: str | None, action: str, target: str,
                    detail: dict[str, Any], ip: str) -> None:
    await conn.execute(insert(audit_log).values(
        id=entry_id, at=at, user_id=user_id, email=email[:254], merchant_id=merchant_id,
        action=action, target=target[:200], detail=json.dumps(detail, sort_keys=True),
        ip=ip[:64]))


async def audit_page(conn: Conn, merchant_id: str,
                     before: tuple[datetime, str] | None, limit: int) -> list[Any]:
    q = select(audit_log.c.id, audit_log.c.at, audit_log.c.email, audit_log.c.action,
               audit_log.c.target, audit_log.c.detail, audit_log.c.ip) \
        .where(audit_log.c.merchant_id == merchant_id)
    if before is not None:
        q = q.where(older_than(audit_log, before, audit_log.c.at))
    return list(await conn.execute(q.order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
                                   .limit(limit)))


# ---- the team ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    role: Role
    since: datetime


@dataclass(frozen=True)
class Invite:
    id_hash: str
    merchant_id: str
    email: str
    role: Role
    expires_at: datetime
    used: bool


async def team_of(conn: Conn, merchant_id: str) -> list[Member]:
    rows = await conn.execute(
        select(console_users.c.id, console_users.c.email, memberships.c.role,
               memberships.c.created_at)
        .join(memberships, memberships.c.user_id == console_users.c.id)
        .where(memberships.c.merchant_id == merchant_id).order_by(console_users.c.email))
    return [Member(r.id, r.email, Role(r.role), r.created_at) for r in rows]


async def remove_membership(conn: Conn, user_id: str, merchant_id: str) -> bool:
    done = await conn.execute(delete(memberships).where(and_(
        memberships.c.user_id == user_id, memberships.c.merchant_id == merchant_id)))
    return bool(done.rowcount)


async def add_invite(conn: Conn, *, id_hash: str, merchant_id: str, email: str,
                     role: Role, invited_by: str, now: datetime, expires_at: datetime) -> None:
    await conn.execute(insert(console_invites).values(
        id_hash=id_hash, merchant_id=merchant_id, email=email, role=role.value,
        invited_by=invited_by, created_at=now, expires_at=expires_at))


async def invite(conn: Conn, id_hash: str) -> Invite | None:
    row = (await conn.execute(select(console_invites).where(
        console_invites.c.id_hash == id_hash))).first()
    if row is None:
        return None
    return Invite(row.id_hash, row.merchant_id, row.email, Role(row.role), row.expires_at,
                  row.used_at is not None)


async def use_invite(conn: Conn, id_hash: str, now: datetime) -> bool:
    """True for the one request that uses it (a second one, even at once, finds it used)."""
    done = await conn.execute(update(console_invites).where(and_(
        console_invites.c.id_hash == id_hash, console_invites.c.used_at.is_(None)))
        .values(used_at=now))
    return bool(done.rowcount)


async def revoke_invite(conn: Conn, merchant_id: str, id_hash: str, now: datetime) -> str | None:
    """The open invitation stops working now (as if used); its email, or None if the merchant
    has no such open invitation."""
    found = (await conn.execute(select(console_invites.c.email).where(and_(
        console_invites.c.id_hash == id_hash, console_invites.c.merchant_id == merchant_id,
        console_invites.c.used_at.is_(None), console_invites.c.expires_at > now)))).first()
    if found is None or not await use_invite(conn, id_hash, now):
        return None
    return str(found.email)


async def open_invites(conn: Conn, merchant_id: str, now: datetime) -> list[Any]:
    return list(await conn.execute(
        select(console_invites.c.id_hash, console_invites.c.email, console_invites.c.role,
               console_invites.c.expires_at)
        .where(and_(console_invites.c.merchant_id == merchant_id,
                    console_invites.c.used_at.is_(None), console_invites.c.expires_at > now))
        .order_by(console_invites.c.created_at.desc())))


# ---- password-reset links ----------------------------------------------------------------

@dataclass(frozen=True)
class Reset:
    id_hash: str
    user_id: str
    email: str
    expires_at: datetime
    used: bool


async def add_reset(conn: Conn, *, id_hash: str, user_id: str, made_by: str,
                    now: datetime, expires_at: datetime) -> None:
    await conn.execute(insert(console_resets).values(
        id_hash=id_hash, user_id=user_id, made_by=made_by, created_at=now,
        expires_at=expires_at))


async def reset(conn: Conn, id_hash: str) -> Reset | None:
    row = (await conn.execute(
        select(console_resets, console_users.c.email)
        .join(console_users, console_users.c.id == console_resets.c.user_id)
        .where(console_resets.c.id_hash == id_hash))).first()
    if row is None:
        return None
    return Reset(row.id_hash, row.user_id, row.email, row.expires_at, row.used_at is not None)


async def end_resets_of(conn: Conn, user_id: str, now: datetime) -> None:
    """Every reset link of the person still open stops working: a newer link replaced them,
    or their password changed."""
    await conn.execute(update(console_resets).where(and_(
        console_resets.c.user_id == user_id, console_resets.c.used_at.is_(None)))
        .values(used_at=now))


async def use_reset(conn: Conn, id_hash: str, now: datetime) -> bool:
    """True for the one request that uses it."""
    done = await conn.execute(update(console_resets).where(and_(
        console_resets.c.id_hash == id_hash, console_resets.c.used_at.is_(None)))
        .values(used_at=now))
    return bool(done.rowcount)


async def all_users(conn: Conn) -> list[Any]:
    """For operators: every console user, by email, with how many merchants each is in."""
    count = select(func.count()).select_from(memberships).where(
        memberships.c.user_id == console_users.c.id).scalar_subquery()
    return list(await conn.execute(
        select(console_users.c.id, console_users.c.email, console_users.c.operator,
               console_users.c.disabled_at, console_users.c.totp_secret.is_not(None)
               .label("second_factor"), count.label("merchants"))
        .order_by(console_users.c.email)))
