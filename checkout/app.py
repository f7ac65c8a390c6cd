"""`create_app(settings)` builds the whole application; its lifespan owns what is shared."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from checkout import jobs
from checkout.acquirers.bank131 import Bank131Driver
from checkout.acquirers.base import Acquirer
from checkout.errors import CheckoutError
from checkout.flow.context import FlowContext
from checkout.flow.versions import VersionCache
from checkout.notify.delivery import DeliveryWorker
from checkout.notify.signing import new_secret
from checkout.sandbox import keys as sandbox_keys
from checkout.sandbox import routes as sandbox_routes
from checkout.sandbox.bank131.emulator import Bank131Emulator, EmulatorConfig
from checkout.settings import DEMO_API_KEY, ROOT, ConfigError, Settings
from checkout.store import repo
from checkout.store import webhooks as webhook_store
from checkout.store.db import Database
from checkout.store.migrate import upgrade
from checkout.web import (
    acquirer_webhooks,
    demo_shop,
    events_api,
    hosted_page,
    merchant_api,
    openapi,
    payment_methods_api,
    payment_operations,
)
from checkout.web.merchant_auth import hash_key
from checkout.web.problems import checkout_error, http_error, unexpected_error
from checkout.web.security import BodyLimit, RejectNul, SecurityHeaders
from checkout.web.templating import make_environment
from checkout.web.tokens import checkout_url

log = logging.getLogger("checkout")

SANDBOX_PROJECT = "sandbox-project"
DEMO_MERCHANT_ID = "mer_demo"
DEMO_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*"]


def create_app(settings: Settings) -> Starlette:
    routes: list[Route | Mount] = [
        Route("/healthz", _healthz, methods=["GET"]),
        *merchant_api.routes,
        *payment_operations.routes,
        *payment_methods_api.routes,
        *events_api.routes,
        *openapi.routes,
        *hosted_page.routes,
        *acquirer_webhooks.routes,
        Mount("/static", StaticFiles(directory=str(ROOT / "static")), name="static"),
    ]
    if settings.sandbox:
        routes += [*sandbox_routes.routes, *demo_shop.routes]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _running(app, settings):
            yield

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, https=settings.public_url.startswith("https://")),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
            Middleware(RejectNul),
        ],
        exception_handlers={
            CheckoutError: checkout_error,
            HTTPException: http_error,
            Exception: unexpected_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = make_environment(settings)
    app.state.shop_events = {}  # the demo shop's memory of verified webhooks, by payment id
    return app


@contextlib.asynccontextmanager
async def _running(app: Starlette, settings: Settings) -> AsyncIterator[None]:
    db = Database(settings.db_url)
    # Alembic runs its own event loop: give it a thread. Safe with several instances.
    await asyncio.to_thread(upgrade, settings.db_url)
    async with httpx.AsyncClient(follow_redirects=False) as http:
        acquirers: dict[str, Acquirer] = {}
        emulator: Bank131Emulator | None = None
        if settings.sandbox:
            emulator, acquirers["bank131"] = _sandbox(settings, http)
            await emulator.start()
            app.state.demo_webhook_secret = await _seed_demo_merchant(db, settings)
        else:
            acquirers["bank131"] = _bank131(settings, http)
            await _refuse_sandbox_keys(db)
        ctx = FlowContext(db=db, settings=settings, acquirers=acquirers,
                          versions=VersionCache(authoritative=db.is_sqlite,
                                                recheck_seconds=settings.poll_interval_seconds),
                          checkout_url=lambda p: checkout_url(settings, p.id, p.expires_at))
        deliveries = DeliveryWorker(db, http, settings)
        ctx.outbox_written = deliveries.wake
        app.state.db, app.state.http, app.state.flow = db, http, ctx
        app.state.bank131_emulator = emulator
        app.state.deliveries = deliveries
        workers = [asyncio.create_task(jobs.run_forever(ctx)),
                   asyncio.create_task(deliveries.run_forever())]
        try:
            yield
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if emulator:
                await emulator.stop()
            await db.close()


def _sandbox(settings: Settings, http: httpx.AsyncClient) -> tuple[Bank131Emulator, Acquirer]:
    keys = sandbox_keys.load_or_create(settings.data_dir)
    emulator = Bank131Emulator(EmulatorConfig(
        public_url=settings.public_url,
        webhook_url=f"{settings.public_url}/webhooks/bank131",
        project=SANDBOX_PROJECT,
        partner_public_pem=keys.partner.public_pem,
        bank_private_pem=keys.bank.private_pem,
        db_path=settings.data_dir / "sandbox" / "bank131.db",
        session_ttl_seconds=settings.attempt_ttl_seconds,
        auto_confirm=settings.sandbox_auto_confirm,
        delayed_capture=settings.sandbox_delayed_capture,
        hold_seconds=settings.hold_seconds,
        slow={method: float(seconds) for method, _, seconds in
              (item.partition("=") for item in settings.sandbox_slow.split(",") if item)},
        webhooks=settings.sandbox_webhooks,
    ), http)
    driver = Bank131Driver(
        base_url=f"{settings.public_url}/sandbox/bank131/api/v1/",
        project=SANDBOX_PROJECT,
        private_key_pem=keys.partner.private_pem,
        acquirer_public_key_pem=keys.bank.public_pem,
        client=http,
    )
    return emulator, driver


def _bank131(settings: Settings, http: httpx.AsyncClient) -> Acquirer:
    from pathlib import Path

    return Bank131Driver(
        base_url=settings.bank131_base_url,
        project=settings.bank131_project,
        private_key_pem=Path(settings.bank131_private_key_path).read_bytes(),
        acquirer_public_key_pem=Path(settings.bank131_public_key_path).read_bytes(),
        client=http,
    )


async def _seed_demo_merchant(db: Database, settings: Settings) -> str:
    """The sandbox's demo merchant, whose webhooks go to the demo shop. Returns their secret."""
    secret_file = settings.data_dir / "sandbox" / "demo_webhook_secret"
    if not secret_file.exists():
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(new_secret())
        secret_file.chmod(0o600)
    secret = secret_file.read_text().strip()
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await repo.upsert_merchant(conn, id=DEMO_MERCHANT_ID, name="Demo shop",
                                   return_origins=DEMO_ORIGINS, embed_origins=DEMO_ORIGINS,
                                   now=now)
        await repo.ensure_key(conn, key_id="key_demo", merchant_id=DEMO_MERCHANT_ID,
                              key_hash=hash_key(DEMO_API_KEY), hint="demo", now=now)
        await webhook_store.upsert_endpoint(conn, id="we_demo", merchant_id=DEMO_MERCHANT_ID,
                                            url=f"{settings.public_url}/shop/webhooks",
                                            secret=secret, now=now)
    return secret


async def _refuse_sandbox_keys(db: Database) -> None:
    async with db.reader() as conn:
        if await repo.merchant_by_key_hash(conn, hash_key(DEMO_API_KEY)):
            raise ConfigError(f"production mode refuses to run with the sandbox key "
                              f"{DEMO_API_KEY!r}: rotate that merchant's key first")


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "mode": request.app.state.settings.mode})
