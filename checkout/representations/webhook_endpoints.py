"""A merchant's webhook endpoint as the API shows it: never its secret, except in the answer
that made the secret (create, rotate), once."""

from __future__ import annotations

from typing import Literal

from checkout.representations.payments import Shape, Timestamp, iso
from checkout.store.webhooks import Endpoint


class WebhookEndpointOut(Shape):
    model_config = {"title": "WebhookEndpoint"}

    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    enabled: bool
    # Why it is disabled: by the merchant, after failing too long, or after a 410 Gone.
    disabled_reason: str | None
    failing_since: Timestamp | None
    # Until then the previous secret signs too (a rotation's overlap); null when only one.
    previous_secret_expires_at: Timestamp | None
    created_at: Timestamp


class WebhookEndpointWithSecretOut(WebhookEndpointOut):
    model_config = {"title": "WebhookEndpointWithSecret"}

    secret: str  # "whsec_…": shown in this answer only


def endpoint_object(e: Endpoint, secret: str | None = None) -> dict[str, object]:
    fields = dict(
        id=e.id, url=e.url, enabled=e.enabled,
        disabled_reason=e.disabled_reason if not e.enabled else None,
        failing_since=iso(e.failing_since) if e.failing_since else None,
        previous_secret_expires_at=iso(e.previous_secret_until)
        if e.previous_secret_until else None,
        created_at=iso(e.created_at))
    if secret is None:
        return WebhookEndpointOut(**fields).dump()  # type: ignore[arg-type]
    return WebhookEndpointWithSecretOut(**fields, secret=secret).dump()  # type: ignore[arg-type]
