"""The merchant API's OpenAPI 3.1 description, served at /api/v1/openapi.json."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from checkout.acquirers.base import Acquirer
from checkout.domain.money import CURRENCIES
from checkout.domain.states import PaymentStatus
from checkout.flow.context import FlowContext
from checkout.representations.acquirers import AcquirerOut
from checkout.representations.events import EventOut
from checkout.representations.methods import PaymentMethodOut
from checkout.representations.payment_links import PaymentLinkOut
from checkout.representations.payments import PaymentOut
from checkout.representations.problems import Problem
from checkout.representations.refunds import RefundOut
from checkout.representations.webhook_endpoints import (
    WebhookEndpointOut,
    WebhookEndpointWithSecretOut,
)
from checkout.web.merchant_api.requests import (
    AmountOnly,
    EndpointCreate,
    EndpointRotate,
    EndpointUpdate,
    LinkCreate,
    PaymentCreate,
    ReceiptSettle,
)

PROBLEM = {"$ref": "#/components/responses/Problem"}
OPERATION_PROBLEMS = {"400": PROBLEM, "401": PROBLEM, "404": PROBLEM, "409": PROBLEM,
                      "413": PROBLEM, "422": PROBLEM, "503": PROBLEM}
STATUSES = [str(s) for s in PaymentStatus]
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
PAYMENT_ID = {"name": "payment_id", "in": "path", "required": True, "schema": {"type": "string"}}
METHOD_ID = {"name": "method_id", "in": "path", "required": True,
             "schema": {"type": "string"}}
EVENT_ID = {"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}
ENDPOINT_ID = {"name": "endpoint_id", "in": "path", "required": True,
               "schema": {"type": "string"}}
LINK_ID = {"name": "link_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _list_of(schema: str) -> dict[str, Any]:
    return {"type": "object", "required": ["object", "has_more", "data"],
            "properties": {"object": {"const": "list"}, "has_more": {"type": "boolean"},
                           "data": {"type": "array",
                                    "items": {"$ref": f"#/components/schemas/{schema}"}}}}


# The objects' schemas come from the models that validate requests and shape answers.
MODELS: list[tuple[type[BaseModel], JsonSchemaMode]] = [
    (PaymentCreate, "validation"), (AmountOnly, "validation"), (ReceiptSettle, "validation"),
    (PaymentOut, "serialization"), (RefundOut, "serialization"),
    (PaymentMethodOut, "serialization"), (EventOut, "serialization"),
    (AcquirerOut, "serialization"), (Problem, "serialization"),
    (EndpointCreate, "validation"), (EndpointUpdate, "validation"),
    (EndpointRotate, "validation"), (WebhookEndpointOut, "serialization"),
    (WebhookEndpointWithSecretOut, "serialization"),
    (LinkCreate, "validation"), (PaymentLinkOut, "serialization"),
]


def _schemas() -> dict[str, Any]:
    _, top = models_json_schema(MODELS, ref_template="#/components/schemas/{model}")
    # The answer models are `PaymentOut` and so on in Python; merchants read `Payment`.
    text = json.dumps(top["$defs"])
    for name in top["$defs"]:
        if name.endswith("Out"):
            text = text.replace(f'"#/components/schemas/{name}"',
                                f'"#/components/schemas/{name.removesuffix("Out")}"')
    schemas: dict[str, Any] = {name.removesuffix("Out"): schema
                               for name, schema in json.loads(text).items()}
    for name in ("Payment", "Refund", "Event", "WebhookEndpoint", "PaymentLink"):
        schemas[f"{name}List"] = _list_of(name)
    return schemas


PATHS: dict[str, Any] = {
    "/api/v1/acquirer": {
        "get": {
            "operationId": "getAcquirer",
            "responses": {"200": {"description": "The merchant's acquirer and what it can do",
                                  "content": _json("Acquirer")},
                          "401": PROBLEM, "404": PROBLEM},
        },
    },
    "/api/v1/payments": {
        "post": {
            "operationId": "createPayment",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PaymentCreate"}}}},
            "responses": {
                "201": {"description": "Created (or replayed for the same key and body)",
                        "content": _json("Payment")},
                "400": PROBLEM, "401": PROBLEM, "409": PROBLEM, "413": PROBLEM,
                "422": PROBLEM,
                "503": {"description": "At capacity: try again after `Retry-After` seconds "
                                       "(nothing was created)",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {"application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
        },
        "get": {
            "operationId": "listPayments",
            "parameters": [
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                _query("starting_after", {"type": "string"}),
                _query("status", {"type": "string", "enum": STATUSES}),
                _query("reference", {"type": "string"}),
                _query("created_gte", {"type": "string", "format": "date-time"}),
                _query("created_lt", {"type": "string", "format": "date-time"}),
            ],
            "responses": {"200": {"description": "Newest first",
                                  "content": _json("PaymentList")},
                          "401": PROBLEM, "422": PROBLEM},
        },
    },
    "/api/v1/payments/{payment_id}": {
        "get": {
            "operationId": "getPayment",
            "parameters": [PAYMENT_ID],
            "responses": {"200": {"description": "The payment",
                                  "content": _json("Payment")},
                          "401": PROBLEM, "404": PROBLEM},
        },
    },
    "/api/v1/payments/{payment_id}/capture": {
        "post": {
            "operationId": "capturePayment",
            "parameters": [PAYMENT_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": False, "content": _json("AmountOnly")},
            "responses": {"200": {"description": "Captured (fully or partly)",
                                  "content": _json("Payment")}, **OPERATION_PROBLEMS},
        },
    },
    "/api/v1/payments/{payment_id}/cancel": {
        "post": {
            "operationId": "cancelPayment",
            "parameters": [PAYMENT_ID, IDEMPOTENCY_KEY],
            "responses": {"200": {"description": "Canceled",
                                  "content": _json("Payment")}, **OPERATION_PROBLEMS},
        },
    },
    "/api/v1/payments/{payment_id}/refunds": {
        "post": {
            "operationId": "createRefund",
            "parameters": [PAYMENT_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": False, "content": _json("AmountOnly")},
            "responses": {"201": {"description": "Refund accepted (pending or final)",
                                  "content": _json("Refund")}, **OPERATION_PROBLEMS},
        },
        "get": {
            "operationId": "listRefunds",
            "parameters": [PAYMENT_ID],
            "responses": {"200": {"description": "Newest first",
                                  "content": _json("RefundList")},
                          "401": PROBLEM, "404": PROBLEM},
        },
    },
    "/api/v1/payments/{payment_id}/receipts": {
        "post": {
            "operationId": "settleReceipt",
            "description": "The closing (settlement) receipt of a prepaid payment (54-FZ), "
                           "once the goods are delivered: docs/receipts.md. Issued once.",
            "parameters": [PAYMENT_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": False, "content": _json("ReceiptSettle")},
            "responses": {"201": {"description": "Sent; `receipt.settlement` says how it "
                                                 "stands", "content": _json("Payment")},
                          **OPERATION_PROBLEMS},
        },
    },
    "/api/v1/payment_methods/{method_id}": {
        "get": {
            "operationId": "getPaymentMethod",
            "parameters": [METHOD_ID],
            "responses": {"200": {"description": "The saved method",
                                  "content": _json("PaymentMethod")},
                          "401": PROBLEM, "404": PROBLEM},
        },
        "delete": {
            "operationId": "disablePaymentMethod",
            "parameters": [METHOD_ID],
            "responses": {"200": {"description": "Disabled, here and at the acquirer",
                                  "content": _json("PaymentMethod")},
                          "401": PROBLEM, "404": PROBLEM, "502": PROBLEM, "503": PROBLEM},
        },
    },
    "/api/v1/events": {
        "get": {
            "operationId": "listEvents",
            "parameters": [
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                _query("starting_after", {"type": "string"}),
                _query("payment_id", {"type": "string"}),
            ],
            "responses": {"200": {"description": "Newest first",
                                  "content": _json("EventList")},
                          "401": PROBLEM, "422": PROBLEM},
        },
    },
    "/api/v1/events/{event_id}": {
        "get": {
            "operationId": "getEvent",
            "parameters": [EVENT_ID],
            "responses": {"200": {"description": "The event and its deliveries",
                                  "content": _json("Event")},
                          "401": PROBLEM, "404": PROBLEM},
        },
    },
    "/api/v1/events/{event_id}/resend": {
        "post": {
            "operationId": "resendEvent",
            "parameters": [EVENT_ID, IDEMPOTENCY_KEY],
            "responses": {"202": {"description": "Queued again, same webhook-id",
                                  "content": _json("Event")},
                          "401": PROBLEM, "404": PROBLEM},
        },
    },
    "/api/v1/payment_links": {
        "get": {
            "operationId": "listPaymentLinks",
            "parameters": [_query("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                           _query("starting_after", {"type": "string"})],
            "responses": {"200": {"description": "Newest first, with what each took",
                                  "content": _json("PaymentLinkList")},
                          "401": PROBLEM, "422": PROBLEM},
        },
        "post": {
            "operationId": "createPaymentLink",
            "description": "A short URL (`url`) that makes a payment when a buyer presses "
                           "Pay; share it as a link or its QR code.",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": _json("LinkCreate")},
            "responses": {"201": {"description": "Created (or replayed for the same key "
                                                 "and body)",
                                  "content": _json("PaymentLink")},
                          "400": PROBLEM, "401": PROBLEM, "409": PROBLEM, "413": PROBLEM,
                          "422": PROBLEM},
        },
    },
    "/api/v1/payment_links/{link_id}": {
        "get": {
            "operationId": "getPaymentLink",
            "parameters": [LINK_ID],
            "responses": {"200": {"description": "The link, with what was paid at it",
                                  "content": _json("PaymentLink")},
                          "401": PROBLEM, "404": PROBLEM},
        },
    },
    "/api/v1/payment_links/{link_id}/deactivate": {
        "post": {
            "operationId": "deactivatePaymentLink",
            "description": "The link takes no more payments; those made go on as they are.",
            "parameters": [LINK_ID, IDEMPOTENCY_KEY],
            "responses": {"200": {"description": "Deactivated (again: unchanged)",
                                  "content": _json("PaymentLink")},
                          "400": PROBLEM, "401": PROBLEM, "404": PROBLEM, "409": PROBLEM,
                          "413": PROBLEM, "422": PROBLEM},
        },
    },
    "/api/v1/webhook_endpoints": {
        "get": {
            "operationId": "listWebhookEndpoints",
            "responses": {"200": {"description": "Every endpoint, oldest first",
                                  "content": _json("WebhookEndpointList")},
                          "401": PROBLEM},
        },
        "post": {
            "operationId": "createWebhookEndpoint",
            "description": "The answer carries the signing secret, shown this once (and "
                           "again only to a retry under the same Idempotency-Key).",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": _json("EndpointCreate")},
            "responses": {"201": {"description": "Created, with its secret",
                                  "content": _json("WebhookEndpointWithSecret")},
                          "401": PROBLEM, "409": PROBLEM, "413": PROBLEM, "422": PROBLEM},
        },
    },
    "/api/v1/webhook_endpoints/{endpoint_id}": {
        "get": {
            "operationId": "getWebhookEndpoint",
            "parameters": [ENDPOINT_ID],
            "responses": {"200": {"description": "The endpoint",
                                  "content": _json("WebhookEndpoint")},
                          "401": PROBLEM, "404": PROBLEM},
        },
        "patch": {
            "operationId": "updateWebhookEndpoint",
            "parameters": [ENDPOINT_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": _json("EndpointUpdate")},
            "responses": {"200": {"description": "Changed (enabling clears its failures)",
                                  "content": _json("WebhookEndpoint")},
                          "401": PROBLEM, "404": PROBLEM, "413": PROBLEM, "422": PROBLEM},
        },
        "delete": {
            "operationId": "deleteWebhookEndpoint",
            "parameters": [ENDPOINT_ID],
            "responses": {"204": {"description": "Deleted: nothing more is sent to it"},
                          "401": PROBLEM, "404": PROBLEM},
        },
    },
    "/api/v1/webhook_endpoints/{endpoint_id}/rotate_secret": {
        "post": {
            "operationId": "rotateWebhookEndpointSecret",
            "description": "A new secret; the current one keeps signing beside it for the "
                           "overlap, so receivers can switch with no webhook refused.",
            "parameters": [ENDPOINT_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": False, "content": _json("EndpointRotate")},
            "responses": {"200": {"description": "The endpoint with its new secret",
                                  "content": _json("WebhookEndpointWithSecret")},
                          "401": PROBLEM, "404": PROBLEM, "413": PROBLEM, "422": PROBLEM},
        },
    },
    "/api/v1/webhook_endpoints/{endpoint_id}/test": {
        "post": {
            "operationId": "testWebhookEndpoint",
            "description": "Queue a `webhook.test` event to this endpoint only.",
            "parameters": [ENDPOINT_ID, IDEMPOTENCY_KEY],
            "responses": {"202": {"description": "Queued",
                                  "content": _json("Event")},
                          "401": PROBLEM, "404": PROBLEM, "409": PROBLEM},
        },
    },
}


def _common_answers(paths: dict[str, Any]) -> None:
    for path in paths.values():
        for operation in path.values():
            # A malformed request (a NUL in the URL, a bad Idempotency-Key) is a 400 anywhere;
            # a client that failed authentication too often is refused anywhere.
            operation["responses"].setdefault("400", PROBLEM)
            operation["responses"].setdefault("429", PROBLEM)
            # A key whose scope does not cover the request (`web.merchant_api.auth`).
            operation["responses"].setdefault("403", PROBLEM)
            if IDEMPOTENCY_KEY in operation.get("parameters", []):
                # The key in use by a running request (409), or by another request (422).
                operation["responses"].setdefault("409", PROBLEM)
                operation["responses"].setdefault("422", PROBLEM)


_common_answers(PATHS)


def document(acquirers: dict[str, Acquirer]) -> dict[str, Any]:
    """This checkout's document: the acquirers it runs, and the currencies and amounts they
    take (each acquirer's capabilities), narrow the schemas."""
    schemas = _schemas()
    names = sorted(acquirers)
    ranges: dict[str, dict[str, dict[str, int]]] = {}  # currency -> acquirer -> range
    for name in names:
        for currency, (low, high) in acquirers[name].capabilities.limits.items():
            if currency in CURRENCIES:
                ranges.setdefault(currency, {})[name] = {"minimum": low, "maximum": high}
    create = schemas["PaymentCreate"]["properties"]
    if ranges:
        create["currency"]["enum"] = sorted(ranges)
        every = [r for by in ranges.values() for r in by.values()]
        create["amount"].pop("exclusiveMinimum", None)
        create["amount"]["minimum"] = min(r["minimum"] for r in every)
        create["amount"]["maximum"] = max(r["maximum"] for r in every)
        # Per currency and acquirer: the merchant's own acquirer decides (GET /acquirer).
        create["amount"]["x-limits"] = ranges
    schemas["Payment"]["properties"]["acquirer"]["enum"] = names
    schemas["Acquirer"]["properties"]["name"]["enum"] = names
    return {
        "openapi": "3.1.0",
        "info": {"title": "T-Pay hosted checkout — merchant API", "version": "1.0.0"},
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "An API key. Its scope bounds what it may do: `read` (GET "
                               "only), `payments` (also make payments, payment links and "
                               "webhook endpoints; no money moves), `full` (also capture, "
                               "cancel, refund, charge a saved method). Beyond its scope a "
                               "request is refused 403 (problem type `forbidden`, with "
                               "`scope` and `required`)."}},
            "schemas": schemas,
            "responses": {
                "Problem": {"description": "An RFC 9457 problem",
                            "content": {"application/problem+json": {
                                "schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
        },
        "security": [{"bearer": []}],
        "paths": PATHS,
    }


async def openapi(request: Request) -> Response:
    ctx: FlowContext = request.app.state.flow
    if getattr(request.app.state, "openapi", None) is None:
        request.app.state.openapi = document(ctx.acquirers)
    return JSONResponse(request.app.state.openapi)


routes = [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
