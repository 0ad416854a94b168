"""``/v1/webhooks/deliveries``: the delivery log and redelivery over HTTP."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from daemon.api.auth import requires_key
from daemon.api.params import QUERY_TEXT, query_choice, query_int, query_text
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.cursors import cursor_schema
from daemon.webhooks.deliveries import STATUS_FILTERS, DeliveryPage

DeliveryState = Literal["pending", "retrying", "delivered", "dead", "gone", "no_target"]


class Attempt(BaseModel):
    attempt: int
    attempted_at: str
    url: str
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None
    outcome: DeliveryState


class Delivery(BaseModel):
    id: str
    type: str
    order: str
    order_id: str
    url: str | None
    status: DeliveryState
    attempt_count: int
    max_attempts: int
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: str | None
    pruned_at: str | None  # the body was dropped (webhooks.retention)
    created_at: str


class DeliveryDetail(Delivery):
    attempts: list[Attempt]
    payload: dict[str, Any] | None  # None once webhooks.retention dropped it


class DeliveryList(BaseModel):
    data: list[Delivery]
    next_cursor: str | None
    has_more: bool


def _json(body: Any, status: int = 200) -> Response:
    return Response(json_codec.dumps_bytes(body), status, media_type="application/json")


class DeliveryRoutes:
    def __init__(self, container: Container) -> None:
        self.db = container.db
        self.log = container.deliveries
        self.clock = container.clock
        self.page_size = container.config.api.default_page_size

    async def list_deliveries(self, request: Request) -> Response:
        order_id = query_text(request, "order_id", 200)
        status = query_choice(request, "status", STATUS_FILTERS)
        limit = query_int(request, "limit", self.page_size, 1, 500)
        cursor = query_text(request, "cursor", 64)

        def page_of(conn: Connection) -> DeliveryPage:
            return self.log.list(conn, order_id=order_id, status=status, limit=limit, cursor=cursor)

        page = await self.db.run_read(page_of)
        more = page.next_cursor is not None
        return _json({"data": page.data, "next_cursor": page.next_cursor, "has_more": more})

    async def get_delivery(self, request: Request) -> Response:
        delivery = request.path_params["id"]

        def view(conn: Connection) -> dict[str, Any]:
            return self.log.get(conn, delivery)

        return _json(await self.db.run_read(view))

    async def redeliver(self, request: Request) -> Response:
        delivery, now = request.path_params["id"], self.clock()

        def again(conn: Connection) -> dict[str, Any]:
            return self.log.redeliver(conn, delivery, now)

        return _json(await self.db.run(again), 202)


def delivery_routes(container: Container) -> list[Route]:
    handlers = DeliveryRoutes(container)
    base = "/v1/webhooks/deliveries"
    db = container.db
    return [
        Route(base, requires_key(db, handlers.list_deliveries), methods=["GET"]),
        Route(base + "/{id}", requires_key(db, handlers.get_delivery), methods=["GET"]),
        Route(base + "/{id}/redeliver", requires_key(db, handlers.redeliver), methods=["POST"]),
    ]


def delivery_paths(
    ref: Any, errors: Any, query: Any, json_content: Any, path_id: dict[str, Any]
) -> dict[str, Any]:
    """The OpenAPI paths of these routes (``ref``, ``errors``, ... from openapi.py)."""
    detail = ref(DeliveryDetail)
    return {
        "/v1/webhooks/deliveries": {
            "get": {
                "summary": "Webhook deliveries (one per order event), newest first",
                "operationId": "list_webhook_deliveries",
                "parameters": [
                    query(
                        "order_id",
                        {"type": "string", "maxLength": 200, "pattern": QUERY_TEXT},
                        "The order's id (ord_…) or your ref",
                    ),
                    query(
                        "status",
                        {"type": "string", "enum": list(STATUS_FILTERS)},
                        "Only this status; failed = retrying, dead or gone",
                    ),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size"),
                    query("cursor", cursor_schema("d"), "next_cursor of a page"),
                ],
                "responses": {
                    "200": json_content(ref(DeliveryList), "A page"),
                    **errors(401, 422),
                },
            }
        },
        "/v1/webhooks/deliveries/{id}": {
            "get": {
                "summary": "One delivery (id = its webhook-id) with every attempt and its body",
                "operationId": "get_webhook_delivery",
                "parameters": [path_id],
                "responses": {"200": json_content(detail, "The delivery"), **errors(401, 404)},
            }
        },
        "/v1/webhooks/deliveries/{id}/redeliver": {
            "post": {
                "summary": "Send the event again now (same webhook-id, a fresh set of attempts);"
                " 409 delivery_in_flight while an attempt is under way, 409 delivery_pruned"
                " once webhooks.retention dropped its body",
                "operationId": "redeliver_webhook",
                "parameters": [path_id],
                "responses": {
                    "202": json_content(detail, "Queued"),
                    **errors(401, 404, 409),
                },
            }
        },
    }
