"""The sandbox over HTTP: every emulator package's routes, the fault book and the shared
credentials."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout import jsonwire
from checkout.sandbox import registry, tpay_app
from checkout.sandbox.faults import FaultError
from checkout.sandbox.http import sandbox_of
from checkout.sandbox.remote import to_wire


async def faults(request: Request) -> Response:
    book = sandbox_of(request).faults
    if request.method == "DELETE":
        book.clear()
        return Response(status_code=204)
    if request.method == "POST":
        try:
            fault = book.add(jsonwire.loads(await request.body()))
        except (ValueError, FaultError) as err:
            return JSONResponse({"error": str(err)}, status_code=422)
        return JSONResponse({"id": fault.id}, status_code=201)
    return JSONResponse({"faults": book.listed()})


async def credentials(request: Request) -> Response:
    """Endpoints and keys of this sandbox, for other instances sharing it (sandbox secrets are
    public by design; a production instance serves no sandbox at all)."""
    return JSONResponse(to_wire(sandbox_of(request).endpoints()))


async def accounts(request: Request) -> Response:
    """The settings of the demo merchants' own acquirer accounts, as a merchant enters them in
    the console (public sandbox secrets, like the rest): to try an account of your own."""
    return JSONResponse(sandbox_of(request).own_accounts())


routes = [
    Route("/sandbox/credentials", credentials, methods=["GET"]),
    Route("/sandbox/accounts", accounts, methods=["GET"]),
    *(route for package in registry.PACKAGES for route in package.routes),
    *tpay_app.routes,
    Route("/sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
]
