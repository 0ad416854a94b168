"""A local stand-in for Tatum's hosted service: RPC gateways and v4 notifications, on loopback.

``with tatum_standin(API_KEY) as tatum:`` serves it from a thread with its own event loop:

- ``POST {api_url}/gateway/{name}`` (after :meth:`TatumStandin.add_gateway`) passes JSON-RPC,
  single or batch, through to a real node, as Tatum's ``<chain>-<network>.gateway.tatum.io``;
- ``/v4/subscription`` creates, lists, deletes subscriptions and sets the HMAC secret;
- each gateway's node is polled (:mod:`tests.support.tatum_notifier`) and payments to
  subscribed addresses are POSTed to their URLs in Tatum's format, signed with
  ``x-payload-hash`` and retried up to 3 attempts (:mod:`tests.support.tatum_notifications`).

Every request needs the ``x-api-key`` given to the constructor, else 401 with Tatum's error body.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import httpx
from aiohttp import web

from tests.support.tatum_notifications import (
    Notifications,
    Sent,
    Subscription,
    error,
    unauthorized,
)
from tests.support.tatum_notifier import ChainPoller, Gateway, Kind

T = TypeVar("T")


@dataclass(frozen=True)
class GatewayCall:
    at: float  # time.monotonic()
    gateway: str
    methods: list[str]
    status: int


def _methods(raw: bytes) -> list[str]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return []
    calls = parsed if isinstance(parsed, list) else [parsed]
    return [str(c.get("method")) for c in calls if isinstance(c, dict)]


class TatumStandin:
    """Tatum on loopback for one API key; ``start``/``stop`` or use it as a context manager."""

    def __init__(
        self,
        api_key: str,
        *,
        attempts: int = 3,
        retry_delay: float = 0.2,
        poll_interval: float = 0.1,
    ) -> None:
        self.api_key = api_key
        self.poll_interval = poll_interval
        self.notifications = Notifications(api_key, attempts=attempts, retry_delay=retry_delay)
        self._lock = self.notifications.lock
        self._gateways: dict[str, Gateway] = {}
        self._pollers: list[ChainPoller] = []
        self._calls: list[GatewayCall] = []
        self._limited = 0
        self._retry_after: int | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tatum-standin", daemon=True
        )
        self._session: aiohttp.ClientSession
        self._runner: web.AppRunner
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        try:
            self._call(self._astart())
        except BaseException:
            self._end_loop()
            raise

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._call(self._astop())
        finally:
            self._end_loop()

    def _end_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> TatumStandin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _astart(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        app = web.Application()
        app.router.add_post("/gateway/{name}", self._gateway)
        self.notifications.install(app, self._session)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def _astop(self) -> None:
        for poller in self._pollers:
            await poller.aclose()
        await self.notifications.aclose()
        await self._runner.cleanup()
        await self._session.close()

    # -- test controls --------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def add_gateway(
        self,
        name: str,
        node_url: str,
        *,
        kind: Kind,
        auth: tuple[str, str] | None = None,
        chain_code: str,
        testnet: bool = False,
        tatum_chain: str,
    ) -> str:
        """Serve ``{api_url}/gateway/{name}`` and watch its node from its current height."""
        gateway = Gateway(name, node_url, kind, auth, chain_code, testnet, tatum_chain)
        notifications = self.notifications

        async def add() -> None:
            poller = ChainPoller(
                gateway,
                self._session,
                notifications.watches,
                notifications.notify,
                interval=self.poll_interval,
            )
            await poller.start()
            self._pollers.append(poller)

        with self._lock:
            self._gateways[name] = gateway
        self._call(add())
        return f"{self.api_url}/gateway/{name}"

    def rate_limit(self, n: int, retry_after: int | None = None) -> None:
        """Answer the next ``n`` gateway requests 429 (with ``Retry-After`` when given)."""
        with self._lock:
            self._limited, self._retry_after = n, retry_after

    @property
    def gateway_log(self) -> list[GatewayCall]:
        with self._lock:
            return list(self._calls)

    @property
    def subscriptions(self) -> list[Subscription]:
        return self.notifications.subscriptions

    @property
    def hmac_secret(self) -> str | None:
        with self._lock:
            return self.notifications.hmac_secret

    @property
    def sent(self) -> list[Sent]:
        return self.notifications.sent

    def wait_sent(self, predicate: Callable[[Sent], bool], timeout: float = 10.0) -> Sent:
        """The first notification matching ``predicate``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for sent in self.sent:
                if predicate(sent):
                    return sent
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching notification; sent: {self.sent}")
            time.sleep(0.02)

    @staticmethod
    def post_raw(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """POST arbitrary bytes (a forged or replayed notification); the status and body."""
        answer = httpx.post(url, content=body, headers=headers or {}, timeout=10.0)
        return answer.status_code, answer.content

    # -- gateways -------------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        name = request.match_info["name"]
        response = await self._gateway_answer(request, name, raw)
        with self._lock:
            self._calls.append(GatewayCall(time.monotonic(), name, _methods(raw), response.status))
        return response

    async def _gateway_answer(self, request: web.Request, name: str, raw: bytes) -> web.Response:
        if not self.notifications.authorized(request):
            return unauthorized()
        with self._lock:
            gateway = self._gateways.get(name)
            limited = gateway is not None and self._limited > 0
            retry_after = self._retry_after
            if limited:
                self._limited -= 1
        if gateway is None:
            return error(404, "gateway.not.found", f"No gateway {name}.")
        if limited:
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            return error(429, "request.rate.limit", "Too many requests.", **headers)
        headers = gateway.node_headers()
        try:
            async with self._session.post(gateway.node_url, data=raw, headers=headers) as answer:
                body = await answer.read()
                kind = answer.headers.get("Content-Type", "application/json")
                return web.Response(status=answer.status, body=body, headers={"Content-Type": kind})
        except (aiohttp.ClientError, TimeoutError) as exc:
            return error(502, "gateway.node.unavailable", f"The node did not answer: {exc}")


@contextmanager
def tatum_standin(api_key: str, **options: Any) -> Iterator[TatumStandin]:
    """A started stand-in on a free loopback port; stopped (thread joined, port freed) after."""
    standin = TatumStandin(api_key, **options)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


__all__ = [
    "Gateway",
    "GatewayCall",
    "Sent",
    "Subscription",
    "TatumStandin",
    "tatum_standin",
]
