"""One small tree of errors, each leaf mapped to one RFC 9457 problem type.

    CheckoutError
    ├── InvalidRequest          400/422  the request cannot be used as sent (per-field details)
    │   ├── Unsupported         422      … by the merchant's acquirer
    │   └── ReceiptRequired     422      … without the 54-FZ receipt the account requires
    ├── Unauthorized            401      no or wrong API key
    ├── Forbidden               403      a known caller whose key or role may not do this
    ├── NotFound                404      no such object for this caller
    ├── Conflict                409      the object's state does not allow this now
    ├── IdempotencyMismatch     422      Idempotency-Key reused with another body
    ├── PayloadTooLarge         413      body over the cap
    ├── TooManyRequests         429      over a rate limit (Retry-After says when to retry)
    ├── WebhookRejected         400/401  an inbound acquirer webhook we will not trust
    ├── Overloaded              503      the instance is at capacity (Retry-After says when)
    └── AcquirerError           502/503  the acquirer failed or could not be reached
"""

from __future__ import annotations

from typing import Any


class CheckoutError(Exception):
    status = 500
    type = "internal"
    title = "Internal error"

    headers: dict[str, str] = {}  # noqa: RUF012 - replaced per instance, never mutated

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        return {
            "type": f"https://tpay-checkout.dev/problems/{self.type}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class InvalidRequest(CheckoutError):
    status = 422
    type = "invalid-request"
    title = "The request is not valid"

    def __init__(self, detail: str, errors: list[dict[str, str]] | None = None,
                 status: int = 422) -> None:
        super().__init__(detail, **({"errors": errors} if errors else {}))
        self.status = status


class Unsupported(InvalidRequest):
    """A request the merchant's acquirer cannot carry out (see its capabilities)."""

    type = "unsupported-by-acquirer"
    title = "The merchant's acquirer cannot do this"


class ReceiptRequired(InvalidRequest):
    """The merchant's acquirer account refuses a payment without a 54-FZ receipt."""

    type = "receipt-required"
    title = "A fiscal receipt is required"


class Unauthorized(CheckoutError):
    status = 401
    type = "unauthorized"
    title = "Missing or invalid API key"


class Forbidden(CheckoutError):
    status = 403
    type = "forbidden"
    title = "Not allowed for this key"


class NotFound(CheckoutError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(CheckoutError):
    status = 409
    type = "conflict"
    title = "The object's state does not allow this"


class TryAgain(Conflict):
    """A conflict that passes (rows that kept changing under us, a payment still being set
    up): the same request may well succeed in a moment, so it is never kept as the answer of
    an Idempotency-Key, whose retry would then replay the refusal for ever."""


class IdempotencyMismatch(CheckoutError):
    status = 422
    type = "idempotency-key-reused"
    title = "Idempotency-Key was used with another request body"


class PayloadTooLarge(CheckoutError):
    status = 413
    type = "payload-too-large"
    title = "Request body too large"


class TooManyRequests(CheckoutError):
    status = 429
    type = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)
        self.headers = {"Retry-After": str(self.retry_after)}


class Overloaded(CheckoutError):
    """Past capacity: new work is refused so that the work under way still completes."""

    status = 503
    type = "overloaded"
    title = "At capacity"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class WebhookRejected(CheckoutError):
    status = 400
    type = "webhook-rejected"
    title = "Webhook rejected"

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


class AcquirerError(CheckoutError):
    """The acquirer answered with an error, or not at all.

    `temporary` is true where the same call, with the same idempotency key, may succeed later.
    `unsent`: the call surely never reached the acquirer (no connection was made), so nothing
    can have happened there.
    """

    status = 502
    type = "acquirer-error"
    title = "The acquirer could not complete the request"

    def __init__(self, detail: str, *, code: str = "", temporary: bool = False,
                 unsent: bool = False) -> None:
        super().__init__(detail)
        self.code = code
        self.temporary = temporary
        self.unsent = unsent
        if temporary:
            self.status = 503
