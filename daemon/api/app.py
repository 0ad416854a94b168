"""The FastAPI application: routes over the order service, one DB hop per request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from daemon.api.errors import install_error_handlers
from daemon.api.limits import BodyLimit
from daemon.api.qr import render
from daemon.api.schemas import CreateOrderBody, ErrorBody, Order, OrderList
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.apikeys import authenticate
from daemon.services.errors import NotFound

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 422)
}
Status = Literal["pending", "processing", "paid", "expired", "cancelled", "invalid"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json_codec.dumps_bytes(body),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def api_key(request: Request) -> str:
    """The id of the request's valid API key (401 otherwise), checked before the body."""
    container: Container = request.app.state.container
    token = bearer(request)
    return await container.db.run_read(lambda conn: authenticate(conn, token))


Auth = Annotated[str, Depends(api_key)]


def create_app(container: Container) -> FastAPI:
    db, service, clock = container.db, container.orders, container.clock
    app = FastAPI(
        title="paywatch",
        version="1",
        description="Self-hosted crypto payments: orders, addresses, signed webhooks.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.container = container
    install_error_handlers(app)

    @app.post("/v1/orders", status_code=201, response_model=Order, responses=ERRORS)
    async def create_order(
        body: CreateOrderBody,
        key_id: Auth,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> Response:
        new = body.to_new_order()
        now = clock()
        view, replayed = await db.run(
            lambda conn: service.create(
                conn, new, now, api_key_id=key_id, idempotency_key=idempotency_key
            )
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return json_response(view, 201, headers)

    @app.get("/v1/orders", response_model=OrderList, responses=ERRORS)
    async def list_orders(
        key_id: Auth,
        status: Status | None = None,
        chain: Annotated[str | None, Query(max_length=32)] = None,
        order_id: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = container.config.api.default_page_size,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        page = await db.run_read(
            lambda conn: service.list(
                conn, status=status, chain=chain, order_id=order_id, limit=limit, cursor=cursor
            )
        )
        return json_response(
            {
                "data": page.data,
                "next_cursor": page.next_cursor,
                "has_more": page.next_cursor is not None,
            }
        )

    @app.get("/v1/orders/{id}", response_model=Order, responses=ERRORS)
    async def get_order(id: str, key_id: Auth) -> Response:
        return json_response(await db.run_read(lambda conn: service.get(conn, id)))

    @app.post("/v1/orders/{id}/cancel", response_model=Order, responses=ERRORS)
    async def cancel_order(id: str, key_id: Auth) -> Response:
        now = clock()
        return json_response(await db.run(lambda conn: service.cancel(conn, id, now)))

    async def qr(id: str, kind: str) -> Response:
        def uri(conn: Connection) -> str:
            view = service.get(conn, id)
            if not view["payment_uri"]:
                raise NotFound("no_payment_uri", "the order's chain is no longer configured")
            return str(view["payment_uri"])

        image = render(await db.run_read(uri), kind)
        media = "image/svg+xml" if kind == "svg" else "image/png"
        return Response(image, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    @app.get(
        "/v1/orders/{id}/qr.svg",
        responses={200: {"content": {"image/svg+xml": {}}}, **ERRORS},
        response_class=Response,
    )
    async def qr_svg(id: str, key_id: Auth) -> Response:
        return await qr(id, "svg")

    @app.get(
        "/v1/orders/{id}/qr.png",
        responses={200: {"content": {"image/png": {}}}, **ERRORS},
        response_class=Response,
    )
    async def qr_png(id: str, key_id: Auth) -> Response:
        return await qr(id, "png")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"model": ErrorBody}})
    async def readyz() -> Response:
        try:
            ok = await db.run_read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar() == 1)
        except Exception:
            ok = False
        body = {"status": "ready" if ok else "unavailable", "checks": {"database": ok}}
        return json_response(body, 200 if ok else 503)

    app.add_middleware(BodyLimit, max_bytes=container.config.api.max_body_bytes)
    return app
