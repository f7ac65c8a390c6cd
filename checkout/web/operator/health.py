"""Probes for orchestrators and load balancers.

`/healthz`: the process is alive and serving (no I/O, so a slow database never gets a healthy
process restarted). `/readyz`: it can do its job now — the database answers and its schema is
the one this code expects — so a balancer sends it traffic.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

READY_TIMEOUT_SECONDS = 2.0


async def healthz(request: Request) -> Response:
    settings = request.app.state.settings
    return JSONResponse({"status": "ok", "mode": settings.mode,
                         "instance": settings.instance_name})


async def readyz(request: Request) -> Response:
    state = request.app.state
    expected = state.schema_head
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with state.db.reader() as conn:
                found = (await conn.execute(
                    text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:  # any failure to answer is "not ready", said plainly
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__},
                            status_code=503, headers={"Cache-Control": "no-store"})
    if found != expected:
        return JSONResponse({"status": "unavailable", "schema": found, "expected": expected},
                            status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ready", "schema": found},
                        headers={"Cache-Control": "no-store"})


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
