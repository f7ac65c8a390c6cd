"""Claims on background work, so that N instances neither repeat nor drop it.

`claim` is one atomic upsert: it takes a subject that nobody holds or whose claim has lapsed,
and fails if another instance holds it. A dead instance's claims lapse by themselves; a
stopping one gives back those it still works on (`release`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from checkout.store.db import Conn
from checkout.store.tables import job_claims


async def claim(conn: Conn, subject: str, *, owner: str, now: datetime,
                until: datetime) -> bool:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(job_claims).values(subject=subject, owner=owner, until=until)
    stmt = stmt.on_conflict_do_update(
        index_elements=[job_claims.c.subject],
        set_={"owner": owner, "until": until},
        where=job_claims.c.until <= now)
    done = await conn.execute(stmt.returning(job_claims.c.subject))
    return done.first() is not None


async def hold_until(conn: Conn, subject: str, *, owner: str,
                     until: datetime) -> None:
    """Keep a finished subject ours until `until`, so a pass that listed it before we finished
    does not do it again at once."""
    await conn.execute(update(job_claims).where(and_(
        job_claims.c.subject == subject, job_claims.c.owner == owner)).values(until=until))


async def release(conn: Conn, subjects: list[str], *, owner: str) -> None:
    if subjects:
        await conn.execute(delete(job_claims).where(and_(
            job_claims.c.subject.in_(subjects), job_claims.c.owner == owner)))


async def forget_lapsed(conn: Conn, *, before: datetime) -> None:
    await conn.execute(delete(job_claims).where(job_claims.c.until < before))


async def release_all_of(conn: Conn, *, owner: str) -> None:
    """At start: this instance's claims are its crashed predecessor's; nobody works on them."""
    await conn.execute(delete(job_claims).where(job_claims.c.owner == owner))
