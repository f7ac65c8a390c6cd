"""A merchant's own acquirer accounts (its contracts): add one, replace its settings, use it
for new payments, check its connection. Managed from the console (owner, operator) and the
CLI; `GET /api/v1/acquirer` reads which one a merchant uses.

An account's settings are its credentials and its contract's options (the package's
`account_settings`), sealed by the vault as one JSON object. Nothing secret is shown back:
`hints` keeps a secret's last four characters, and a change that leaves a secret blank keeps
the one stored. A payment keeps the account it was made on, so a switch moves new payments
only, and a change of settings reaches that account's payments at their next call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TypedDict

from checkout import drivers
from checkout.drivers import AcquirerPackage
from checkout.errors import AcquirerError, Conflict, InvalidRequest, NotFound
from checkout.flow.context import FlowContext
from checkout.flow.ids import new_id
from checkout.store import acquirer_accounts as store
from checkout.store import repo
from checkout.store.acquirer_accounts import Account
from checkout.store.db import Conn
from checkout.vault import Vault

MAX_VALUE = 500  # characters of an identifier, a password, a list of options
MAX_PEM = 16_000  # characters of a PEM key (an RSA-8192 private key is about 6 400)
MAX_LABEL = 100


def package_of(acquirer: object) -> AcquirerPackage:
    package = drivers.package_of(acquirer) if isinstance(acquirer, str) else None
    if package is None:
        message = f"one of {', '.join(drivers.NAMES)}"
        raise InvalidRequest(f"unknown acquirer: {message}",
                             [{"field": "acquirer", "message": message}])
    return package


def _clean(package: AcquirerPackage, given: Mapping[str, object],
           stored: Mapping[str, str] | None) -> dict[str, str]:
    """`given` over `stored` (a change; None: a new account), every value checked. A blank
    value keeps what is stored: a secret is never shown, so it cannot be sent back."""
    known = {s.key: s for s in package.account_settings}
    errors = [{"field": key, "message": f"not a setting of {package.title} accounts "
                                        f"(they are {', '.join(known)})"}
              for key in given if key not in known]
    values = dict(stored or {})
    for setting in package.account_settings:
        value = given.get(setting.key)
        if value is None or value == "":
            continue
        most = MAX_PEM if setting.pem else MAX_VALUE
        allowed = "\r\n" if setting.pem else ""
        if not isinstance(value, str) or len(value) > most or \
                any((ord(c) < 32 and c not in allowed) or c == "\x7f" for c in value):
            errors.append({"field": setting.key,
                           "message": f"text of at most {most} characters, no control "
                                      "characters"})
            continue
        if setting.pem and not value.lstrip().startswith("-----BEGIN "):
            errors.append({"field": setting.key, "message": "the key itself, in PEM"})
            continue
        values[setting.key] = value.strip()
    errors += [{"field": s.key, "message": f"required: {s.help}"}
               for s in package.account_settings if s.default is None and not values.get(s.key)]
    if errors:
        raise InvalidRequest(f"these {package.title} account settings are not right", errors)
    return values


def hint(value: str) -> str:
    """What may be shown of a secret: its last four characters (a PEM key's, inside the
    armour), enough to tell two apart."""
    body = "".join(line for line in value.strip().splitlines() if not line.startswith("-----"))
    body = "".join(body.split())
    return "…" + body[-4:] if len(body) > 8 else "…"


def _hints(package: AcquirerPackage, values: Mapping[str, str]) -> dict[str, str]:
    return {s.key: hint(values[s.key]) if s.secret or s.pem else values[s.key]
            for s in package.account_settings if values.get(s.key)}


class _Stored(TypedDict):
    sealed: str
    hints: dict[str, str]


def _stored(vault: Vault, package: AcquirerPackage, values: Mapping[str, str]) -> _Stored:
    """What is stored of the settings: all of them sealed, and what may be shown of them."""
    return {"sealed": vault.seal(json.dumps(dict(values))), "hints": _hints(package, values)}


def _label(package: AcquirerPackage, label: object, values: Mapping[str, str]) -> str:
    if label is None or label == "":
        first = next((values[s.key] for s in package.account_settings
                      if not s.secret and not s.pem and values.get(s.key)), "")
        return f"{package.title} {first}".strip()[:MAX_LABEL]
    if not isinstance(label, str) or len(label.strip()) > MAX_LABEL or \
            any(ord(c) < 32 for c in label):
        raise InvalidRequest("the label is not right", [
            {"field": "label", "message": f"at most {MAX_LABEL} characters"}])
    return label.strip()


def _buildable(ctx: FlowContext, package: AcquirerPackage, account_id: str,
               values: Mapping[str, str]) -> None:
    """Settings no driver can be built with (a key that is not a key) are refused here, not
    at the first payment."""
    try:
        ctx.drivers.build(package.name, account_id, values)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(f"these {package.title} account settings do not work: {exc}"
                             ) from exc


async def create(ctx: FlowContext, merchant_id: str, acquirer: object,
                 settings: Mapping[str, object], *, label: object = None,
                 use: bool = False) -> Account:
    """A new account of the merchant's; with `use`, its new payments go there at once."""
    package = package_of(acquirer)
    values = _clean(package, settings, None)
    account_id = new_id("acct")
    _buildable(ctx, package, account_id, values)
    now = ctx.now()
    async with ctx.db.transaction() as conn:
        if await repo.merchant_by_id(conn, merchant_id) is None:
            raise NotFound(f"no merchant {merchant_id}")
        if len(await store.accounts_of(conn, merchant_id)) >= \
                ctx.settings.acquirer_accounts_max:
            raise Conflict(f"a merchant may have {ctx.settings.acquirer_accounts_max} "
                           "acquirer accounts; change one instead")
        await store.insert_account(conn, id=account_id, merchant_id=merchant_id,
                                   acquirer=package.name, label=_label(package, label, values),
                                   now=now, **_stored(ctx.vault, package, values))
        if use:
            await repo.set_acquirer(conn, merchant_id, package.name, account_id)
        made = await store.account(conn, account_id)
    assert made is not None
    return made


async def change(ctx: FlowContext, merchant_id: str | None, account_id: str,
                 settings: Mapping[str, object], *, label: object = None) -> Account:
    """New settings (a blank one keeps what is stored): its driver is rebuilt, everywhere,
    before its next call."""
    async with ctx.db.reader() as conn:
        found = await store.account(conn, account_id, merchant_id)
        sealed = await store.sealed_settings(conn, account_id)
    if found is None or sealed is None:
        raise NotFound("no such acquirer account")
    package = package_of(found.acquirer)
    values = _clean(package, settings, json.loads(ctx.vault.open(sealed[1])))
    _buildable(ctx, package, account_id, values)
    async with ctx.db.transaction() as conn:
        await store.replace_settings(
            conn, account_id, label=_label(package, label, values) if label else found.label,
            now=ctx.now(), **_stored(ctx.vault, package, values))
        changed = await store.account(conn, account_id)
    assert changed is not None
    return changed


async def use(ctx: FlowContext, merchant_id: str, account_id: str | None,
              acquirer: str = "") -> None:
    """New payments of the merchant go to this account (None: the deployment's account of
    `acquirer`); its earlier payments stay where they were made."""
    async with ctx.db.transaction() as conn:
        if account_id is not None:
            found = await store.account(conn, account_id, merchant_id)
            if found is None:
                raise NotFound("no such acquirer account")
            acquirer = found.acquirer
        elif acquirer not in ctx.drivers.defaults:
            raise InvalidRequest(f"this checkout has no account of its own at {acquirer!r}",
                                 [{"field": "acquirer", "message": "one of " + ", ".join(
                                     sorted(ctx.drivers.defaults))}])
        if not await repo.set_acquirer(conn, merchant_id, acquirer, account_id):
            raise NotFound(f"no merchant {merchant_id}")


async def seed(conn: Conn, vault: Vault, *, merchant_id: str, account_id: str,
               acquirer: str, values: Mapping[str, str], now: datetime) -> None:
    """A sandbox demo merchant's own account, made on the first start and kept (its
    settings refreshed if the sandbox's keys changed), and used for its new payments."""
    package = package_of(acquirer)
    found = await store.sealed_settings(conn, account_id)
    label = f"{package.title} (sandbox)"
    if found is None:
        await store.insert_account(conn, id=account_id, merchant_id=merchant_id,
                                   acquirer=acquirer, label=label, now=now,
                                   **_stored(vault, package, values))
    elif json.loads(vault.open(found[1])) != dict(values):
        await store.replace_settings(conn, account_id, label=label, now=now,
                                     **_stored(vault, package, values))
    await repo.set_acquirer(conn, merchant_id, acquirer, account_id)


async def check(ctx: FlowContext, merchant_id: str | None, account_id: str) -> str | None:
    """One harmless live call with the account's credentials: what is wrong, or None. The
    result is kept on the account (unless its settings changed meanwhile). `merchant_id`
    None: the operator's, for any merchant's account."""
    async with ctx.db.reader() as conn:
        found = await store.account(conn, account_id, merchant_id)
    if found is None:
        raise NotFound("no such acquirer account")
    driver = await ctx.drivers.get(found.acquirer, account_id)
    problem: str | None = None
    try:
        await driver.check_connection()
    except AcquirerError as err:
        problem = err.detail + (" (it may pass if tried again)" if err.temporary else "")
    async with ctx.db.transaction() as conn:
        await store.record_check(conn, account_id, found.version, problem=problem,
                                 now=ctx.now())
    return problem
