"""The HTTP API (Starlette): routes over the order service, one DB hop per request."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from daemon.api.accounting import accounting_routes
from daemon.api.auth import Handler, api_key_id, requires_key
from daemon.api.errors import install_error_handlers
from daemon.api.openapi import openapi_document
from daemon.api.order_request import Pricing
from daemon.api.params import header_text, json_body, query_choice, query_int, query_text
from daemon.api.qr import render
from daemon.api.rates import rate_routes
from daemon.api.schemas import STATUSES, CreateOrderBody, OptionBody
from daemon.api.tatum import tatum_routes
from daemon.api.webhooks import delivery_routes
from daemon.checkout.routes import checkout_routes
from daemon.cluster.leases import chain_lease
from daemon.cluster.status import cluster_view
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.errors import NotFound
from daemon.services.order_shape import Order
from daemon.services.orders import OrderPage
from daemon.services.request_checks import check_callback_url
from daemon.watching.balance_schedule import refresh_order


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json_codec.dumps_bytes(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


class OrderRoutes:
    """The handlers; each does its database work in one unit of work, after the API key
    was checked (see :mod:`daemon.api.auth`)."""

    def __init__(self, container: Container) -> None:
        self.db = container.db
        self.service = container.orders
        self.clock = container.clock
        self.page_size = container.config.api.default_page_size
        self.max_body = container.config.api.max_body_bytes
        self.targets = container.orders.targets
        self.watchers = container.watchers
        self.cluster = container.cluster

    async def create_order(self, request: Request) -> Response:
        key_id = api_key_id(request)
        idempotency_key = header_text(request, "Idempotency-Key", 255)
        new = (await json_body(request, CreateOrderBody, self.max_body)).to_new_order()
        if new.callback_url is not None:  # resolved here, outside the unit of work
            check_callback_url(new.callback_url)
            await self.targets.check_resolved(new.callback_url)
        now = self.clock()
        created = await self.db.run(
            lambda conn: self.service.create(
                conn,
                new,
                now,
                api_key_id=key_id,
                idempotency_key=idempotency_key,
            )
        )
        headers = {"Idempotent-Replayed": "true"} if created.replayed else None
        return Response(created.json, 201, headers, media_type="application/json")

    async def list_orders(self, request: Request) -> Response:
        status = query_choice(request, "status", STATUSES)
        chain = query_text(request, "chain", 32)
        order_id = query_text(request, "order_id", 200)
        limit = query_int(request, "limit", self.page_size, 1, 500)
        cursor = query_text(request, "cursor", 64)

        def page_of(conn: Connection) -> OrderPage:
            return self.service.list(
                conn, status=status, chain=chain, order_id=order_id, limit=limit, cursor=cursor
            )

        page = await self.db.run_read(page_of)
        more = page.next_cursor is not None
        return json_response({"data": page.data, "next_cursor": page.next_cursor, "has_more": more})

    async def get_order(self, request: Request) -> Response:
        order = request.path_params["id"]

        def view(conn: Connection) -> Order:
            return self.service.get(conn, order)

        return json_response(await self.db.run_read(view))

    async def cancel_order(self, request: Request) -> Response:
        order, now = request.path_params["id"], self.clock()

        def cancel(conn: Connection) -> Order:
            return self.service.cancel(conn, order, now)

        return json_response(await self.db.run(cancel))

    async def pick_option(self, request: Request) -> Response:
        """The customer's choice of option: its address, taken now if it has none."""
        order, now = request.path_params["id"], self.clock()
        body = await json_body(request, OptionBody, self.max_body)

        def pick(conn: Connection) -> Order:
            return self.service.pick(conn, order, body.chain, body.asset, now)

        return json_response(await self.db.run(pick))

    async def refresh_order(self, request: Request) -> Response:
        """Check the order's address balance now (contract payments) and evaluate it."""
        order = request.path_params["id"]
        view = await refresh_order(self.db, self.service, self.watchers, self.clock, order)
        return json_response(view)

    async def qr_code(self, request: Request) -> Response:
        order, kind = request.path_params["id"], request.path_params["kind"]
        if kind not in ("svg", "png"):
            raise NotFound("not_found", "QR codes come as qr.svg or qr.png")

        chain, asset = query_text(request, "chain", 32), query_text(request, "asset", 16)

        def uri(conn: Connection) -> str:
            view = self.service.get(conn, order)
            found = view["payment_uri"]
            if chain is not None or asset is not None:  # one option of a fiat order
                found = next(
                    (
                        o["payment_uri"]
                        for o in view["options"]
                        if o["chain"] == chain and o["asset"] == (asset or "").upper()
                    ),
                    None,
                )
            if not found:
                raise NotFound(
                    "no_payment_uri",
                    "no payment URI: the order's chain is no longer configured, or name one "
                    "of its options with ?chain=&asset= (picked, when addresses are lazy)",
                )
            return str(found)

        image = render(await self.db.run_read(uri), kind)
        media = "image/svg+xml" if kind == "svg" else "image/png"
        return Response(image, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        try:
            ok = await self.db.run_read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar() == 1)
        except Exception:  # an unreachable database is the answer, not an error
            ok = False
        cluster: dict[str, Any] = {"instances": [], "chains": {}, "jobs": None}
        if ok:
            with contextlib.suppress(Exception):  # a schema not upgraded yet, say
                cluster = await self.db.run_read(cluster_view)
        now = self.clock()
        chains = {name: watcher.status.report(now) for name, watcher in self.watchers.items()}
        for name, watcher in self.watchers.items():  # each endpoint as it is now
            chains[name]["endpoints"] = [
                {"url": e.url, "healthy": e.healthy, "head": e.head_height, "error": e.error}
                for e in watcher.source.health()
            ]
            # Several instances: a chain another instance leads is followed, not late.
            if self.cluster.enabled and not self.cluster.holds(chain_lease(name)):
                leader = cluster["chains"].get(name)
                chains[name] = {
                    "in_sync": leader is not None,
                    "followed_by": leader,
                    "error": None if leader is not None else "no instance leads this chain",
                }
            else:
                chains[name]["leader"] = self.cluster.me
        ready = ok and all(chain["in_sync"] for chain in chains.values())
        body = {
            "status": "ready" if ready else "unavailable",
            "instance": self.cluster.me,
            "checks": {"database": ok, "chains": chains},
            "instances": [
                {
                    "id": i["id"],
                    "host": i["host"],
                    "started_at": i["started_at"],
                    "heartbeat_at": i["heartbeat_at"],
                    "chains": i["chains"],
                    "jobs": i["jobs"],
                }
                for i in cluster["instances"]
                if i["live"]
            ],
        }
        return json_response(body, 200 if ready else 503)


def by_method(**handlers: Handler) -> Handler:
    """One endpoint for a path that several methods take (HEAD as GET)."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return dispatch


def create_app(container: Container) -> Starlette:
    handlers = OrderRoutes(container)
    tatum = tatum_routes(container)  # none when Tatum notifications are off
    rates = rate_routes(container)  # none when the config has no rates: section
    spec: list[bytes] = []  # built on first request (order_id's pattern takes a moment)

    async def openapi(request: Request) -> Response:
        if not spec:
            book = container.rates
            pricing: Pricing | None = None
            if book is not None:  # with sources, any asset; else those with a fixed rate
                fixed = {c: {a for a, cur in book.fixed if cur == c} for c in book.currencies}
                pricing = {c: None if book.sources else fixed[c] for c in book.currencies}
            document = openapi_document(container.orders.registry, tatum=bool(tatum), rates=pricing)
            spec.append(json_codec.dumps_bytes(document))
        return Response(spec[0], media_type="application/json")

    keyed = functools.partial(requires_key, container.db)
    routes = [
        # One route per path, so a 405's Allow names every method the path takes.
        Route(
            "/v1/orders",
            by_method(GET=keyed(handlers.list_orders), POST=keyed(handlers.create_order)),
            methods=["GET", "POST"],
        ),
        Route("/v1/orders/{id}", keyed(handlers.get_order), methods=["GET"]),
        Route("/v1/orders/{id}/cancel", keyed(handlers.cancel_order), methods=["POST"]),
        Route("/v1/orders/{id}/refresh", keyed(handlers.refresh_order), methods=["POST"]),
        Route("/v1/orders/{id}/pick", keyed(handlers.pick_option), methods=["POST"]),
        Route("/v1/orders/{id}/qr.{kind:str}", keyed(handlers.qr_code), methods=["GET"]),
        # No API key: liveness, readiness, the API's description, and Tatum's callbacks
        # (HMAC-signed; see daemon.api.tatum).
        Route("/healthz", handlers.healthz, methods=["GET"]),
        Route("/readyz", handlers.readyz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        # The checkout page: the token in its URL is its key (daemon.checkout).
        *checkout_routes(container, container.checkout_streams),
        *delivery_routes(container),
        *accounting_routes(container),
        *rates,
        *tatum,
    ]
    app = Starlette(routes=routes)
    install_error_handlers(app)
    return app
