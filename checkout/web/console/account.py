"""The signed-in person's own account: the second factor (TOTP) on or off.

The secret offered for a new factor travels in the page's own form (it is the user's, shown
to them anyway) and is kept only once a code from their app matches it. Its QR code is drawn
for this page alone, never cached.
"""

from __future__ import annotations

import segno
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout.domain import totp
from checkout.errors import CheckoutError
from checkout.flow import second_factor
from checkout.flow.console import Visitor
from checkout.web.console.access import HEADERS, page, refused, signed_in
from checkout.web.plumbing.rate_limits import client_of


def _qr(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=4, border=4, dark="#000",
                                                 light="#fff", omitsize=False,
                                                 svgclass="qr-code", title="QR")


def _page(request: Request, who: Visitor, status: int = 200, error: str = "",
          secret: str = "") -> Response:
    secret = secret or totp.new_secret()
    uri = totp.provisioning_uri(secret, who.user.email)
    return page(request, "console/account.html", status=status, visitor=who, error=error,
                secret=secret, qr=_qr(uri) if not who.user.has_second_factor else "",
                required=second_factor.required(request.app.state.settings, who.user),
                done=request.query_params.get("done", ""))


@signed_in
async def account(request: Request, who: Visitor, form: FormData | None) -> Response:
    return _page(request, who)


@signed_in
async def set_second_factor(request: Request, who: Visitor, form: FormData | None) -> Response:
    assert form is not None
    action = request.path_params["action"]
    db, settings, ip = request.app.state.db, request.app.state.settings, client_of(request)
    code = str(form.get("code", ""))[:16]
    secret = str(form.get("secret", ""))[:64]
    try:
        if action == "on":
            await second_factor.turn_on(db, settings, who, secret=secret, code=code, ip=ip)
        elif action == "off":
            await second_factor.turn_off(db, settings, who, code=code, ip=ip)
        else:
            return refused(request, 404, who)
    except CheckoutError as err:
        return _page(request, who, err.status, error=err.detail, secret=secret)
    return RedirectResponse(f"/console/account?done={action}", status_code=303,
                            headers=HEADERS)


routes = [
    Route("/console/account", account, methods=["GET"]),
    Route("/console/account/second-factor/{action}", set_second_factor, methods=["POST"]),
]
