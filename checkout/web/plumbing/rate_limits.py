"""Per-client rate limits, with the `limits` package (a moving window in memory).

What is limited, each with a setting (README, "Security"):
- failed authentication (API keys, the admin's Basic credentials), per client address: a
  guesser is slowed to a crawl, a merchant with a good key never notices;
- refused acquirer webhooks (forged, malformed, about no payment of ours), per client
  address: verification costs an RSA operation, so a flood of forged notices is cut off,
  while an acquirer's good ones, however many, never count;
- `/brand/*.css`, per client address: a database read per request;
- presses of Pay and of the device switch on a buyer's page, per payment and per client
  address: each may cancel and open a session at the acquirer (signed calls out);
- failed console sign-ins, per client address and per account: a guesser spread over many
  addresses is still stopped at the account it guesses, at the cost that its owner waits too.
  A guess is reserved before it is verified (`reserve`), and one account takes one guess at
  a time: counting only once a refusal was known let 40 concurrent guesses all be verified
  against a limit of 10.

Counts are per instance: behind N instances a client gets up to N times the limit. The client
address is the TCP peer, or the balancer's X-Forwarded-For when the balancer is trusted
(`CHECKOUT_FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from checkout.errors import TooManyRequests
from checkout.settings import Settings


@dataclass(frozen=True)
class Limit:
    rate: RateLimitItem
    what: str  # what is counted: its own counters, and the words of the 429


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._in_flight: Counter[tuple[str, str]] = Counter()  # guesses being verified now
        self.auth_failures = Limit(parse(settings.rate_limit_auth_failures),
                                   "failed authentication")
        self.acquirer_webhooks = Limit(parse(settings.rate_limit_acquirer_webhooks),
                                       "refused acquirer webhook")
        self.brand = Limit(parse(settings.rate_limit_brand), "stylesheet")
        self.link_payments = Limit(parse(settings.rate_limit_link_payments),
                                   "payment link payment")
        self.starts_payment = Limit(parse(settings.rate_limit_attempt_starts_payment),
                                    "start or switch on this payment")
        self.starts_client = Limit(parse(settings.rate_limit_attempt_starts_client),
                                   "start or switch")
        self.sign_in_client = Limit(parse(settings.rate_limit_console_client_failures),
                                    "failed sign-in")
        self.sign_in_account = Limit(parse(settings.rate_limit_console_account_failures),
                                     "failed sign-in to this account")

    def hit(self, limit: Limit, request: Request, key: str = "") -> None:
        """Count one request (by client address, or by `key`); 429 when over `limit`."""
        key = key or client_of(request)
        if not self._limiter.hit(limit.rate, limit.what, key):
            self._refuse(limit, key)

    @contextmanager
    def reserve(self, *counted: tuple[Limit, str], alone: str = "") -> Iterator[Callable[[], None]]:
        """A guess at a secret, held against each (limit, key) while it is verified: 429 when
        the failures counted plus the guesses in flight leave no room, or when another guess
        with the same `alone` key is in flight. Yields `failed`, which counts the guess once
        it is refused. Checked and reserved with no await between, so concurrent guesses on
        this instance cannot all pass one check."""
        for limit, key in counted:
            stats = self._limiter.get_window_stats(limit.rate, limit.what, key)
            if stats.remaining - self._in_flight[(limit.what, key)] <= 0:
                self._refuse(limit, key)
        if alone and self._in_flight[("alone", alone)]:
            raise TooManyRequests("another attempt is being checked; retry in a moment",
                                  retry_after=1)
        held = [(limit.what, key) for limit, key in counted] + ([("alone", alone)] if alone
                                                                 else [])
        self._in_flight.update(held)

        def failed() -> None:
            for limit, key in counted:
                self._limiter.hit(limit.rate, limit.what, key)
        try:
            yield failed
        finally:
            self._in_flight.subtract(held)
            self._in_flight = +self._in_flight  # drop the zeros: no key is kept for ever

    def check(self, limit: Limit, request: Request, key: str = "") -> None:
        """429 if the client (or `key`) is already over `limit`, without counting this request
        (failed logins: only failures count, and they are counted with `hit` once known)."""
        key = key or client_of(request)
        if not self._limiter.test(limit.rate, limit.what, key):
            self._refuse(limit, key)

    def _refuse(self, limit: Limit, key: str) -> None:
        reset = self._limiter.get_window_stats(limit.rate, limit.what, key).reset_time
        raise TooManyRequests(f"too many {limit.what} requests; retry later",
                              retry_after=math.ceil(reset - time.time()))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "-"
