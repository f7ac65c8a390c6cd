"""Merchants: adding them, their keys, webhooks, acquirer, brand (the `checkout merchant …`
commands), and the sandbox's demo merchants.

Secrets (API keys, webhook signing secrets) are returned once, to be shown once; only their
hashes (keys) or the secret sealed by the vault (webhook secrets, which we must sign with) are
kept, and neither is ever logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from checkout.domain.api_keys import hash_key
from checkout.domain.branding import BrandError, text_on
from checkout.errors import InvalidRequest, NotFound
from checkout.flow import acquirer_accounts, api_keys
from checkout.flow.context import utcnow
from checkout.flow.ids import new_id
from checkout.notify.signing import new_secret
from checkout.pages.i18n import LANGUAGES
from checkout.settings import DEFAULT_ACQUIRER, KNOWN_ACQUIRERS, ConfigError, Settings
from checkout.store import repo, webhooks
from checkout.store.db import Database
from checkout.vault import vault_for


def check_origin(origin: str, settings: Settings | None = None) -> str:
    """An origin return URLs may use or that may frame the page. `http://` and any-port
    (`:*`) origins are for the sandbox's demo shops: production takes https, one port."""
    parts = urlsplit(origin.replace(":*", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.username:
        raise InvalidRequest(f"{origin!r} is not an origin like https://shop.example[:port]")
    if settings is not None and not settings.sandbox:
        if parts.scheme != "https":
            raise InvalidRequest(f"{origin!r}: production origins must use https")
        if ":*" in origin:
            raise InvalidRequest(f"{origin!r}: production origins name one port, not ':*'")
    return origin.rstrip("/")


def check_acquirer(settings: Settings, acquirer: str) -> str:
    if acquirer not in KNOWN_ACQUIRERS:
        raise InvalidRequest(f"unknown acquirer {acquirer!r}; one of "
                             f"{', '.join(KNOWN_ACQUIRERS)}")
    if not settings.sandbox and acquirer not in settings.acquirers:
        raise InvalidRequest(f"the {acquirer} acquirer is not configured here (see its "
                             f"settings in the README)")
    return acquirer


async def set_acquirer(db: Database, settings: Settings, merchant_id: str,
                       acquirer: str) -> None:
    """Switch a merchant's acquirer: new payments go there; earlier ones stay where they are."""
    check_acquirer(settings, acquirer)
    async with db.transaction() as conn:
        if not await repo.set_acquirer(conn, merchant_id, acquirer):
            raise NotFound(f"no merchant {merchant_id}")


@dataclass(frozen=True)
class CheckoutLook:
    """What the merchant's checkout page shows and where it may go: the console's settings."""

    name: str
    logo_url: str = ""
    accent_color: str = ""
    language: str = ""  # "" : Russian unless the buyer's browser asks for one of ours
    return_origins: tuple[str, ...] = ()
    embed_origins: tuple[str, ...] = ()


def brand_problems(settings: Settings, logo_url: str, accent_color: str) -> dict[str, str]:
    """What is wrong with a logo and an accent colour, per field (empty: nothing)."""
    problems: dict[str, str] = {}
    if logo_url:
        parts = urlsplit(logo_url)
        allowed = ("https",) if not settings.sandbox else ("https", "http")
        if parts.scheme not in allowed or not parts.hostname or parts.username or \
                len(logo_url) > 2000 or any(c in logo_url for c in " ;'\"\\"):
            problems["logo_url"] = f"the logo must be an {' or '.join(allowed)} image URL"
    if accent_color:
        try:
            text_on(accent_color)
        except BrandError as err:
            problems["accent_color"] = str(err)
    return problems


async def set_brand(db: Database, settings: Settings, merchant_id: str, *, logo_url: str,
                    accent_color: str) -> None:
    """The merchant's logo and accent colour on its checkout page ("" removes them)."""
    problems = brand_problems(settings, logo_url, accent_color)
    if problems:
        raise InvalidRequest(next(iter(problems.values())))
    async with db.transaction() as conn:
        if not await repo.set_brand(conn, merchant_id, logo_url or None,
                                    accent_color.lower() or None):
            raise NotFound(f"no merchant {merchant_id}")


async def set_checkout(db: Database, settings: Settings, merchant_id: str,
                       look: CheckoutLook) -> None:
    """All of the checkout's look and origins, checked together: every problem at once (per
    field), and nothing written unless all of it is good."""
    problems = brand_problems(settings, look.logo_url, look.accent_color)
    if not look.name.strip() or len(look.name) > 200:
        problems["name"] = "a display name of 1 to 200 characters"
    if look.language and look.language not in LANGUAGES:
        problems["language"] = f"one of {', '.join(LANGUAGES)}"
    origins: dict[str, list[str]] = {"return_origins": [], "embed_origins": []}
    for field, given in (("return_origins", look.return_origins),
                         ("embed_origins", look.embed_origins)):
        for origin in given:
            try:
                origins[field].append(check_origin(origin, settings))
            except InvalidRequest as err:
                problems[field] = err.detail
    if not origins["return_origins"] and "return_origins" not in problems:
        problems["return_origins"] = "at least one origin buyers return to"
    if problems:
        raise InvalidRequest("the settings have invalid fields",
                             [{"field": k, "message": v} for k, v in problems.items()])
    async with db.transaction() as conn:
        if not await repo.set_checkout(
                conn, merchant_id, name=look.name.strip(), logo_url=look.logo_url or None,
                accent_color=look.accent_color.lower() or None, language=look.language or None,
                return_origins=origins["return_origins"],
                embed_origins=origins["embed_origins"]):
            raise NotFound(f"no merchant {merchant_id}")


async def set_language(db: Database, merchant_id: str, language: str) -> None:
    """The page's language for buyers whose browser asks for none of ours."""
    if language not in LANGUAGES:
        raise InvalidRequest(f"the language must be one of {', '.join(LANGUAGES)}")
    async with db.transaction() as conn:
        if not await repo.set_language(conn, merchant_id, language):
            raise NotFound(f"no merchant {merchant_id}")


async def add_merchant(db: Database, settings: Settings, *, name: str,
                       return_origins: list[str], embed_origins: list[str],
                       acquirer: str = "") -> api_keys.NewKey:
    acquirer = check_acquirer(settings, acquirer or DEFAULT_ACQUIRER)
    if not name.strip():
        raise InvalidRequest("a merchant needs a display name")
    if not return_origins:
        raise InvalidRequest("a merchant needs at least one return origin")
    origins = [check_origin(o, settings) for o in return_origins]
    embeds = [check_origin(o, settings) for o in embed_origins]
    merchant_id, now = new_id("mer"), utcnow()
    async with db.transaction() as conn:
        await repo.upsert_merchant(conn, id=merchant_id, name=name.strip(),
                                   return_origins=origins, embed_origins=embeds, now=now,
                                   acquirer=acquirer)
        return await api_keys.issue(conn, settings, merchant_id, now)


async def rotate_key(db: Database, settings: Settings, merchant_id: str,
                     overlap: timedelta) -> api_keys.NewKey:
    """A new key now; every older key keeps working for `overlap`, then stops."""
    return await api_keys.roll(db, settings, merchant_id, overlap)


async def remove_webhook(db: Database, endpoint_id: str) -> None:
    async with db.transaction() as conn:
        await webhooks.disable_endpoint(conn, endpoint_id, "removed by an operator", utcnow())


async def describe(db: Database) -> list[dict[str, object]]:
    """Everything about every merchant but its secrets."""
    now = utcnow()
    out: list[dict[str, object]] = []
    async with db.reader() as conn:
        for m in await repo.all_merchants(conn):
            keys = [{"id": k.id, "ends_with": k.hint,
                     "expires_at": k.expires_at.isoformat() if k.expires_at else None,
                     "active": k.expires_at is None or k.expires_at > now}
                    for k in await repo.keys_of(conn, m.id)]
            endpoints = await webhooks.endpoints_of(conn, m.id)
            out.append({"id": m.id, "name": m.name, "return_origins": list(m.return_origins),
                        "embed_origins": list(m.embed_origins), "acquirer": m.acquirer,
                        # Its own acquirer account (`checkout acquirer-account list`), or
                        # None: the checkout's own account at `acquirer`.
                        "acquirer_account_id": m.acquirer_account_id,
                        "default_language": m.default_language or None,
                        "logo_url": m.logo_url or None, "accent_color": m.accent_color or None,
                        "keys": keys, "webhooks": endpoints})
    return out


# ---- the sandbox's demo merchants ----------------------------------------------------------

DEMO_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*"]


class DemoAccount(Protocol):
    """A sandbox merchant to seed (the sandbox's `DemoMerchant`)."""

    @property
    def acquirer(self) -> str: ...
    @property
    def merchant_id(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def account_id(self) -> str: ...


async def seed_demo(db: Database, settings: Settings, accounts: Iterable[DemoAccount],
                    own_accounts: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The sandbox's demo merchants, one or two per acquirer, whose webhooks go to the demo
    shop; those with an account of their own get it (`own_accounts`: its settings, known to
    the instance hosting the emulators, which starts first). Returns their webhook secret:
    made by the first instance, read from the database by the others (they all verify the
    demo shop's webhooks)."""
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await db.serialize(conn, "seed-demo-merchants")  # instances starting together
        vault = vault_for(settings.secret_keys)
        stored = await webhooks.endpoint_secret(conn, "we_demo")
        secret = vault.open(stored) if stored else new_secret()
        for account in accounts:
            suffix = account.merchant_id.removeprefix("mer_")
            await repo.upsert_merchant(conn, id=account.merchant_id, name="Demo shop",
                                       return_origins=DEMO_ORIGINS, embed_origins=DEMO_ORIGINS,
                                       now=now, acquirer=account.acquirer)
            await repo.ensure_key(conn, key_id=f"key_{suffix}", merchant_id=account.merchant_id,
                                  key_hash=hash_key(account.api_key), hint="demo", now=now)
            if account.language:
                await repo.set_language(conn, account.merchant_id, account.language)
            if account.account_id and own_accounts and account.account_id in own_accounts:
                await acquirer_accounts.seed(
                    conn, vault, merchant_id=account.merchant_id, account_id=account.account_id,
                    acquirer=account.acquirer, values=own_accounts[account.account_id], now=now)
            await webhooks.upsert_endpoint(conn, id=f"we_{suffix}",
                                           merchant_id=account.merchant_id,
                                           url=f"{settings.public_url}/shop/webhooks",
                                           secret=vault.seal(secret), now=now)
    return secret


async def refuse_sandbox_keys(db: Database, keys: Iterable[str]) -> None:
    async with db.reader() as conn:
        for key in keys:
            if await repo.merchant_by_key_hash(conn, hash_key(key)):
                raise ConfigError(f"production mode refuses to run with the sandbox key "
                                  f"{key!r}: rotate that merchant's key first")
