"""Settings are read once, from the environment, into one frozen object.

Sandbox mode is the default: no configuration gives a working checkout with the emulated
acquirer and a demo shop. Production mode must be asked for and refuses sandbox secrets.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from checkout.acquirers import registry
from checkout.acquirers.package import flag

ROOT = Path(__file__).resolve().parent.parent
# The acquirers this checkout knows, and the one a merchant added without naming one gets.
KNOWN_ACQUIRERS = registry.NAMES
DEFAULT_ACQUIRER = registry.DEFAULT
_SANDBOX_SECRET = "sandbox-secret-not-for-production"  # noqa: S105 - deliberately public


class ConfigError(Exception):
    """The configuration cannot run; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    mode: str = "sandbox"  # "sandbox" or "production"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    database_url: str = ""
    data_dir: Path = ROOT / "var"
    # Signing keys for checkout tokens, newest first; older ones still verify (rotation).
    secret_keys: tuple[str, ...] = (_SANDBOX_SECRET,)
    payment_ttl_seconds: int = 3600
    # The acquirer gives the buyer 20 minutes after the redirect; the sandbox mimics it.
    attempt_ttl_seconds: int = 1200
    # After our deadline we wait this long for the acquirer's own verdict before asking it.
    attempt_grace_seconds: int = 30
    poll_interval_seconds: float = 2.0
    return_delay_seconds: int = 5
    reconcile_interval_seconds: float = 5.0
    # A live attempt nobody has heard about for this long is asked about at the acquirer:
    # the safety net for lost webhooks, and the only news source when webhooks are off.
    acquirer_poll_seconds: float = 15.0
    # How long we wait for an acquirer's answer before treating the call as lost.
    acquirer_timeout_seconds: float = 15.0
    # Production: per acquirer, where it is and who we are there (each acquirer package's
    # `settings`). Empty in sandbox mode, where every acquirer is emulated. A merchant uses
    # one of these.
    acquirers: dict[str, dict[str, str]] = field(default_factory=dict)
    # A hold not captured is released `hold_margin_seconds` before its acquirer's own window
    # ends (T-Bank: the 7th Moscow calendar day, the day of authorization counted; TBC: 30
    # days), or after `hold_seconds` if that is set (> 0) and sooner. In the sandbox the
    # emulators hold this long too.
    hold_seconds: int = 0
    hold_margin_seconds: int = 3600
    sandbox_auto_confirm: bool = False
    sandbox_webhooks: bool = True
    sandbox_delayed_capture: bool = True
    # Fault injection for tests: "session/capture=3,session/refund=1" delays those answers.
    sandbox_slow: str = ""
    max_body_bytes: int = 64 * 1024
    # Merchant webhooks: each attempt times out after this long; a failed one is retried with
    # exponential backoff (first wait `webhook_retry_base_seconds`, doubling, at most
    # `webhook_retry_max_seconds`, ±20 % jitter) until the event is `webhook_retry_window_seconds`
    # old; an endpoint failing that long is disabled.
    webhook_timeout_seconds: float = 15.0
    webhook_retry_base_seconds: float = 5.0
    webhook_retry_max_seconds: float = 6 * 3600.0
    webhook_retry_window_seconds: float = 3 * 24 * 3600.0
    delivery_interval_seconds: float = 1.0
    # The pool that sends them, and how much of it one endpoint or one merchant may hold at
    # once (over every instance): a slow or hanging endpoint delays only its own merchant.
    webhook_workers: int = 16
    webhook_endpoint_concurrency: int = 2
    webhook_merchant_concurrency: int = 4
    # An event may be resent this many times (over all of its endpoints).
    webhook_resend_max: int = 5
    # A merchant may have this many endpoints; after a secret is rotated, the previous one
    # still signs (beside the new one) for this long unless the rotation names another time
    # (at most `webhook_secret_overlap_max_hours`).
    webhook_endpoints_max: int = 16
    acquirer_accounts_max: int = 10  # a merchant's own acquirer accounts
    webhook_secret_overlap_hours: float = 24.0
    webhook_secret_overlap_max_hours: float = 7 * 24.0
    # A key rolled in the console keeps working beside its successor for this long.
    api_key_overlap_hours: float = 24.0
    # Retention: applied acquirer webhooks, idempotency keys and finished deliveries are
    # deleted when older than this (0 keeps them for ever).
    acquirer_events_retention_days: float = 90.0
    idempotency_keys_retention_hours: float = 24.0
    deliveries_retention_days: float = 30.0
    retention_interval_seconds: float = 600.0
    # Per client address, "N/period" (period: second, minute, hour or day); over it the
    # answer is 429 with Retry-After. Only failures count for logins and acquirer webhooks.
    rate_limit_auth_failures: str = "20/minute"
    rate_limit_acquirer_webhooks: str = "600/minute"  # refused ones only
    rate_limit_brand: str = "300/minute"
    # Payments made by pressing Pay at a payment link, per client address: anyone may open a
    # reusable link, and each press stores a payment.
    rate_limit_link_payments: str = "20/minute"
    # Presses of Pay or of the device switch on a buyer's page (each may open, or cancel and
    # open, a session at the acquirer), per payment and per client address; and the attempts
    # one payment may have in all.
    rate_limit_attempt_starts_payment: str = "10/minute"
    rate_limit_attempt_starts_client: str = "60/minute"
    attempts_per_payment_max: int = 10
    payment_link_max_days: float = 366.0  # the furthest expiry a payment link may have
    # Failed console sign-ins, per client address and per account (its email).
    rate_limit_console_client_failures: str = "20/minute"
    rate_limit_console_account_failures: str = "10/hour"
    # Unsigned acquirer hints (notices that carry no signature) about one payment:
    # in each window of this many seconds the first is read back at once and the others
    # become one deferred read; a hint's body is kept only up to `unsigned_body_bytes`.
    unsigned_hint_window_seconds: float = 10.0
    unsigned_body_bytes: int = 1024
    # Past capacity: while work waits this long in a standing queue (the event loop, or
    # writes waiting for the database; see `web/plumbing/overload.py`), new payments (API
    # creates, presses of Pay on a payment link) get 503 with Retry-After of this many
    # seconds, and pages left waiting are told to poll less often: not those whose payment
    # moved in the last `overload_keep_pace_seconds` (a buyer in the middle of paying).
    # 0 turns shedding off. The delay must hold through every interval of the last
    # `overload_window_seconds` to count: start-up work and timer jitter never shed.
    overload_delay_ms: float = 25.0
    overload_window_seconds: float = 1.0
    overload_retry_after_seconds: int = 2
    overload_keep_pace_seconds: float = 30.0
    # PostgreSQL connections one instance holds at most (reads and writes share them; a use
    # waiting for one is what the past-capacity gauge watches there). More did not finish
    # more payments: they only let more transactions wait on the event loop at once.
    db_connections: int = 20
    # uvicorn: open connections at most (then 503), idle keep-alive, request head size.
    http_limit_concurrency: int = 2048
    http_keep_alive_seconds: int = 5
    http_max_header_bytes: int = 16 * 1024
    # Balancers whose X-Forwarded-For / -Proto are trusted (comma-separated IPs or CIDRs), or
    # "direct": no balancer, the client is the TCP peer. Production must say which (behind a
    # balancer nobody named, every request carries the balancer's address, and one client's
    # failures lock every client out); "*" is refused (any client could name its own address
    # and step past every per-address limit and the acquirers' allow-lists).
    forwarded_allow_ips: str = ""
    # The sandbox listens on loopback only unless this is set: it serves its emulated bank's
    # private key and a demo owner whose password is public.
    sandbox_public: bool = False
    # Several instances in sandbox mode share one sandbox: `sandbox_url` is another checkout
    # serving the emulators (this instance then runs none), and `sandbox_notify_url` is where
    # a sandbox host sends its webhooks (the load balancer in front of the instances).
    sandbox_url: str = ""
    sandbox_notify_url: str = ""
    # This process's name in logs, metrics and job claims (default: host name and port).
    instance: str = ""
    # "json" (one object per line, for log shippers) or "text"; production defaults to json.
    log_format: str = ""
    # The merchant console (/console): a session ends after this long unused, and after this
    # long in any case; passwords are at least this long.
    console_idle_minutes: float = 30.0
    console_absolute_hours: float = 12.0
    console_password_min_length: int = 12
    # An invitation link to a merchant's team works once, for this long.
    console_invite_hours: float = 72.0
    console_reset_hours: float = 1.0  # a password-reset link an operator made
    # /metrics needs `Authorization: Bearer <token>` when set; production without one
    # serves no metrics at all (they tell payment volumes).
    metrics_token: str = ""
    # SIGTERM: in-flight requests and webhook deliveries get this long to finish.
    shutdown_grace_seconds: float = 20.0

    @property
    def instance_name(self) -> str:
        # Host and port, not pid: a process restarted after a crash is the same instance, and
        # takes back at once the jobs its predecessor held (see `_take_back_own_claims`).
        return self.instance or f"{socket.gethostname()}:{self.port}"

    @property
    def trusted_proxies(self) -> list[str]:
        """The balancers whose forwarded headers are believed: none for "" and "direct"."""
        text = self.forwarded_allow_ips.strip()
        if text in ("", "direct"):
            return []
        found = [item.strip() for item in text.split(",") if item.strip()]
        for item in found:
            if item == "*":
                raise ConfigError(
                    "CHECKOUT_FORWARDED_ALLOW_IPS cannot be '*': any client could then choose "
                    "its own address. Name the balancers' addresses or networks")
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(f"CHECKOUT_FORWARDED_ALLOW_IPS: {item!r} is not an address "
                                  "or a network (or say 'direct')") from None
        return found

    @property
    def logs_as_json(self) -> bool:
        return (self.log_format or ("text" if self.sandbox else "json")) == "json"

    @property
    def sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'checkout.db'}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        mode = env.get("CHECKOUT_MODE", "sandbox")
        if mode not in ("sandbox", "production"):
            raise ConfigError(f"CHECKOUT_MODE must be 'sandbox' or 'production', not {mode!r}")
        host = env.get("CHECKOUT_HOST", "127.0.0.1")
        port_text = env.get("CHECKOUT_PORT", "8000")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"CHECKOUT_PORT must be a port number, not {port_text!r}")
        port = int(port_text)
        keys = tuple(k for k in env.get("CHECKOUT_SECRET_KEYS", "").split(",") if k.strip())
        values: dict[str, object] = {
            "mode": mode,
            "host": host,
            "port": port,
            "public_url": env.get("CHECKOUT_PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
            "database_url": _async_url(env.get("DATABASE_URL", "")),
            "data_dir": Path(env.get("CHECKOUT_DATA_DIR", str(ROOT / "var"))),
            "secret_keys": keys or (_SANDBOX_SECRET,),
            "acquirers": _acquirers(env),
        }
        for name, conv in _NUMBERS.items():
            key = "CHECKOUT_" + name.upper()
            if key in env:
                try:
                    values[name] = conv(env[key])
                except ValueError:
                    raise ConfigError(f"{key} must be a number, not {env[key]!r}") from None
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if self.log_format not in ("", "json", "text"):
            raise ConfigError("CHECKOUT_LOG_FORMAT must be 'json' or 'text'")
        for name in ("rate_limit_auth_failures", "rate_limit_acquirer_webhooks",
                     "rate_limit_brand", "rate_limit_console_client_failures",
                     "rate_limit_console_account_failures", "rate_limit_link_payments",
                     "rate_limit_attempt_starts_payment", "rate_limit_attempt_starts_client"):
            try:
                parse_rate(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"CHECKOUT_{name.upper()}: {exc}") from None
        for name in ("webhook_workers", "webhook_endpoint_concurrency",
                     "webhook_merchant_concurrency", "http_limit_concurrency",
                     "webhook_endpoints_max", "acquirer_accounts_max", "db_connections",
                     "attempts_per_payment_max"):
            if getattr(self, name) < 1:
                raise ConfigError(f"CHECKOUT_{name.upper()} must be at least 1")
        if self.hold_seconds < 0 or self.hold_margin_seconds < 0:
            raise ConfigError("CHECKOUT_HOLD_SECONDS and CHECKOUT_HOLD_MARGIN_SECONDS must be "
                              "0 or more")
        if self.overload_delay_ms < 0:
            raise ConfigError("CHECKOUT_OVERLOAD_DELAY_MS must be 0 (off) or more")
        if not 0.1 <= self.overload_window_seconds <= 60:
            raise ConfigError("CHECKOUT_OVERLOAD_WINDOW_SECONDS must be from 0.1 to 60")
        if self.overload_retry_after_seconds < 1:
            raise ConfigError("CHECKOUT_OVERLOAD_RETRY_AFTER_SECONDS must be at least 1")
        if self.overload_keep_pace_seconds < 0:
            raise ConfigError("CHECKOUT_OVERLOAD_KEEP_PACE_SECONDS must be 0 or more")
        self.trusted_proxies  # noqa: B018 - checked here, at start
        if self.sandbox and not self.sandbox_public and not loopback(self.host):
            raise ConfigError(
                f"the sandbox listens on loopback only, not on {self.host}: anyone who reaches "
                "it can read its emulated bank's private key and sign in as the demo owner. "
                "Set CHECKOUT_SANDBOX_PUBLIC=1 to serve it there anyway (a container behind "
                "`docker run -p 127.0.0.1:8000:8000`), or CHECKOUT_MODE=production")
        if self.mode != "production":
            return
        if not self.secret_keys or _SANDBOX_SECRET in self.secret_keys:
            raise ConfigError("production mode needs CHECKOUT_SECRET_KEYS (random, ≥ 32 chars)")
        if any(len(k) < 32 for k in self.secret_keys):
            raise ConfigError("every key in CHECKOUT_SECRET_KEYS must be at least 32 characters")
        if not self.acquirers:
            raise ConfigError("production mode needs at least one acquirer: " + "; ".join(
                " ".join(s.env for s in p.required) for p in registry.PACKAGES))
        for name, conf in self.acquirers.items():
            missing = registry.BY_NAME[name].missing(conf)
            if missing:
                raise ConfigError(f"the {name} acquirer also needs "
                                  f"{', '.join(s.env for s in missing)}")
            if "/sandbox/" in conf.get("base_url", ""):
                raise ConfigError("production mode cannot use the sandbox acquirer")
        if self.sandbox_url:
            raise ConfigError("production mode cannot use CHECKOUT_SANDBOX_URL")
        # Tokens and console sessions must not travel in clear, and acquirers are told this
        # URL for their callbacks.
        if not self.public_url.startswith("https://"):
            raise ConfigError("production mode needs CHECKOUT_PUBLIC_URL, the https:// address "
                              "buyers and acquirers reach this checkout at")
        if not self.forwarded_allow_ips.strip():
            raise ConfigError(
                "production mode needs CHECKOUT_FORWARDED_ALLOW_IPS: the addresses of the "
                "balancers in front of this checkout, or 'direct' when clients connect to it "
                "directly (without it, behind a balancer every client shares one address: one "
                "client's failed sign-ins lock everyone out, and acquirers' network checks fail)")


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_rate(text: str) -> tuple[int, str]:
    """ "20/minute" -> (20, "minute"): the `limits` package's notation, checked early."""
    count, _, period = text.strip().partition("/")
    if not count.isdigit() or int(count) < 1 or period not in RATE_PERIODS:
        raise ValueError(f"{text!r} is not a rate like 20/minute "
                         f"(periods: {', '.join(RATE_PERIODS)})")
    return int(count), period


RATE_PERIODS = ("second", "minute", "hour", "day")


def _acquirers(env: dict[str, str]) -> dict[str, dict[str, str]]:
    """Setting any of an acquirer's required variables enables it; then all of them must be
    set (`Settings.check`)."""
    found: dict[str, dict[str, str]] = {}
    for package in registry.PACKAGES:
        conf = package.from_env(env)
        if conf is not None:
            found[package.name] = conf
    return found


# Every field not read by hand in `from_env` comes from CHECKOUT_<NAME>, converted by its type:
# a new setting is one line in the class, and cannot be forgotten here.
_BY_HAND = frozenset({"mode", "host", "port", "public_url", "database_url", "data_dir",
                      "secret_keys", "acquirers"})
_CONVERTERS: dict[str, Callable[[str], object]] = {"int": int, "float": float, "bool": flag,
                                                   "str": str}
_NUMBERS: dict[str, Callable[[str], object]] = {
    f.name: _CONVERTERS[str(f.type)] for f in fields(Settings) if f.name not in _BY_HAND}


def _async_url(url: str) -> str:
    """Accept the usual DATABASE_URL spellings and pick the async driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url
