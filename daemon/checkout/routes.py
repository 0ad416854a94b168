"""The checkout page's routes; no API key: the token in the URL is the key.

- ``GET /pay/{token}``: the page (``?lang=``, ``?option=chain:ASSET``);
- ``GET /pay/{token}/events``: Server-Sent Events, ``event: state`` with the page's
  digest whenever it changes (the page then fetches itself again);
- ``GET /pay/{token}/status``: the same as JSON, for pages that poll instead;
- ``POST /pay/{token}/pick``: a form's choice of coin (``option=chain:ASSET``); takes
  the option's address when addresses are lazy, then back to the page (303).

A token of the wrong shape is refused before the database is asked; an unknown one
gets the same 404 page. Streams and polls are limited per client address
(``api.checkout_streams_per_minute``) and streams per order and in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, quote

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from daemon.api.params import raw_body
from daemon.checkout.clients import Allowance, ClientAddresses
from daemon.checkout.languages import Catalogues, Messages
from daemon.checkout.page import Pages, new_nonce, security_headers
from daemon.checkout.state import CheckoutState, checkout_state
from daemon.checkout.streams import Streams
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.errors import ServiceError, TooManyRequests
from daemon.services.order_records import OrderRecord, load_order_by_token, load_transfers

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 30 * 60  # a stream ends after this; the browser opens a new one
MAX_FORM_BYTES = 1024


class CheckoutRoutes:
    def __init__(self, container: Container, streams: Streams) -> None:
        config = container.config.api
        self.db = container.db
        self.clock = container.clock
        self.orders = container.orders
        self.registry = container.orders.registry
        self.catalogues = Catalogues.load()
        self.pages = Pages(self.catalogues, {chain.name: chain.shown_as for chain in self.registry})
        self.clients = ClientAddresses(config.trusted_proxies, config.forwarded_header)
        self.allowance = Allowance(config.checkout_streams_per_minute)
        self.streams = streams

    def _messages(self, request: Request) -> Messages:
        return self.catalogues.choose(
            request.query_params.get("lang"), request.headers.get("accept-language")
        )

    async def _state(self, token: str) -> tuple[OrderRecord, CheckoutState] | None:
        if not TOKEN.match(token):
            return None

        def read(conn: Connection) -> tuple[OrderRecord, CheckoutState] | None:
            order = load_order_by_token(conn, token)
            if order is None:
                return None
            records = load_transfers(conn, [order.seq])[order.seq]
            return order, checkout_state(self.registry, order, records)

        return await self.db.run_read(read)

    def _missing(self, request: Request) -> Response:
        nonce = new_nonce()
        html = self.pages.render_missing(self._messages(request), nonce)
        return Response(html, 404, security_headers(nonce), media_type="text/html")

    def _limited(self, request: Request) -> Response | None:
        client = self.clients.of(request)
        if self.allowance.take(client):
            return None
        wait = self.allowance.retry_after(client)
        return self._refusal(
            TooManyRequests("rate_limited", f"too many requests; retry in {wait}s", wait)
        )

    def _refusal(self, exc: TooManyRequests) -> Response:
        self.streams.refused[exc.code] += 1
        body = {"error": {"code": exc.code, "message": exc.message}}
        headers = {"Retry-After": str(exc.retry_after)}
        return Response(json_codec.dumps_bytes(body), 429, headers, "application/json")

    async def page(self, request: Request) -> Response:
        began = time.perf_counter()
        token = request.path_params["token"]
        found = await self._state(token)
        if found is None:
            return self._missing(request)
        nonce = new_nonce()
        html = self.pages.render(
            found[1],
            self._messages(request),
            token=token,
            option=request.query_params.get("option"),
            now=self.clock(),
            nonce=nonce,
        )
        headers = security_headers(nonce)
        headers["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.2f}"
        return Response(html, headers=headers, media_type="text/html")

    async def _admitted(self, request: Request) -> tuple[OrderRecord, CheckoutState] | Response:
        """The order of a request the per-client limit lets through, or the refusal."""
        limited = self._limited(request)
        if limited is not None:
            return limited
        found = await self._state(request.path_params["token"])
        return self._missing(request) if found is None else found

    async def status(self, request: Request) -> Response:
        found = await self._admitted(request)
        if isinstance(found, Response):
            return found
        body = {"status": found[1].status, "digest": found[1].digest}
        return Response(
            json_codec.dumps_bytes(body), headers={"Cache-Control": "no-store"},
            media_type="application/json",
        )  # fmt: skip

    async def events(self, request: Request) -> Response:
        found = await self._admitted(request)
        if isinstance(found, Response):
            return found
        order, state = found
        try:
            self.streams.admit(order.seq)
        except TooManyRequests as exc:
            return self._refusal(exc)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            self._stream(order.seq, state), headers=headers, media_type="text/event-stream"
        )

    async def _stream(self, seq: int, state: CheckoutState) -> AsyncIterator[str]:
        # Opened here, not before the response: a client gone before its first byte
        # never starts this generator, and a stream opened outside it would never close.
        ends, last = time.monotonic() + STREAM_SECONDS, state.digest
        try:
            queue = self.streams.open(seq)
        except TooManyRequests:  # taken meanwhile by another stream: the page polls
            return
        try:
            yield f"retry: 3000\nevent: state\ndata: {_state_json(state.status, last)}\n\n"
            while time.monotonic() < ends:
                try:
                    value = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                if value is None:
                    return
                if value != last:
                    last = value
                    yield f"event: state\ndata: {_state_json(None, value)}\n\n"
        finally:
            self.streams.release(seq, queue)

    async def pick(self, request: Request) -> Response:
        found = await self._admitted(request)
        if isinstance(found, Response):
            return found
        token = request.path_params["token"]
        form = parse_qs((await raw_body(request, MAX_FORM_BYTES)).decode("utf-8", "replace"))
        option = (form.get("option") or [""])[0][:60]
        chain, _, asset = option.partition(":")
        order_id, now = found[0].id, self.clock()
        if chain and asset:
            # Not offered, or no longer open: the page says what the order is now.
            with contextlib.suppress(ServiceError):
                await self.db.run(lambda conn: self.orders.pick(conn, order_id, chain, asset, now))
        lang = self._messages(request).lang
        where = f"../{token}?option={quote(option, safe=':')}&lang={lang}"
        return Response(status_code=303, headers={"Location": where, "Cache-Control": "no-store"})


def _state_json(status: str | None, value: str) -> str:
    return json_codec.dumps(
        {"digest": value} if status is None else {"status": status, "digest": value}
    )


def checkout_routes(container: Container, streams: Streams) -> list[Route]:
    routes = CheckoutRoutes(container, streams)
    return [
        Route("/pay/{token}", routes.page, methods=["GET"]),
        Route("/pay/{token}/status", routes.status, methods=["GET"]),
        Route("/pay/{token}/events", routes.events, methods=["GET"]),
        Route("/pay/{token}/pick", routes.pick, methods=["POST"]),
    ]
