"""The `checkout` command: `checkout serve`, `checkout migrate`."""

from __future__ import annotations

import argparse
import sys

from checkout.logs import configure as configure_logging
from checkout.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="checkout", description="T-Pay hosted checkout")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the checkout (sandbox mode unless configured)")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--no-access-log", action="store_true",
                       help="do not log every request (benchmarks, noisy proxies)")
    sub.add_parser("migrate", help="bring the database schema up to date")
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
            return _serve(settings, access_log=not args.no_access_log)
        settings = Settings.from_env()
        from checkout.store.migrate import upgrade

        upgrade(settings.db_url)
        print("database is up to date")
        return 0
    except ConfigError as err:
        print(f"checkout: {err}", file=sys.stderr)
        return 2


def _serve(settings: Settings, access_log: bool = True) -> int:
    import uvicorn

    from checkout.app import create_app

    if settings.sandbox:
        print(f"Sandbox mode: demo shop at {settings.public_url}/  (API key sk_test_demo)",
              flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level="info", access_log=access_log, proxy_headers=False,
                timeout_graceful_shutdown=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
