"""The acquirer page (owners, and operators for any merchant): where the merchant's new payments
go, and its own acquirer accounts: add one, replace its settings, check its connection, use
it for new payments, or go back to this checkout's own account at an acquirer.

Secrets are never sent back to the browser: a form shows each secret's last four characters,
and a secret left blank keeps the stored one.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from checkout import drivers
from checkout.domain.roles import Can
from checkout.errors import CheckoutError
from checkout.flow import acquirer_accounts as flow
from checkout.flow import console
from checkout.flow.context import FlowContext
from checkout.store import acquirer_accounts as store
from checkout.web.console.access import HEADERS, Seat, at_merchant, page, refused
from checkout.web.plumbing.rate_limits import client_of

ACTIONS = ("check", "use", "change")


def _here(seat: Seat, done: str = "") -> str:
    return f"/console/m/{seat.merchant.id}/acquirer" + (f"?done={done}" if done else "")


async def _page(request: Request, seat: Seat, status: int = 200, error: str = "",
                errors: dict[str, str] | None = None, failed_form: str = "") -> Response:
    ctx: FlowContext = request.app.state.flow
    async with ctx.db.reader() as conn:
        accounts = await store.accounts_of(conn, seat.merchant.id)
    in_use = next((a for a in accounts if a.id == seat.merchant.acquirer_account_id), None)
    return page(request, "console/acquirer.html", status=status, seat=seat, section="acquirer",
                accounts=accounts, in_use=in_use, packages=drivers.PACKAGES,
                titles={p.name: p.title for p in drivers.PACKAGES},
                own=sorted(ctx.drivers.defaults), error=error, errors=errors or {},
                failed_form=failed_form, done=request.query_params.get("done", ""),
                public_url=ctx.settings.public_url)


def _settings_of(form: FormData, acquirer: str) -> dict[str, str]:
    package = drivers.package_of(acquirer)
    assert package is not None
    return {s.key: str(form.get(s.key) or "") for s in package.account_settings}


@at_merchant(Can.MANAGE_ACQUIRER)
async def acquirer_page(request: Request, seat: Seat, form: FormData | None) -> Response:
    return await _page(request, seat)


@at_merchant(Can.MANAGE_ACQUIRER)
async def add(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    ctx: FlowContext = request.app.state.flow
    acquirer = str(form.get("acquirer") or "")
    if drivers.package_of(acquirer) is None:
        return await _page(request, seat, 422, error="console_acquirer_unknown")
    try:
        made = await flow.create(ctx, seat.merchant.id, acquirer, _settings_of(form, acquirer),
                                 label=str(form.get("label") or "") or None)
    except CheckoutError as err:
        return await _refusal(request, seat, err, f"add-{acquirer}")
    await console.record(ctx.db, seat.visitor, action="acquirer_account.add", target=made.id,
                         merchant_id=seat.merchant.id, ip=client_of(request),
                         detail={"acquirer": acquirer, "label": made.label})
    return RedirectResponse(_here(seat, "added"), status_code=303, headers=HEADERS)


async def _refusal(request: Request, seat: Seat, err: CheckoutError, form: str) -> Response:
    errors = {e["field"]: e["message"] for e in err.extra.get("errors") or []}
    return await _page(request, seat, err.status, error=err.detail, errors=errors,
                       failed_form=form)


@at_merchant(Can.MANAGE_ACQUIRER)
async def account_action(request: Request, seat: Seat, form: FormData | None) -> Response:
    assert form is not None
    ctx: FlowContext = request.app.state.flow
    account_id, action = request.path_params["account_id"], request.path_params["action"]
    async with ctx.db.reader() as conn:
        found = await store.account(conn, account_id, seat.merchant.id)
    if found is None or action not in ACTIONS:
        return refused(request, 404, seat.visitor)
    detail: dict[str, str] = {"acquirer": found.acquirer}
    try:
        if action == "check":
            problem = await flow.check(ctx, seat.merchant.id, account_id)
            detail["result"] = "passed" if problem is None else "failed"
        elif action == "use":
            await flow.use(ctx, seat.merchant.id, account_id)
        else:
            changed = await flow.change(ctx, seat.merchant.id, account_id,
                                        _settings_of(form, found.acquirer),
                                        label=str(form.get("label") or "") or None)
            detail["version"] = str(changed.version)
    except CheckoutError as err:
        return await _refusal(request, seat, err, f"change-{account_id}")
    await console.record(ctx.db, seat.visitor, action=f"acquirer_account.{action}",
                         target=account_id, merchant_id=seat.merchant.id, ip=client_of(request),
                         detail=detail)
    done = {"check": "checked", "use": "used", "change": "changed"}[action]
    return RedirectResponse(_here(seat, done), status_code=303, headers=HEADERS)


@at_merchant(Can.MANAGE_ACQUIRER)
async def use_own(request: Request, seat: Seat, form: FormData | None) -> Response:
    """Back to this checkout's own account at an acquirer (its operator's contract)."""
    assert form is not None
    ctx: FlowContext = request.app.state.flow
    acquirer = str(form.get("acquirer") or "")
    try:
        await flow.use(ctx, seat.merchant.id, None, acquirer)
    except CheckoutError as err:
        return await _page(request, seat, err.status, error=err.detail)
    await console.record(ctx.db, seat.visitor, action="acquirer_account.use_own",
                         target=acquirer, merchant_id=seat.merchant.id, ip=client_of(request))
    return RedirectResponse(_here(seat, "used"), status_code=303, headers=HEADERS)


routes = [
    Route("/console/m/{merchant_id}/acquirer", acquirer_page, methods=["GET"]),
    Route("/console/m/{merchant_id}/acquirer/accounts", add, methods=["POST"]),
    Route("/console/m/{merchant_id}/acquirer/own", use_own, methods=["POST"]),
    Route("/console/m/{merchant_id}/acquirer/accounts/{account_id}/{action}", account_action,
          methods=["POST"]),
]
