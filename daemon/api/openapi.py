"""The OpenAPI 3.1 document of this daemon: the request models the API parses, the
order's shape its views are typed by (daemon.services.order_shape), and this config's
chains, assets and routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from daemon.api.accounting import accounting_paths
from daemon.api.order_request import Pricing, create_order_schema
from daemon.api.params import QUERY_TEXT
from daemon.api.rates import rate_paths
from daemon.api.schemas import STATUSES, ErrorBody, OptionBody
from daemon.api.tatum import tatum_paths
from daemon.api.webhooks import delivery_paths
from daemon.domain.states import EventType
from daemon.services.cursors import cursor_schema
from daemon.services.order_shape import Order, OrderEvent, OrderList, shape_schemas
from daemon.services.registry import ChainRegistry

REF = "#/components/schemas/{model}"
# 1 to 255 printable characters (of the Latin-1 a header carries), no blank at either end.
_PRINTABLE = "!-~\u00a1-\u00ac\u00ae-\u00ff"
IDEMPOTENCY_KEY = f"^[{_PRINTABLE}](?:[ {_PRINTABLE}]{{0,253}}[{_PRINTABLE}])?$"

_ERROR_TEXT = {
    400: "Malformed request (e.g. not JSON)",
    401: "Missing, invalid or revoked API key",
    404: "No such order or webhook delivery",
    409: "Conflict (order not cancellable, Idempotency-Key reused, delivery in flight)",
    413: "Request body too large",
    422: "Invalid request; the message names the field",
    503: "A chain's node did not answer, or too few exchanges for a rate; try again",
}


class _Schemas:
    def __init__(self) -> None:
        self.found: dict[str, Any] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF)
        self.found.update(schema.pop("$defs", {}))
        self.found[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "pattern": QUERY_TEXT}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def openapi_document(
    registry: ChainRegistry, *, tatum: bool, rates: Pricing | None = None
) -> dict[str, Any]:
    """The document for these chains; the Tatum route only when its notifications are on,
    the rates route only when rates are (``rates``: each currency's quotable assets)."""
    schemas = _Schemas()
    error = schemas.ref(ErrorBody)

    def errors(*codes: int) -> dict[str, Any]:
        return {str(c): _json(error, _ERROR_TEXT[c]) for c in codes}

    (order, order_list, event), shapes = shape_schemas(
        Order, OrderList, OrderEvent, ref_template=REF
    )
    schemas.found.update(shapes)
    schemas.found["CreateOrderBody"] = create_order_schema(registry, rates)
    order_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    image = {"200": {"description": "QR code of the payment URI", "content": {}}}
    paths: dict[str, Any] = {
        "/v1/orders": {
            "post": {
                "summary": "Create an order and derive its payment address",
                "operationId": "create_order",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY},
                        "description": "A retry with the same key returns the first order "
                        "(Idempotent-Replayed: true); another body with it is a 409",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/CreateOrderBody"}
                        }
                    },
                },
                "responses": {
                    "201": _json(order, "The order"),
                    **errors(400, 401, 409, 413, 422, 503),
                },
            },
            "get": {
                "summary": "List orders, newest first",
                "operationId": "list_orders",
                "parameters": [
                    _query(
                        "status", {"type": "string", "enum": list(STATUSES)}, "Only this status"
                    ),
                    _query("chain", _text(32), "Only this chain"),
                    _query("order_id", _text(200), "Your reference"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size"),
                    _query("cursor", cursor_schema("o"), "next_cursor of a page"),
                ],
                "responses": {"200": _json(order_list, "A page"), **errors(401, 422)},
            },
        },
        "/v1/orders/{id}": {
            "get": {
                "summary": "One order with its payments",
                "operationId": "get_order",
                "parameters": [order_id],
                "responses": {"200": _json(order, "The order"), **errors(401, 404)},
            }
        },
        "/v1/orders/{id}/cancel": {
            "post": {
                "summary": "Cancel an open order",
                "operationId": "cancel_order",
                "parameters": [order_id],
                "responses": {"200": _json(order, "The order"), **errors(401, 404, 409)},
            }
        },
        "/v1/orders/{id}/refresh": {
            "post": {
                "summary": "Check the order's address balance now and evaluate the order again",
                "description": (
                    "On a chain whose node has no trace API, native coin sent by a contract "
                    "is found by the address's balance, checked at a few moments of the "
                    "order's life; this checks it at once (at the block the watcher has "
                    "processed). Elsewhere it only evaluates the order again."
                ),
                "operationId": "refresh_order",
                "parameters": [order_id],
                "responses": {"200": _json(order, "The order"), **errors(401, 404, 503)},
            }
        },
    }
    paths["/v1/orders/{id}/pick"] = {
        "post": {
            "summary": "The customer picks an option of an order priced in fiat",
            "description": (
                "Takes the option's address now if it has none (orders.addresses: lazy; "
                "options on one key share it); picking again changes nothing."
            ),
            "operationId": "pick_option",
            "parameters": [order_id],
            "requestBody": {"required": True, **_json(schemas.ref(OptionBody), "The option")},
            "responses": {"200": _json(order, "The order"), **errors(400, 401, 404, 409, 422)},
        }
    }
    option_query = [
        _query("chain", _text(32), "With asset: the QR code of this option of a fiat order"),
        _query("asset", _text(16), "With chain: the option's asset"),
    ]
    for kind, media in (("svg", "image/svg+xml"), ("png", "image/png")):
        paths[f"/v1/orders/{{id}}/qr.{kind}"] = {
            "get": {
                "summary": f"QR code of the payment URI ({kind.upper()})",
                "operationId": f"order_qr_{kind}",
                "parameters": [order_id, *option_query],
                "responses": {
                    "200": {**image["200"], "content": {media: {}}},
                    **errors(401, 404, 422),
                },
            }
        }
    paths.update(delivery_paths(schemas.ref, errors, _query, _json, order_id))
    accounting, accounting_schemas = accounting_paths(errors, _query, _json, REF)
    paths.update(accounting)
    schemas.found.update(accounting_schemas)
    if rates is not None:
        rate_path, rate_schemas = rate_paths(errors, _query, _json, REF, list(rates))
        paths.update(rate_path)
        schemas.found.update(rate_schemas)
    if tatum:
        paths.update(tatum_paths(errors, _json))
    health = {"type": "object", "properties": {"status": {"type": "string"}}}
    paths["/healthz"] = {
        "get": {"summary": "Alive", "security": [], "responses": {"200": _json(health, "OK")}}
    }
    paths["/readyz"] = {
        "get": {
            "summary": "Ready: database reachable (and, as they land, watchers in sync)",
            "security": [],
            "responses": {"200": _json(health, "Ready"), "503": _json(health, "Not ready")},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "paywatch",
            "version": "1",
            "description": "Self-hosted crypto payments: orders, addresses, signed webhooks.",
        },
        "paths": paths,
        "webhooks": {
            str(kind): {
                "post": {
                    "summary": f"{kind}: sent to the order's callback_url or webhooks.url",
                    "description": "Signed as Standard Webhooks (webhook-id, "
                    "webhook-timestamp, webhook-signature); data.payment for order.payment_*",
                    "requestBody": {"content": {"application/json": {"schema": event}}},
                    "responses": {"200": {"description": "Any 2xx: delivered"}},
                }
            }
            for kind in EventType
        },
        "components": {
            "schemas": schemas.found,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from `paywatch apikey create`",
                }
            },
        },
        "security": [{"bearer": []}],
    }
