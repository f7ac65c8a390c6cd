"""`create_app(settings)` builds the whole application; its lifespan owns what is shared."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from checkout.acquirers import registry
from checkout.drivers import wiring_for
from checkout.errors import CheckoutError
from checkout.flow import console as console_people
from checkout.flow import jobs, merchants
from checkout.flow.context import FlowContext, utcnow
from checkout.flow.versions import VersionCache
from checkout.http_pool import CookielessClient, LeanTransport
from checkout.metrics import MeteredTransport, Metrics, RequestMetrics
from checkout.notify.delivery import DeliveryWorker
from checkout.pages.assets import static_app
from checkout.pages.templating import make_environment
from checkout.sandbox import demo_shop, gallery
from checkout.sandbox import registry as sandbox_registry
from checkout.sandbox import remote as remote_sandbox
from checkout.sandbox import routes as sandbox_routes
from checkout.sandbox.world import Sandbox
from checkout.settings import Settings, loopback
from checkout.store import repo
from checkout.store.db import Database
from checkout.store.migrate import current_head, upgrade
from checkout.web import acquirer_webhooks, buyer, console, merchant_api, operator
from checkout.web.buyer.page import sample_page
from checkout.web.buyer.tokens import checkout_url
from checkout.web.plumbing.overload import LoadGauge
from checkout.web.plumbing.problems import checkout_error, http_error, unexpected_error
from checkout.web.plumbing.rate_limits import RateLimits
from checkout.web.plumbing.security import BodyLimit, RejectNul, SecurityHeaders

log = logging.getLogger("checkout")

def create_app(settings: Settings) -> Starlette:
    routes: list[Route | Mount] = [
        # Starlette tries routes in order: the buyers' polls, the hottest path, come first.
        *buyer.routes,
        *operator.routes,
        *merchant_api.routes,
        *acquirer_webhooks.routes,
        *console.routes,
        Mount("/static", static_app(), name="static"),
    ]
    if settings.sandbox:
        routes += [*demo_shop.routes, *gallery.routes(sample_page)]
        if not settings.sandbox_url:  # this process hosts the emulators
            routes += sandbox_routes.routes

    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _running(app, settings):
            yield

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestMetrics, metrics=metrics),
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
    app.state.metrics = metrics
    app.state.templates = make_environment(settings)
    app.state.rate_limits = RateLimits(settings)
    app.state.load = LoadGauge(settings)
    metrics.registry.register(app.state.load)  # type: ignore[arg-type]
    app.state.shop_events = {}  # the demo shop's memory of verified webhooks, by payment id
    return app


@contextlib.asynccontextmanager
async def _running(app: Starlette, settings: Settings) -> AsyncIterator[None]:
    db = Database(settings.db_url, connections=settings.db_connections)
    app.state.metrics.database.watch(db)
    db.on_wait = app.state.load.write_waited
    # Alembic runs its own event loop: give it a thread. Safe with several instances.
    await asyncio.to_thread(upgrade, settings.db_url)
    app.state.schema_head = await asyncio.to_thread(current_head)
    await jobs.take_back_own_work(db, settings.instance_name)
    metered = MeteredTransport(app.state.metrics, bases={})
    # Merchant webhooks (`webhook_workers` at a time) and the sandbox's own calls share `http`.
    async with CookielessClient(follow_redirects=False, transport=LeanTransport(
        max_connections=200, max_idle_per_origin=50)) as http, \
            CookielessClient(follow_redirects=False, transport=metered) as acquirer_http:
        sandbox: Sandbox | None = None
        if settings.sandbox:
            if settings.sandbox_url:  # another process hosts the emulators
                endpoints = await remote_sandbox.fetch_endpoints(http, settings.sandbox_url)
            else:
                _warn_if_sandbox_is_public(settings)
                sandbox = _sandbox(settings, http)
                await sandbox.start()
                endpoints = sandbox.endpoints()
            app.state.demo_webhook_secret = await merchants.seed_demo(
                db, settings, sandbox_registry.DEMO_MERCHANTS,
                sandbox.own_accounts() if sandbox is not None else None)
            await console_people.seed_demo_owners(
                db, [m.merchant_id for m in sandbox_registry.DEMO_MERCHANTS])
        else:
            endpoints = settings.acquirers
            await merchants.refuse_sandbox_keys(
                db, [m.api_key for m in sandbox_registry.DEMO_MERCHANTS])
            await console_people.refuse_demo_owners(db)
        metered.bases = {name: conf["base_url"] for name, conf in endpoints.items()}
        wiring = wiring_for(settings, acquirer_http)
        acquirers = registry.build(endpoints, wiring)
        ctx = FlowContext(db=db, settings=settings, acquirers=acquirers,
                          bases={name: dict(conf) for name, conf in endpoints.items()},
                          wiring=wiring,
                          versions=VersionCache(authoritative=db.is_sqlite,
                                                recheck_seconds=settings.poll_interval_seconds),
                          checkout_url=lambda p: checkout_url(settings, p.id, p.expires_at))
        deliveries = DeliveryWorker(db, http, settings, app.state.metrics)
        ctx.outbox_written = deliveries.wake
        app.state.db, app.state.http, app.state.flow = db, http, ctx
        app.state.sandbox = sandbox
        app.state.deliveries = deliveries
        claimer = jobs.Claimer(ctx)
        app.state.load.start()
        workers = [asyncio.create_task(jobs.run_forever(ctx, claimer)),
                   asyncio.create_task(deliveries.run_forever())]
        feed = None
        if not db.is_sqlite:  # other instances change payments too: follow their changes
            feed = asyncio.create_task(ctx.versions.follow_feed(
                partial(_versions_changed_since, db), utcnow,
                interval=min(1.0, settings.poll_interval_seconds / 2)))
        try:
            yield
        finally:
            if feed is not None:
                feed.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed
            await app.state.load.stop()
            await ctx.finish_later(settings.shutdown_grace_seconds)
            await _stop_workers(workers, claimer, deliveries, settings.shutdown_grace_seconds)
            if sandbox:
                await sandbox.stop()
            await db.close()


async def _versions_changed_since(db: Database, since: datetime) -> list[tuple[str, int]]:
    async with db.side_reader() as conn:
        return await repo.versions_changed_since(conn, since)


async def _stop_workers(workers: list[asyncio.Task[None]], claimer: jobs.Claimer,
                        deliveries: DeliveryWorker, grace_seconds: float) -> None:
    """Graceful: the background workers finish the job in hand (a webhook POST, an acquirer
    call) and take no more; what is still unfinished after the grace is given back at once,
    for another instance, instead of waiting for its claim to lapse."""
    claimer.stopping.set()
    deliveries.stop()
    _, late = await asyncio.wait(workers, timeout=grace_seconds)
    for task in late:
        task.cancel()
    for task in workers:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    try:
        await claimer.release()
        await deliveries.release()
    except Exception:  # the database may be what is failing; the claims then simply lapse
        log.exception("could not release claimed work")


def _warn_if_sandbox_is_public(settings: Settings) -> None:
    """The sandbox serves its emulated bank's private key at /sandbox/credentials (instances
    sharing it read it there): reachable beyond this machine, anyone can forge its webhooks."""
    if not loopback(settings.host):
        log.warning("!!! THE SANDBOX IS LISTENING ON %s, NOT ON LOOPBACK: anyone who reaches "
                    "it can read the emulated bank's private key at /sandbox/credentials and "
                    "take any demo payment. It is for tests on this machine; production is "
                    "CHECKOUT_MODE=production. !!!", settings.host)


def _sandbox(settings: Settings, http: httpx.AsyncClient) -> Sandbox:
    return Sandbox(
        public_url=settings.public_url, data_dir=settings.data_dir, client=http,
        session_ttl_seconds=settings.attempt_ttl_seconds,
        hold_seconds=settings.hold_seconds or None,
        auto_confirm=settings.sandbox_auto_confirm,
        delayed_capture=settings.sandbox_delayed_capture, webhooks=settings.sandbox_webhooks,
        notify_url=settings.sandbox_notify_url,
        webhook_paths={p.name: p.webhook_path for p in registry.PACKAGES},
        slow={method: float(seconds) for method, _, seconds in
              (item.partition("=") for item in settings.sandbox_slow.split(",") if item)})
