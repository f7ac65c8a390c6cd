"""Standard Webhooks signatures (the `standardwebhooks` package, not our own HMAC code)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed_headers(keys: Sequence[str], msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """Signed with each of `keys`: during a rotation the old and the new secret both sign,
    space-separated in one `webhook-signature` header as Standard Webhooks allows, so a
    receiver that still has either one verifies the message."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(k).sign(msg_id, at, body) for k in keys),
        "content-type": "application/json",
        "user-agent": "tpay-checkout-webhooks/1",
    }
