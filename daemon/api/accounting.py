"""``GET /v1/payments`` (the payments export, page by page) and ``GET /v1/stats``
(see daemon/accounting)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typing_extensions import TypedDict

from daemon.accounting.export import CURSOR_KIND, PaymentExport, PaymentPage, PaymentRow
from daemon.accounting.instants import Period
from daemon.accounting.stats import Stats, payment_stats
from daemon.api.auth import requires_key
from daemon.api.params import QUERY_TEXT, query_int, query_text
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.cursors import cursor_schema
from daemon.services.order_shape import shape_schemas


class PaymentList(TypedDict):
    data: list[PaymentRow]
    next_cursor: str | None
    has_more: bool


def _json(body: Any) -> Response:
    return Response(json_codec.dumps_bytes(body), 200, media_type="application/json")


def _period(request: Request, *names: str) -> Period:
    given = {name: query_text(request, name, 64) for name in names}
    return Period.parse(given.get("since"), given.get("until"))


class AccountingRoutes:
    def __init__(self, container: Container) -> None:
        self.db = container.db
        self.clock = container.clock
        self.export = PaymentExport(container.registry)
        self.page_size = container.config.api.default_page_size

    async def list_payments(self, request: Request) -> Response:
        period = _period(request, "since", "until")
        chain = query_text(request, "chain", 32)
        limit = query_int(request, "limit", self.page_size, 1, 500)
        cursor = query_text(request, "cursor", 64)

        def page_of(conn: Connection) -> PaymentPage:
            return self.export.page(conn, period, chain, cursor=cursor, limit=limit)

        page = await self.db.run_read(page_of)
        more = page.next_cursor is not None
        return _json({"data": page.data, "next_cursor": page.next_cursor, "has_more": more})

    async def stats(self, request: Request) -> Response:
        since = _period(request, "since").since
        now = self.clock()

        def report(conn: Connection) -> Stats:
            return payment_stats(conn, since, now)

        return _json(await self.db.run_read(report))


def accounting_routes(container: Container) -> list[Route]:
    handlers = AccountingRoutes(container)
    db = container.db
    return [
        Route("/v1/payments", requires_key(db, handlers.list_payments), methods=["GET"]),
        Route("/v1/stats", requires_key(db, handlers.stats), methods=["GET"]),
    ]


def accounting_paths(
    errors: Any, query: Any, json_content: Any, ref_template: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI paths of these routes and the schemas they use (``errors``, ... from
    openapi.py)."""
    (payments, stats), schemas = shape_schemas(PaymentList, Stats, ref_template=ref_template)
    instant = {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
    }
    paths = {
        "/v1/payments": {
            "get": {
                "summary": "Credited transfers (counted or removed), oldest first",
                "description": "One row per transfer credited to an order, the columns of "
                "`paywatch export payments`. since/until (ISO 8601 date or date-time, UTC "
                "without an offset; since <= block time < until) select transfers by their "
                "block's time, leaving out those not in a block now.",
                "operationId": "list_payments",
                "parameters": [
                    query("since", instant, "From this block time on"),
                    query("until", instant, "Before this block time"),
                    query(
                        "chain",
                        {"type": "string", "maxLength": 32, "pattern": QUERY_TEXT},
                        "Only this chain",
                    ),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size"),
                    query("cursor", cursor_schema(CURSOR_KIND), "next_cursor of a page"),
                ],
                "responses": {"200": json_content(payments, "A page"), **errors(401, 422)},
            }
        },
        "/v1/stats": {
            "get": {
                "summary": "Orders by status, paid volume per day, time to paid, webhooks",
                "operationId": "get_stats",
                "parameters": [query("since", instant, "Start of the period (default: all)")],
                "responses": {"200": json_content(stats, "The statistics"), **errors(401, 422)},
            }
        },
    }
    return paths, schemas
