"""`GET /metrics` for Prometheus, behind its own bearer token (`CHECKOUT_METRICS_TOKEN`).

Production without a token serves none: the numbers tell a merchant's volumes.
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout.flow.context import utcnow


async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    token = settings.metrics_token
    if not token and not settings.sandbox:
        return JSONResponse({"detail": "metrics are off: set CHECKOUT_METRICS_TOKEN"},
                            status_code=404)
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"detail": "a bearer token is needed"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
    state = request.app.state
    await state.metrics.read_database(state.db, utcnow())
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


routes = [Route("/metrics", metrics, methods=["GET"])]
