"""The merchant API's OpenAPI 3.1 description, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PROBLEM = {"$ref": "#/components/responses/Problem"}
OPERATION_PROBLEMS = {"400": PROBLEM, "401": PROBLEM, "404": PROBLEM, "409": PROBLEM,
                      "413": PROBLEM, "422": PROBLEM, "503": PROBLEM}
STATUSES = ["pending", "waiting_for_capture", "succeeded", "failed", "canceled", "expired"]
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
PAYMENT_ID = {"name": "payment_id", "in": "path", "required": True, "schema": {"type": "string"}}
METHOD_ID = {"name": "method_id", "in": "path", "required": True,
             "schema": {"type": "string"}}
EVENT_ID = {"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _list_of(schema: str) -> dict[str, Any]:
    return {"type": "object", "required": ["object", "has_more", "data"],
            "properties": {"object": {"const": "list"}, "has_more": {"type": "boolean"},
                           "data": {"type": "array",
                                    "items": {"$ref": f"#/components/schemas/{schema}"}}}}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "T-Pay hosted checkout — merchant API", "version": "1.0.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "PaymentCreate": {
                "type": "object", "additionalProperties": False,
                # return_url is required except for a merchant-initiated charge
                "required": ["amount", "currency", "description"],
                "properties": {
                    "amount": {"type": "integer", "minimum": 100, "maximum": 70000000,
                               "description": "minor units (kopecks)"},
                    "currency": {"type": "string", "enum": ["RUB", "GEL", "USD", "EUR"]},
                    "description": {"type": "string", "minLength": 1, "maxLength": 128},
                    "reference": {"type": "string", "minLength": 1, "maxLength": 128},
                    "return_url": {"type": "string", "format": "uri", "maxLength": 2048},
                    "capture": {"type": "boolean", "default": True,
                                "description": "false: hold, then capture or cancel"},
                    "customer": {"type": "object", "additionalProperties": False,
                                 "required": ["reference"],
                                 "properties": {"reference": {"type": "string", "minLength": 1,
                                                              "maxLength": 128}}},
                    "metadata": {"type": "object", "maxProperties": 50,
                                 "additionalProperties": {"type": "string", "maxLength": 512}},
                    "save_payment_method": {"type": "boolean", "default": False},
                    "payment_method_id": {"type": "string", "maxLength": 40},
                    "initiator": {"type": "string", "enum": ["merchant", "client"]},
                },
            },
            "PaymentMethod": {
                "type": "object", "required": ["id", "object", "type", "saved", "created_at"],
                "properties": {
                    "id": {"type": "string"}, "object": {"const": "payment_method"},
                    "type": {"const": "tpay"}, "saved": {"type": "boolean"},
                    "customer": {"type": ["object", "null"]},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
            "Payment": {
                "type": "object",
                "required": ["id", "object", "status", "amount", "currency", "description",
                             "captured_amount", "refunded_amount", "return_url",
                             "checkout_url", "metadata", "created_at", "expires_at"],
                "properties": {
                    "id": {"type": "string"},
                    "object": {"const": "payment"},
                    "status": {"type": "string", "enum": STATUSES},
                    "amount": {"type": "integer"},
                    "currency": {"type": "string"},
                    "description": {"type": "string"},
                    "reference": {"type": ["string", "null"]},
                    "captured_amount": {"type": "integer"},
                    "refunded_amount": {"type": "integer"},
                    "capture": {"type": "boolean"},
                    "customer": {"type": ["object", "null"]},
                    "return_url": {"type": ["string", "null"]},
                    "checkout_url": {"type": ["string", "null"]},
                    "payment_method": {"type": ["object", "null"]},
                    "initiator": {"type": ["string", "null"]},
                    "acquirer": {"type": "string",
                                 "enum": ["bank131", "smartglocal", "yookassa", "tbc"]},
                    "save_payment_method": {"type": "boolean"},
                    "metadata": {"type": "object",
                                 "additionalProperties": {"type": "string"}},
                    "last_error": {"type": ["object", "null"],
                                   "properties": {"code": {"type": "string"}}},
                    "created_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time"},
                },
            },
            "PaymentList": _list_of("Payment"),
            "Acquirer": {
                "type": "object", "required": ["object", "name", "capabilities"],
                "properties": {
                    "object": {"const": "acquirer"},
                    "name": {"type": "string"},
                    "capabilities": {
                        "type": "object",
                        "required": ["family", "currencies", "holds", "partial_capture",
                                     "partial_refund", "recurring", "signed_webhooks"],
                        "properties": {
                            "family": {"enum": ["link", "page"]},
                            "currencies": {"type": "object", "additionalProperties": {
                                "type": "object",
                                "properties": {"min_amount": {"type": "integer"},
                                               "max_amount": {"type": "integer"}}}},
                            "holds": {"type": "boolean"},
                            "hold_seconds": {"type": "integer"},
                            "partial_capture": {"type": "boolean"},
                            "partial_refund": {"type": "boolean"},
                            "partial_refund_limit": {"type": ["integer", "null"]},
                            "recurring": {"type": "boolean"},
                            "signed_webhooks": {"type": "boolean"},
                            "reference_max_length": {"type": ["integer", "null"]},
                            "pay_seconds": {"type": "integer"},
                        },
                    },
                },
            },
            "AmountOnly": {"type": "object", "additionalProperties": False,
                           "properties": {"amount": {"type": "integer", "minimum": 1}}},
            "Refund": {
                "type": "object",
                "required": ["id", "object", "payment_id", "amount", "currency", "status",
                             "created_at"],
                "properties": {
                    "id": {"type": "string"}, "object": {"const": "refund"},
                    "payment_id": {"type": "string"}, "amount": {"type": "integer"},
                    "currency": {"type": "string"},
                    "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
            "RefundList": _list_of("Refund"),
            "Event": {
                "type": "object",
                "required": ["id", "object", "type", "created_at", "sequence", "data",
                             "deliveries"],
                "properties": {
                    "id": {"type": "string"}, "object": {"const": "event"},
                    "type": {"type": "string", "enum": [
                        "payment.succeeded", "payment.waiting_for_capture", "payment.failed",
                        "payment.canceled", "payment.expired", "refund.succeeded",
                        "refund.failed"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "sequence": {"type": "integer"},
                    "payment_id": {"type": ["string", "null"]},
                    "data": {"type": "object", "required": ["object"]},
                    "deliveries": {"type": "array", "items": {"type": "object"}},
                },
            },
            "EventList": _list_of("Event"),
            "Problem": {
                "type": "object", "required": ["type", "title", "status"],
                "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"},
                    "status": {"type": "integer"}, "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "errors": {"type": "array", "items": {
                        "type": "object", "properties": {"field": {"type": "string"},
                                                         "message": {"type": "string"}}}},
                },
            },
        },
        "responses": {
            "Problem": {"description": "An RFC 9457 problem",
                        "content": {"application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}}}},
        },
    },
    "security": [{"bearer": []}],
    "paths": {
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
    },
}


async def openapi(request: Request) -> Response:
    return JSONResponse(SPEC)


routes = [Route("/api/v1/openapi.json", openapi, methods=["GET"])]


def _common_answers() -> None:
    for path in SPEC["paths"].values():
        for operation in path.values():
            # A malformed request (a NUL in the URL, a bad Idempotency-Key) is a 400 anywhere.
            operation["responses"].setdefault("400", PROBLEM)
            if IDEMPOTENCY_KEY in operation.get("parameters", []):
                # The key in use by a running request (409), or by another request (422).
                operation["responses"].setdefault("409", PROBLEM)
                operation["responses"].setdefault("422", PROBLEM)


_common_answers()
