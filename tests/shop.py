"""A merchant's shop at one emulated acquirer, for tests that aim faults at it and read what
the acquirer itself holds (its own storage): how many sessions it opened for a payment, how
much it captured and refunded."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.buyer import add_merchant, decide, query, start, wait_for_link
from tests.server import LiveServer

CURRENCY = {"bank131": "RUB", "smartglocal": "RUB", "yookassa": "RUB", "tbc": "GEL",
            "tbank": "RUB"}
# Each acquirer's own name for the calls we aim at.
OPERATION = {
    "bank131": {"start": "session/init/payment", "capture": "session/capture",
                "refund": "session/refund", "charge": "session/init/payment"},
    "yookassa": {"start": "POST payments", "capture": "POST payments/{id}/capture",
                 "refund": "POST refunds", "charge": "POST payments"},
    "tbc": {"start": "POST payments", "capture": "POST payments/{id}/completion",
            "refund": "POST payments/{id}/cancel", "charge": "POST payments/execution"},
    "tbank": {"start": "Init", "capture": "Confirm", "refund": "Cancel", "charge": "Charge"},
}
# Acquirers that echo no metadata of ours: their faults aim by operation only.
NO_METADATA = ("tbc", "tbank")
ACQUIRERS = ["bank131", "yookassa", "tbc", "tbank"]
FAST = {"acquirer_timeout_seconds": 1.0, "acquirer_poll_seconds": 1.0,
        "attempt_grace_seconds": 1}


@dataclass
class Shop:
    server: LiveServer
    acquirer: str
    api: httpx.Client
    buyer: httpx.Client

    def fault(self, kind: str, operation: str = "*", payment: dict[str, Any] | None = None,
              **extra: Any) -> None:
        op = OPERATION[self.acquirer].get(operation, operation)
        aim: dict[str, Any] = {"acquirer": self.acquirer, "kind": kind, "operation": op, **extra}
        if payment is not None and self.acquirer not in NO_METADATA:
            aim["payment_id"] = payment["id"]
        resp = self.buyer.post("/sandbox/faults", json=aim)
        assert resp.status_code == 201, resp.text

    def faults_left(self) -> list[dict[str, Any]]:
        return list(self.buyer.get("/sandbox/faults").json()["faults"])

    def create(self, **fields: Any) -> dict[str, Any]:
        resp = self.api.post("/api/v1/payments", json={
            "amount": 150_00, "currency": CURRENCY[self.acquirer], "description": "Order 42",
            "return_url": f"{self.server.url}/shop/return", **fields})
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def pay(self, payment: dict[str, Any]) -> None:
        start(self.buyer, payment["checkout_url"])
        decide(self.buyer, wait_for_link(self.buyer, payment["checkout_url"]), True)

    def at_acquirer(self, payment: dict[str, Any]) -> list[dict[str, Any]]:
        """What the acquirer itself holds for this payment, read from its own storage."""
        attempts = {r[0] for r in query(self.server.settings.db_url,
                                        "SELECT id FROM attempts WHERE payment_id = :p",
                                        p=payment["id"])}
        path = self.server.settings.data_dir / "sandbox" / f"{self.acquirer}.db"
        with sqlite3.connect(path) as db:
            if self.acquirer == "bank131":
                docs = [json.loads(r[0]) for r in db.execute("SELECT doc FROM sessions")]
                return [d for d in docs if (d.get("metadata") or {}).get("payment_id")
                        == payment["id"]]
            docs = [json.loads(r[0]) for r in
                    db.execute("SELECT doc FROM docs WHERE kind = 'payment'")]
        if self.acquirer == "yookassa":
            return [d for d in docs if d["metadata"].get("payment_id") == payment["id"]]
        if self.acquirer == "tbank":
            return [d for d in docs if d["OrderId"] in attempts]
        return [d for d in docs if d["merchantPaymentId"] in attempts]

    def paid_at_acquirer(self, payment: dict[str, Any]) -> dict[str, Any]:
        """The one session at the acquirer that took the buyer's money. A slow start may have
        left another, never paid, beside it (the page starts again); two paid is a defect."""
        paid = [d for d in self.at_acquirer(payment) if money_taken(self, d)[0] > 0]
        assert len(paid) == 1, paid
        return paid[0]



@contextlib.contextmanager
def shop_at(server: LiveServer, acquirer: str) -> Iterator[Shop]:
    """A new merchant at `acquirer` on `server`, with its API and a buyer's clients."""
    headers = add_merchant(server.settings.db_url, f"mer_{acquirer}", f"sk_test_{acquirer}",
                           return_origins='["http://127.0.0.1:*"]', acquirer=acquirer)
    with httpx.Client(base_url=server.url, timeout=20, headers=headers) as api, \
            httpx.Client(base_url=server.url, timeout=20) as buyer:
        yield Shop(server, acquirer, api, buyer)


def money_taken(shop: Shop, doc: dict[str, Any]) -> tuple[int, int]:
    """(captured, refunded) at the acquirer, in minor units."""
    if shop.acquirer == "bank131":
        if not doc.get("acquiring_payments"):
            return 0, 0  # the buyer never paid in this session
        pay = doc["acquiring_payments"][0]
        captured = pay["captured"] if doc["status"] == "accepted" else 0  # the bank's own note
        refunded = sum(r["amount_details"]["amount"] for r in pay.get("refunds", [])
                       if r["status"] == "accepted")
        return captured, refunded
    if shop.acquirer == "yookassa":
        captured = round(float(doc["amount"]["value"]) * 100) \
            if doc["status"] == "succeeded" else 0
        return captured, round(float(doc["refunded_amount"]["value"]) * 100)
    if shop.acquirer == "tbank":
        paid = doc["Status"] in ("CONFIRMED", "PARTIAL_REFUNDED", "REFUNDED")
        return (doc["Amount"] if paid else 0), doc["refunded"]
    captured = round(float(doc["confirmedAmount"]) * 100)
    return captured, round(float(doc["returnedAmount"]) * 100)


