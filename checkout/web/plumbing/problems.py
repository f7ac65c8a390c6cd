"""Errors become RFC 9457 problem+json for the API, and a plain page for the buyer."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from checkout.errors import CheckoutError, Overloaded
from checkout.logs import redact

log = logging.getLogger("checkout.web")


def problem_response(problem: dict, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(problem, ensure_ascii=False), status_code=problem["status"],
                    media_type="application/problem+json", headers=headers)


async def checkout_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CheckoutError)
    if exc.status >= 500 and not isinstance(exc, Overloaded):  # that one: logged by the gauge
        log.warning("%s %s: %s", request.method, redact(request.url.path), exc.detail)
    problem = exc.problem()
    problem["instance"] = request.url.path
    return problem_response(problem, headers=exc.headers or None)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem_response({
        "type": "about:blank", "title": exc.detail or "Error", "status": exc.status_code,
        "instance": request.url.path,
    }, headers=exc.headers)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, redact(request.url.path))
    return problem_response({
        "type": "https://tpay-checkout.dev/problems/internal", "title": "Internal error",
        "status": 500, "instance": request.url.path,
    })
