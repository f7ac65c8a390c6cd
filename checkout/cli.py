"""The `checkout` command: `checkout serve`, `checkout migrate`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from checkout.domain.roles import Role
from checkout.errors import CheckoutError
from checkout.logs import configure as configure_logging
from checkout.settings import DEFAULT_ACQUIRER, KNOWN_ACQUIRERS, ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="checkout", description="T-Pay hosted checkout")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the checkout (sandbox mode unless configured)")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--no-access-log", action="store_true",
                       help="do not log every request (benchmarks, noisy proxies)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    secrets = sub.add_parser("secrets", help="stored secrets (recurrent tokens)")
    secrets.add_argument("action", choices=["rotate"],
                         help="re-seal every stored secret with the newest of "
                              "CHECKOUT_SECRET_KEYS, so that older keys can be retired")
    _merchant_commands(sub)
    _account_commands(sub)
    _console_commands(sub)
    args = parser.parse_args(argv)
    configure_logging()

    try:
        if args.command == "serve":
            import os

            env = dict(os.environ)
            if args.host:
                env["CHECKOUT_HOST"] = args.host
            if args.port:
                env["CHECKOUT_PORT"] = str(args.port)
            settings = Settings.from_env(env)
            configure_logging(as_json=settings.logs_as_json, instance=settings.instance_name)
            return _serve(settings, access_log=not args.no_access_log)
        settings = Settings.from_env()
        from checkout.store.migrate import upgrade

        upgrade(settings.db_url)
        if args.command == "migrate":
            print("database is up to date")
            return 0
        if args.command == "secrets":
            return asyncio.run(_reseal(settings))
        if args.command == "console":
            return asyncio.run(_console(args, settings))
        if args.command == "acquirer-account":
            return asyncio.run(_account(args, settings))
        return asyncio.run(_merchant(args, settings))
    except ConfigError as err:
        print(f"checkout: {err}", file=sys.stderr)
        return 2
    except CheckoutError as err:
        print(f"checkout: {err.detail}", file=sys.stderr)
        for problem in err.extra.get("errors") or []:
            print(f"  {problem['field']}: {problem['message']}", file=sys.stderr)
        return 1


def _merchant_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    merchant = sub.add_parser("merchant", help="manage merchants, their keys and webhooks")
    cmds = merchant.add_subparsers(dest="action", required=True)
    add = cmds.add_parser("add", help="add a merchant; prints its first API key once")
    add.add_argument("--name", required=True)
    add.add_argument("--return-origin", action="append", default=[], required=True,
                     help="an origin return URLs may use, e.g. https://shop.example "
                          "(repeatable; a port may be '*')")
    add.add_argument("--embed-origin", action="append", default=[],
                     help="an origin allowed to frame the checkout (repeatable)")
    add.add_argument("--acquirer", default=DEFAULT_ACQUIRER,
                     help=f"one of {', '.join(KNOWN_ACQUIRERS)} (default: {DEFAULT_ACQUIRER})")
    language = cmds.add_parser("set-language", help="the page's language when the buyer's "
                               "browser asks for none of ru, en, ka")
    language.add_argument("merchant_id")
    language.add_argument("language", choices=["ru", "en", "ka"])
    brand = cmds.add_parser("brand", help="the logo and accent colour on the checkout page")
    brand.add_argument("merchant_id")
    brand.add_argument("--logo", default="", help="an https image URL (empty: none)")
    brand.add_argument("--accent", default="", help="#rrggbb, readable under black or white "
                       "text (empty: the default)")
    switch = cmds.add_parser("set-acquirer", help="send the merchant's new payments to "
                             "another acquirer (earlier payments stay where they are)")
    switch.add_argument("merchant_id")
    switch.add_argument("acquirer")
    cmds.add_parser("list", help="list merchants (no secrets)")
    rotate = cmds.add_parser("rotate-key", help="issue a new API key; older ones expire")
    rotate.add_argument("merchant_id")
    rotate.add_argument("--overlap-hours", type=float, default=24.0,
                        help="how long older keys keep working (default 24)")
    hook = cmds.add_parser("add-webhook", help="add a webhook endpoint; prints its secret once")
    hook.add_argument("merchant_id")
    hook.add_argument("url")
    unhook = cmds.add_parser("remove-webhook", help="stop sending to an endpoint")
    unhook.add_argument("endpoint_id")


async def _merchant(args: argparse.Namespace, settings: Settings) -> int:
    from checkout.flow import merchants as admin
    from checkout.flow import webhook_endpoints
    from checkout.store.db import Database

    db = Database(settings.db_url)
    try:
        if args.action == "add":
            key = await admin.add_merchant(db, settings, name=args.name,
                                           return_origins=args.return_origin,
                                           embed_origins=args.embed_origin,
                                           acquirer=args.acquirer)
            print(json.dumps({"merchant_id": key.merchant_id, "api_key": key.api_key,
                              "note": "the key is shown only now; keep it secret"}))
        elif args.action == "brand":
            await admin.set_brand(db, settings, args.merchant_id, logo_url=args.logo,
                                  accent_color=args.accent)
            print(json.dumps({"merchant_id": args.merchant_id, "logo_url": args.logo or None,
                              "accent_color": args.accent.lower() or None}))
        elif args.action == "set-language":
            await admin.set_language(db, args.merchant_id, args.language)
            print(json.dumps({"merchant_id": args.merchant_id, "language": args.language}))
        elif args.action == "set-acquirer":
            await admin.set_acquirer(db, settings, args.merchant_id, args.acquirer)
            print(json.dumps({"merchant_id": args.merchant_id, "acquirer": args.acquirer}))
        elif args.action == "list":
            print(json.dumps(await admin.describe(db), indent=2))
        elif args.action == "rotate-key":
            key = await admin.rotate_key(db, settings, args.merchant_id,
                                         timedelta(hours=args.overlap_hours))
            print(json.dumps({"merchant_id": key.merchant_id, "api_key": key.api_key,
                              "older_keys_stop_in_hours": args.overlap_hours}))
        elif args.action == "add-webhook":
            endpoint = await webhook_endpoints.create(db, settings, args.merchant_id, args.url)
            print(json.dumps({"endpoint_id": endpoint.endpoint.id, "url": endpoint.endpoint.url,
                              "secret": endpoint.secret}))
        else:
            await admin.remove_webhook(db, args.endpoint_id)
            print(json.dumps({"removed": args.endpoint_id}))
    finally:
        await db.close()
    return 0


def _account_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    account = sub.add_parser("acquirer-account", help="merchants' own acquirer accounts "
                             "(their contracts); settings are read as JSON from stdin, so "
                             "no secret lands in a shell's history")
    cmds = account.add_subparsers(dest="action", required=True)
    add = cmds.add_parser("add", help="add an account to a merchant")
    add.add_argument("merchant_id")
    add.add_argument("acquirer", help=f"one of {', '.join(KNOWN_ACQUIRERS)}")
    add.add_argument("--label", default="")
    add.add_argument("--use", action="store_true", help="send its new payments there at once")
    change = cmds.add_parser("change", help="replace settings (a blank or absent secret keeps "
                             "the stored one)")
    change.add_argument("account_id")
    change.add_argument("--label", default="")
    listing = cmds.add_parser("list", help="a merchant's accounts (no secrets: hints only)")
    listing.add_argument("merchant_id")
    check = cmds.add_parser("check", help="one harmless live call: does it connect?")
    check.add_argument("account_id")
    use = cmds.add_parser("use", help="send a merchant's new payments to an account (earlier "
                          "payments stay where they were made)")
    use.add_argument("merchant_id")
    use.add_argument("account_id", nargs="?", default=None)
    use.add_argument("--default", metavar="ACQUIRER", default="",
                     help="instead: this checkout's own account at ACQUIRER")


async def _account(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from checkout.flow import acquirer_accounts
    from checkout.store import acquirer_accounts as stored
    from checkout.store.db import Database

    def shown(account: Any) -> dict[str, Any]:
        return {k: v.isoformat() if hasattr(v, "isoformat") else v
                for k, v in asdict(account).items()}

    def settings_from_stdin() -> dict[str, Any]:
        text = sys.stdin.read().strip() or "{}"
        try:
            given = json.loads(text)
        except ValueError:
            given = None
        if not isinstance(given, dict):
            raise ConfigError("the settings on stdin must be a JSON object")
        return given

    db = Database(settings.db_url)
    try:
        if args.action == "list":
            async with db.reader() as conn:
                accounts = await stored.accounts_of(conn, args.merchant_id)
            print(json.dumps([shown(a) for a in accounts], indent=2))
            return 0
        async with _flow_context(db, settings) as ctx:
            if args.action == "add":
                made = await acquirer_accounts.create(
                    ctx, args.merchant_id, args.acquirer, settings_from_stdin(),
                    label=args.label or None, use=args.use)
                print(json.dumps(shown(made)))
            elif args.action == "change":
                changed = await acquirer_accounts.change(ctx, None, args.account_id,
                                                         settings_from_stdin(),
                                                         label=args.label or None)
                print(json.dumps(shown(changed)))
            elif args.action == "check":
                problem = await acquirer_accounts.check(ctx, None, args.account_id)
                print(json.dumps({"account_id": args.account_id, "ok": problem is None,
                                  "problem": problem}))
                return 0 if problem is None else 1
            else:
                if bool(args.account_id) == bool(args.default):
                    raise ConfigError("name an account, or --default ACQUIRER")
                await acquirer_accounts.use(ctx, args.merchant_id, args.account_id or None,
                                            args.default)
                print(json.dumps({"merchant_id": args.merchant_id,
                                  "account_id": args.account_id,
                                  "acquirer": args.default or None}))
    finally:
        await db.close()
    return 0


@contextlib.asynccontextmanager
async def _flow_context(db: Any, settings: Settings) -> AsyncIterator[Any]:
    """What the flow needs to build and call acquirer drivers from the command line: the
    acquirers' addresses from the environment, or (sandbox) from the running checkout that
    hosts the emulators."""
    from checkout.acquirers import registry
    from checkout.drivers import wiring_for
    from checkout.flow.context import FlowContext
    from checkout.flow.versions import VersionCache
    from checkout.http_pool import CookielessClient
    from checkout.sandbox import remote

    async with CookielessClient(follow_redirects=False) as http:
        endpoints: dict[str, dict[str, Any]] = dict(settings.acquirers)
        if settings.sandbox:
            host = settings.sandbox_url or settings.public_url
            try:
                endpoints = await remote.fetch_endpoints(http, host, wait_seconds=5)
            except ConfigError as err:
                raise ConfigError(f"{err}: in sandbox mode the checkout must be running "
                                  "(its emulators are the acquirers)") from None

        wiring = wiring_for(settings, http)
        yield FlowContext(db=db, settings=settings, acquirers=registry.build(endpoints, wiring),
                          versions=VersionCache(authoritative=True, recheck_seconds=1.0),
                          checkout_url=lambda payment: "", bases=endpoints, wiring=wiring)


def _console_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    console = sub.add_parser("console", help="the merchant console's users")
    cmds = console.add_subparsers(dest="action", required=True)
    add = cmds.add_parser("add-user", help="add a user; the password is read from stdin")
    add.add_argument("--email", required=True)
    add.add_argument("--operator", action="store_true",
                     help="an operator of this deployment: every merchant")
    add.add_argument("--merchant", help="a merchant the user belongs to (then --role)")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.OWNER.value)
    grant = cmds.add_parser("grant", help="give a user a role at a merchant (or change it)")
    grant.add_argument("--email", required=True)
    grant.add_argument("--merchant", required=True)
    grant.add_argument("--role", choices=[r.value for r in Role], required=True)
    remove = cmds.add_parser("remove-user", help="remove a user (the audit log keeps its "
                             "email)")
    remove.add_argument("--email", required=True)
    reset = cmds.add_parser("reset-access", help="for a person locked out: a new password "
                            "(read from stdin), the second factor off, every session ended")
    reset.add_argument("--email", required=True)


async def _console(args: argparse.Namespace, settings: Settings) -> int:
    from checkout.flow import console
    from checkout.store.db import Database

    db = Database(settings.db_url)
    try:
        if args.action == "add-user":
            password = sys.stdin.readline().rstrip("\n")
            user_id = await console.create_user(db, settings, email=args.email,
                                                password=password, operator=args.operator)
            if args.merchant:
                await console.grant_by_email(db, email=args.email, merchant_id=args.merchant,
                                             role=Role(args.role))
            print(json.dumps({"user_id": user_id, "email": console.normal_email(args.email),
                              "operator": args.operator, "merchant": args.merchant,
                              "role": args.role if args.merchant else None}))
        elif args.action == "grant":
            await console.grant_by_email(db, email=args.email, merchant_id=args.merchant,
                                         role=Role(args.role))
            print(json.dumps({"email": console.normal_email(args.email),
                              "merchant": args.merchant, "role": args.role}))
        elif args.action == "reset-access":
            ended = await console.reset_access(db, settings, email=args.email,
                                               password=sys.stdin.readline().rstrip("\n"))
            print(json.dumps({"email": console.normal_email(args.email),
                              "second_factor": "off", "sessions_ended": ended}))
        else:
            await console.remove_user(db, args.email)
            print(json.dumps({"removed": console.normal_email(args.email)}))
    finally:
        await db.close()
    return 0


async def _reseal(settings: Settings) -> int:
    from checkout.flow.secrets import reseal_all
    from checkout.store.db import Database
    from checkout.vault import vault_for

    db = Database(settings.db_url)
    try:
        count = await reseal_all(db, vault_for(settings.secret_keys))
    finally:
        await db.close()
    print(json.dumps({"resealed": count, "with_key": 1, "of_keys": len(settings.secret_keys)}))
    return 0


def _serve(settings: Settings, access_log: bool = True) -> int:
    import uvicorn

    from checkout.app import create_app

    if settings.sandbox:
        print(f"Sandbox mode: demo shop at {settings.public_url}/  (API key sk_test_demo)\n"
              f"Merchant console: {settings.public_url}/console/login  as owner@demo.test, "
              f"password sandbox-owner-pass", flush=True)
    uvicorn.Server(server_config(settings, create_app(settings), access_log=access_log)).run()
    return 0


def server_config(settings: Settings, app: Any, *, access_log: bool = True) -> Any:
    """uvicorn's configuration: every limit from settings, proxies trusted only by name."""
    import uvicorn

    trusted = settings.trusted_proxies
    # log_config=None: uvicorn's records go through our handler (JSON, tokens cut out).
    return uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, log_level="info",
        access_log=access_log,
        # X-Forwarded-For/-Proto only from the named balancers: from anyone else they would
        # let a client choose its own address (rate limits, YooKassa's network check).
        proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
        limit_concurrency=settings.http_limit_concurrency,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds))


if __name__ == "__main__":
    sys.exit(main())
