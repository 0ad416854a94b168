"""The FastAPI application: routes over the order service, one DB hop per request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import Connection
from starlette.responses import Response

from daemon.api.errors import install_error_handlers
from daemon.api.limits import BodyLimit
from daemon.api.openapi import install_openapi
from daemon.api.qr import render
from daemon.api.schemas import (
    CREATE_ORDER_OPENAPI,
    CreateOrderBody,
    ErrorBody,
    Order,
    OrderList,
)
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.apikeys import authenticate, check_key_format
from daemon.services.errors import InvalidRequest, NotFound
from daemon.services.orders import OrderPage

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


async def bearer_token(request: Request) -> str:
    """The request's API key if it is well formed (401 otherwise, before the body is
    read). Whether it is valid is checked in the request's own database transaction."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return check_key_format(token.strip() if scheme.lower() == "bearer" else None)


Token = Annotated[str, Depends(bearer_token)]


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
    install_openapi(app)

    @app.post(
        "/v1/orders",
        status_code=201,
        response_model=Order,
        responses=ERRORS,
        openapi_extra=CREATE_ORDER_OPENAPI,
    )
    async def create_order(request: Request) -> Response:
        # The hot path parses its own request (pydantic's JSON parser, no dependency
        # solving): FastAPI's parameter machinery cost a third of the CPU per order.
        token = await bearer_token(request)
        idempotency_key = request.headers.get("idempotency-key")
        if idempotency_key is not None and not 0 < len(idempotency_key) <= 255:
            raise InvalidRequest("invalid_idempotency_key", "Idempotency-Key: 1 to 255 characters")
        try:
            body = CreateOrderBody.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        new = body.to_new_order()
        now = clock()
        view, replayed = await db.run(
            lambda conn: service.create(
                conn,
                new,
                now,
                api_key_id=authenticate(conn, token),
                idempotency_key=idempotency_key,
            )
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return json_response(view, 201, headers)

    @app.get("/v1/orders", response_model=OrderList, responses=ERRORS)
    async def list_orders(
        token: Token,
        status: Status | None = None,
        chain: Annotated[str | None, Query(max_length=32)] = None,
        order_id: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = container.config.api.default_page_size,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        def page_of(conn: Connection) -> OrderPage:
            authenticate(conn, token)
            return service.list(
                conn, status=status, chain=chain, order_id=order_id, limit=limit, cursor=cursor
            )

        page = await db.run_read(page_of)
        return json_response(
            {
                "data": page.data,
                "next_cursor": page.next_cursor,
                "has_more": page.next_cursor is not None,
            }
        )

    @app.get("/v1/orders/{id}", response_model=Order, responses=ERRORS)
    async def get_order(id: str, token: Token) -> Response:
        def view(conn: Connection) -> dict[str, Any]:
            authenticate(conn, token)
            return service.get(conn, id)

        return json_response(await db.run_read(view))

    @app.post("/v1/orders/{id}/cancel", response_model=Order, responses=ERRORS)
    async def cancel_order(id: str, token: Token) -> Response:
        now = clock()

        def cancel(conn: Connection) -> dict[str, Any]:
            authenticate(conn, token)
            return service.cancel(conn, id, now)

        return json_response(await db.run(cancel))

    async def qr(id: str, token: str, kind: str) -> Response:
        def uri(conn: Connection) -> str:
            authenticate(conn, token)
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
    async def qr_svg(id: str, token: Token) -> Response:
        return await qr(id, token, "svg")

    @app.get(
        "/v1/orders/{id}/qr.png",
        responses={200: {"content": {"image/png": {}}}, **ERRORS},
        response_class=Response,
    )
    async def qr_png(id: str, token: Token) -> Response:
        return await qr(id, token, "png")

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
