"""The merchant API's OpenAPI 3.1 description, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PROBLEM = {"$ref": "#/components/responses/Problem"}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "T-Pay hosted checkout — merchant API", "version": "1.0.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "PaymentCreate": {
                "type": "object", "additionalProperties": False,
                "required": ["amount", "currency", "description", "return_url"],
                "properties": {
                    "amount": {"type": "integer", "minimum": 100, "maximum": 70000000,
                               "description": "minor units (kopecks)"},
                    "currency": {"type": "string", "enum": ["RUB"]},
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
                    "status": {"type": "string", "enum": ["pending", "waiting_for_capture",
                                                          "succeeded", "failed", "canceled",
                                                          "expired"]},
                    "amount": {"type": "integer"},
                    "currency": {"type": "string"},
                    "description": {"type": "string"},
                    "reference": {"type": ["string", "null"]},
                    "captured_amount": {"type": "integer"},
                    "refunded_amount": {"type": "integer"},
                    "capture": {"type": "boolean"},
                    "customer": {"type": ["object", "null"]},
                    "return_url": {"type": "string"},
                    "checkout_url": {"type": "string"},
                    "metadata": {"type": "object",
                                 "additionalProperties": {"type": "string"}},
                    "last_error": {"type": ["object", "null"],
                                   "properties": {"code": {"type": "string"}}},
                    "created_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time"},
                },
            },
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
        "/api/v1/payments": {
            "post": {
                "operationId": "createPayment",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1,
                                           "maxLength": 255}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/PaymentCreate"}}}},
                "responses": {
                    "201": {"description": "Created (or replayed for the same key and body)",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Payment"}}}},
                    "400": PROBLEM, "401": PROBLEM, "413": PROBLEM, "422": PROBLEM,
                },
            },
        },
        "/api/v1/payments/{payment_id}": {
            "get": {
                "operationId": "getPayment",
                "parameters": [{"name": "payment_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "The payment",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Payment"}}}},
                    "401": PROBLEM, "404": PROBLEM,
                },
            },
        },
    },
}


async def openapi(request: Request) -> Response:
    return JSONResponse(SPEC)


routes = [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
